// The dashboard's export key against a real daemon: `x` on a finished run opens the export form,
// and submitting it downloads and unpacks the network and metadata.json into a local folder.
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { render } from 'ink-testing-library';
import { RunState } from '../../gen/ts/pretext/v1/run.js';
import { Connection } from '../../clients/ts/connection.js';
import { pretextRequest } from '../../clients/ts/requests.js';
import { Dashboard } from '../../client-tui/Dashboard.js';
import { startTestDaemon, type TestDaemon, waitFor } from '../cli/helpers.js';

// biome-ignore lint/suspicious/noControlCharactersInRegex: ANSI escapes
const strip = (s: string) => s.replace(/\u001b\[[0-9;]*m/g, '');
const KEY = { enter: '\r', down: '\u001B[B', right: '\u001B[C' };

describe('dashboard: export a finished run', () => {
  let d: TestDaemon;
  let conn: Connection;
  const tmp = mkdtempSync(path.join(os.tmpdir(), 'pretext-tui-export-'));
  before(async () => {
    d = await startTestDaemon();
    conn = new Connection({ addr: d.addr });
  });
  after(async () => {
    conn.close();
    await d.close();
    rmSync(tmp, { recursive: true, force: true });
  });

  it('x opens the form; enter writes the tfjs files to the folder typed', { timeout: 240_000 }, async () => {
    const { config } = pretextRequest({
      method: 'rotation',
      unlabeledLimit: '256',
      architecture: 'small_conv_16',
      epochs: '1',
      maxStepsPerEpoch: '2',
    });
    const { run } = await conn.call(conn.client.startPretext, {
      config,
      name: 'tui-export',
      validateOnly: false,
    });
    assert.ok(run);
    await waitFor(async () => {
      const r = (await conn.call(conn.client.getRun, { runId: run.id })).run;
      assert.notEqual(r?.state, RunState.RUN_STATE_FAILED, r?.error);
      return r?.state === RunState.RUN_STATE_SUCCEEDED ? true : undefined;
    }, 180_000);
    const app = render(<Dashboard conn={conn} throttleMs={30} />);
    const frame = () => strip(app.lastFrame() ?? '');
    const until = (re: RegExp, ms = 60_000) =>
      waitFor(() => (re.test(frame()) ? true : undefined), ms, `${re} in\n${frame()}`);
    await until(new RegExp(`▸ ${run.id}`));
    app.stdin.write('x');
    await until(/Export the network of/);
    const out = path.join(tmp, 'web');
    // One key per render: escape sequences written together would arrive as one chunk.
    app.stdin.write(KEY.right); // format: onnx → tfjs
    await until(/‹ tfjs ›/);
    app.stdin.write(KEY.down);
    await until(/field 2\/3/);
    app.stdin.write(KEY.down);
    await until(/field 3\/3/);
    app.stdin.write(out);
    await until(/Folder +\/tmp\//);
    app.stdin.write(KEY.enter);
    await until(/exporting r-/);
    // The notice is cut to the terminal's width: the files on disk tell the rest.
    await until(/exported r-\S+ \(best, epoch 1\) to \//, 120_000);
    assert.ok(existsSync(path.join(out, 'model.json')));
    assert.equal(JSON.parse(readFileSync(path.join(out, 'metadata.json'), 'utf8')).run_id, run.id);
    app.unmount();
  });
});
