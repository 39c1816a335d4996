// pretextd with --backend webgpu, end to end on the adapter the tests find (lavapipe without a
// GPU): GetServerInfo lists the adapter, and a short rotation run trains, validates and
// checkpoints in a production worker on webgpu, recording the adapter as its backend detail.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { bufferIo } from '../../cli/io.js';
import { main } from '../../cli/main.js';
import { type Run, RunState } from '../../gen/ts/pretext/v1/run.js';
import type { GetServerInfoResponse } from '../../gen/ts/pretext/v1/service.js';
import { ADAPTER, SKIP_WEBGPU } from '../backend/webgpu-available.js';
import { startTestDaemon, type TestDaemon } from '../helpers/daemon.js';

async function cli(addr: string, ...args: string[]): Promise<string> {
  const io = bufferIo({});
  const code = await main(['--addr', addr, ...args], io);
  assert.equal(code, 0, io.stderr());
  return io.stdout();
}

const TERMINAL = [RunState.RUN_STATE_SUCCEEDED, RunState.RUN_STATE_FAILED, RunState.RUN_STATE_CANCELLED];

describe('pretextd on webgpu', { skip: SKIP_WEBGPU }, () => {
  let d: TestDaemon;
  before(async () => {
    d = await startTestDaemon({ workerEntry: undefined, backend: 'webgpu' });
  });
  after(async () => {
    await d.stop();
  });

  test('GetServerInfo and `pretext info` list the webgpu adapter', async () => {
    const info = await d.call<GetServerInfoResponse>('getServerInfo', {});
    const webgpu = info.backends.find((b) => b.name === 'webgpu');
    assert.deepEqual(webgpu, { name: 'webgpu', available: true, reason: '', detail: ADAPTER });
    const text = await cli(d.daemon.address, 'info');
    // Table cells are cut to the terminal's width.
    assert.ok(text.includes(`webgpu          available; adapter: ${ADAPTER.slice(0, 40)}`), text);
  });

  test('a rotation run trains on webgpu and records the adapter', async () => {
    const { run } = await d.call<{ run: Run }>('startPretext', {
      name: 'webgpu pretext',
      config: {
        method: 'rotation',
        unlabeledLimit: 200,
        depth: 8,
        training: { epochs: 1, batchSize: 16, maxStepsPerEpoch: 3, validationLimit: 32, seed: 5 },
      },
    });
    const done = await d.waitState(run.id, TERMINAL, 400_000);
    assert.equal(done.state, RunState.RUN_STATE_SUCCEEDED, done.error);
    assert.equal(done.backend, 'webgpu');
    assert.equal(done.backendDetail, ADAPTER);
    const shown = await cli(d.daemon.address, 'show', run.id);
    assert.ok(shown.includes(`webgpu (${ADAPTER})`), shown);
    assert.deepEqual(done.artifacts.map((a) => a.name).sort(), ['best', 'last']);
    assert.equal(done.result?.validation?.numClasses, 4);
  });
});
