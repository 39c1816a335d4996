// Each host keeps its own data dir, so the coordinator checks what it trains on: a run whose
// agent reports a data checksum other than its study's is stopped and FAILED with the reason.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { type Run, RunState } from '../../gen/ts/pretext/v1/run.js';
import { type Study, StudyState } from '../../gen/ts/pretext/v1/study.js';
import { startCluster, TERMINAL } from '../helpers/cluster.js';
import { tinyPretext } from '../helpers/daemon.js';

test("a run on an agent whose data differs from its study's fails with the reason", async (t) => {
  const cl = await startCluster({ agents: 1 });
  t.after(() => cl.stop());
  const { study } = await cl.c.call<{ study: Study }>('startStudy', {
    name: 'checksums',
    config: {
      pretext: tinyPretext({ epochs: 1, steps: 2 }).config,
      labelBudgets: [100],
      folds: 1,
      downstream: { training: { epochs: 400, learningRate: 0.01 }, testLimit: 100 },
    },
  });
  const list = async () =>
    (await cl.c.call<{ runs: Run[] }>('listRuns', { studyId: study.id, limit: 10 })).runs;
  // The first downstream run holds a1's only slot; the second waits for the next agent.
  await cl.c.waitFor(
    'a downstream run on a1',
    async () =>
      (await list()).some((r) => r.config?.$case === 'downstream' && r.state === RunState.RUN_STATE_RUNNING)
        ? true
        : undefined,
    120_000,
  );
  await cl.startAgent('a2', { PRETEXT_TINY_DATA_CHECKSUM: 'f'.repeat(64) });
  const bad = await cl.c.waitFor(
    'the run on a2 to end',
    async () =>
      (await list()).find(
        (r) => r.attemptHistory.some((a) => a.agentId === 'a2') && TERMINAL.includes(r.state),
      ),
    120_000,
  );
  assert.equal(bad.state, RunState.RUN_STATE_FAILED);
  assert.match(bad.error, /data \(checksum ffffffffffffffff…\) differs from the study's/);
  assert.equal(
    bad.attemptHistory.at(-1)?.dataChecksum,
    'f'.repeat(64),
    'provenance keeps what the agent reported',
  );
  await cl.c.call('cancelStudy', { studyId: study.id });
  const s = (await cl.c.call<{ study: Study }>('getStudy', { studyId: study.id })).study;
  assert.notEqual(s.state, StudyState.STUDY_STATE_SUCCEEDED);
});
