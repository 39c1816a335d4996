// An upgrade done in the wrong order: the coordinator comes back on a new code revision while an
// agent still runs the old one. The old agent must stop taking jobs and put back any it took,
// so the runs wait for an agent on the new revision instead of being dropped (left QUEUED with
// no job). And what travels through Redis is only {runId, attempt}: no config, path or token.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Redis } from 'ioredis';
import { type Run, RunState } from '../../gen/ts/pretext/v1/run.js';
import { jobId, QUEUE_PREFIX, queueName } from '../../server/daemon/cluster/queue-url.js';
import { startCluster, TERMINAL } from '../helpers/cluster.js';
import { tinyPretext } from '../helpers/daemon.js';

const NEXT = { PRETEXT_CODE_REVISION: 'next-revision' };

test('an agent on an old revision puts jobs back; an agent on the new one runs them', async (t) => {
  const cl = await startCluster({ agents: 1 });
  t.after(() => cl.stop());
  await cl.restartCoordinator(NEXT);
  // Started at once: a1 may take a job before its heartbeat hears of the new revision.
  const runs: Run[] = [];
  for (let i = 0; i < 2; i++)
    runs.push(
      (await cl.c.call<{ run: Run }>('startPretext', tinyPretext({ epochs: 1, steps: 2, seed: i + 1 }))).run,
    );
  await cl.c.waitFor(
    'a1 to notice the revision',
    async () => (/code revision mismatch/.test(cl.agentById('a1')!.stderr()) ? true : undefined),
    30_000,
  );
  await new Promise((r) => setTimeout(r, 2_000));
  for (const r of runs) {
    const { run } = await cl.c.call<{ run: Run }>('getRun', { runId: r.id });
    assert.equal(run.state, RunState.RUN_STATE_QUEUED, 'no attempt begins on the old revision');
    assert.equal(run.attemptHistory.length, 0);
  }

  await cl.startAgent('b1', NEXT);
  for (const r of runs) {
    const ended = await cl.c.waitState(r.id, TERMINAL, 120_000);
    assert.equal(ended.state, RunState.RUN_STATE_SUCCEEDED, ended.error);
    assert.deepEqual(
      ended.attemptHistory.map((a) => a.agentId),
      ['b1'],
    );
  }

  // The stored job: its data is exactly {runId, attempt}.
  const redis = new Redis({ path: cl.redis.socket, lazyConnect: true, maxRetriesPerRequest: 1 });
  t.after(() => redis.disconnect());
  await redis.connect();
  for (const r of runs) {
    const hash = await redis.hgetall(`${QUEUE_PREFIX}:${queueName('cpu')}:${jobId(r.id, 1)}`);
    assert.ok(hash.data, `job ${jobId(r.id, 1)} is stored`);
    assert.deepEqual(JSON.parse(hash.data), { runId: r.id, attempt: 1 });
    const stored = JSON.stringify(hash);
    for (const secret of ['rotation', 'cifar10', cl.stateDir, 'Bearer'])
      assert.ok(!stored.includes(secret), `the job record does not carry "${secret}"`);
  }
});
