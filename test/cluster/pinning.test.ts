// A run stays on the backend of its first attempt: when its agent dies, an agent of another
// backend never takes it (each backend has its own queue); the next agent of the same backend
// resumes it.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { type Run, RunState } from '../../gen/ts/pretext/v1/run.js';
import { LOCK_MS, STALLED_MS, startCluster, TERMINAL } from '../helpers/cluster.js';
import { tinyPretext } from '../helpers/daemon.js';

test('a run is pinned to the backend of its first attempt', async (t) => {
  const cl = await startCluster({ agents: 1 });
  t.after(() => cl.stop());
  const { run } = await cl.c.call<{ run: Run }>('startPretext', tinyPretext({ epochs: 400, steps: 50 }));
  await cl.c.stream({ runId: run.id }, (ev) => ev.some((e) => e.payload?.$case === 'step'));
  const first = await cl.c.waitState(run.id, [RunState.RUN_STATE_RUNNING]);
  assert.equal(first.attemptHistory[0]?.agentId, 'a1');
  assert.equal(first.attemptHistory[0]?.backend, 'cpu');
  await cl.startAgent('w1', {}, 'wasm');
  const a1 = cl.agentById('a1')!;
  process.kill(a1.pid, 'SIGKILL');
  await a1.exited;
  // Long enough for the lease to lapse and the job to come back: the wasm agent must not take it.
  await new Promise((r) => setTimeout(r, LOCK_MS + 2 * STALLED_MS + 2_000));
  const waiting = (await cl.c.call<{ run: Run }>('getRun', { runId: run.id })).run;
  assert.equal(waiting.attemptHistory.length, 1, 'no attempt on the wasm agent');
  await cl.startAgent('a2');
  const resumed = await cl.c.waitFor(
    'an attempt on a2',
    async () => {
      const { run: r } = await cl.c.call<{ run: Run }>('getRun', { runId: run.id });
      return r.attemptHistory.length >= 2 ? r : undefined;
    },
    60_000,
  );
  assert.deepEqual(
    resumed.attemptHistory.map((a) => [a.agentId, a.backend]),
    [
      ['a1', 'cpu'],
      ['a2', 'cpu'],
    ],
  );
  await cl.c.call('cancelRun', { runId: run.id });
  const ended = await cl.c.waitState(run.id, TERMINAL, 60_000);
  assert.equal(ended.state, RunState.RUN_STATE_CANCELLED);
});
