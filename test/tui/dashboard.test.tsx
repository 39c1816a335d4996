// The dashboard against an in-process daemon over real gRPC: a real run in the list, its
// metrics arriving, keyboard start and cancel, and a daemon restart resumed without duplicates.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { render } from 'ink-testing-library';
import { RunState } from '../../gen/ts/pretext/v1/run.js';
import { Connection } from '../../clients/ts/connection.js';
import { pretextRequest } from '../../clients/ts/requests.js';
import { Dashboard } from '../../client-tui/Dashboard.js';
import { newForm, visibleFields } from '../../client-tui/ui.js';
import { startTestDaemon, type TestDaemon, waitFor } from '../cli/helpers.js';

// biome-ignore lint/suspicious/noControlCharactersInRegex: ANSI escapes
const strip = (s: string) => s.replace(/\u001b\[[0-9;]*m/g, '');
const KEY = { enter: '\r', down: '\u001B[B', esc: '\u001B', backspace: '\u007F' };
const tiny = (epochs: number) =>
  pretextRequest({
    method: 'rotation',
    unlabeledLimit: '256',
    depth: '8',
    epochs: String(epochs),
    maxStepsPerEpoch: '3',
  }).config;
// Lines printed by <Static> (time, run id, message): each log line of the run exactly once.
const count = (text: string, re: RegExp) =>
  text.split('\n').filter((l) => /^\d\d:\d\d:\d\d \S+ /.test(l) && re.test(l)).length;

describe('dashboard against a real daemon', () => {
  let d: TestDaemon;
  let conn: Connection;
  before(async () => {
    d = await startTestDaemon({ maxConcurrentRuns: 1 });
    conn = new Connection({ addr: d.addr });
  });
  after(async () => {
    conn.close();
    await d.close();
  });

  function mount() {
    const app = render(<Dashboard conn={conn} throttleMs={30} />);
    const frame = () => strip(app.lastFrame() ?? '');
    const until = (re: RegExp, what = String(re), ms = 60_000) =>
      waitFor(() => (re.test(frame()) ? true : undefined), ms, `${what} in\n${frame()}`);
    return {
      app,
      frame,
      until,
      press: (...keys: string[]) => {
        for (const k of keys) app.stdin.write(k);
      },
    };
  }

  it('lists a real run, and its run view shows metrics arriving', { timeout: 120_000 }, async () => {
    const { run } = await conn.call(conn.client.startPretext, {
      config: tiny(2),
      name: 'tui-e2e',
      validateOnly: false,
    });
    assert.ok(run);
    const { app, frame, until, press } = mount();
    await until(new RegExp(`● connected.*\\n(.*\\n)*▸ ${run.id}`), 'the run in the list');
    press(KEY.enter);
    await until(/loss\/epoch • train • val/, 'the run view');
    await until(/state -> (succeeded|failed)/, 'the end of the run', 90_000);
    const { run: done } = await conn.call(conn.client.getRun, { runId: run.id });
    if (done?.state === RunState.RUN_STATE_SUCCEEDED) {
      await until(/best val \d/, 'the result summary');
      assert.doesNotMatch(frame(), /no data yet/, 'the epoch charts have data');
      press('m'); // per-step charts
      await until(/loss\/step/);
      press('m'); // final results
      await until(/validation \(rotation\): accuracy/);
    }
    // Every log line once (the stream replays from seq 0 and follows live without duplicates).
    assert.equal(count(frame(), /state -> running/), 1);
    assert.equal(count(frame(), /state -> (succeeded|failed)/), 1);
    press(KEY.esc);
    await until(/ID\s+STATE/);
    app.unmount();
  });

  it('starts a run from the keyboard form and cancels it after confirmation', {
    timeout: 120_000,
  }, async () => {
    const { app, frame, until, press } = mount();
    await until(/● connected/);
    press('p');
    await until(/Start a pretext run/);
    const fields = visibleFields(newForm('pretext')).map((f) => f.key);
    let focus = 0;
    for (const [key, value] of [
      ['unlabeledLimit', '256'],
      ['depth', '8'],
      ['epochs', '500'],
      ['maxStepsPerEpoch', '3'],
    ] as const) {
      const at = fields.indexOf(key);
      for (; focus < at; focus++) press(KEY.down);
      press(...Array(6).fill(KEY.backspace), ...value.split(''));
    }
    await until(/Max steps\/epoch\s+3/, 'the typed value');
    press(KEY.enter);
    await until(/started pretext run r-/, 'the start notice');
    const id = /started pretext run (\S+)/.exec(frame())?.[1] as string;
    const { run } = await conn.call(conn.client.getRun, { runId: id });
    const cfg = run?.config?.$case === 'pretext' ? run.config.pretext : assert.fail('not a pretext run');
    assert.equal(cfg.depth, 8);
    assert.equal(cfg.unlabeledLimit, 256);
    assert.equal(cfg.training?.epochs, 500);
    assert.equal(cfg.training?.maxStepsPerEpoch, 3);
    await until(new RegExp(`▸ ${id}`), 'the new run selected');
    press('c');
    await until(new RegExp(`Cancel run ${id}\\? y/N`));
    press('n');
    await until(/not cancelled/);
    press('c');
    await until(new RegExp(`Cancel run ${id}\\?`));
    press('y');
    await until(new RegExp(`cancelling ${id}`));
    await until(new RegExp(`▸ ${id}\\s+cancelled`), 'the run cancelled in the list', 30_000);
    press('q');
    app.unmount();
  });

  it('reconnects after a daemon restart and resumes the streams without duplicates', {
    timeout: 120_000,
  }, async () => {
    const { run } = await conn.call(conn.client.startPretext, {
      config: tiny(500),
      name: 'restart',
      validateOnly: false,
    });
    assert.ok(run);
    const { app, frame, until, press } = mount();
    await until(new RegExp(`▸ ${run.id}`));
    press(KEY.enter);
    await until(/state -> running/, 'the run running');
    await d.stop();
    await until(/reconnecting/, 'the reconnecting state');
    d = await startTestDaemon({ port: d.port, stateDir: d.stateDir });
    await until(/● connected/, 'connected again');
    await until(/state -> interrupted(.*\n)+.*state -> running/, 'the run resumed', 60_000);
    await conn.call(conn.client.cancelRun, { runId: run.id });
    await until(/state -> cancelled/, 'the cancel', 30_000);
    const text = frame();
    assert.equal(count(text, /state -> queued/), 2);
    assert.equal(count(text, /state -> running/), 2);
    assert.equal(count(text, /state -> interrupted/), 1);
    assert.equal(count(text, /state -> cancelled/), 1);
    app.unmount();
  });
});
