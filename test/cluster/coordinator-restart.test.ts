// kill -9 of the coordinator mid-study, then a restart on the same state dir: agents keep
// training through the outage and reconnect, nothing is interrupted, and the study finishes
// with no run restarted (one attempt each), each epoch logged once, and the event log's seq
// 1, 2, 3… without a gap or a repeat.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { type Run, RunState } from '../../gen/ts/pretext/v1/run.js';
import { type Study, StudyState } from '../../gen/ts/pretext/v1/study.js';
import { tinyPretext } from '../helpers/daemon.js';
import { epochsOf, startCluster } from '../helpers/cluster.js';

test('the coordinator killed mid-study: the study finishes with 0 runs restarted and no event lost', async (t) => {
  const cl = await startCluster();
  t.after(() => cl.stop());
  const { study } = await cl.c.call<{ study: Study }>('startStudy', {
    name: 'outage',
    config: {
      pretext: tinyPretext({ epochs: 3, steps: 3 }).config,
      labelBudgets: [100, 200, 250],
      folds: 1,
      downstream: { training: { epochs: 3, learningRate: 0.01 }, testLimit: 100 },
    },
  });
  // Kill it once the first downstream runs are training on agents.
  await cl.c.waitFor(
    'downstream runs on agents',
    async () => {
      const runs = (await cl.c.call<{ runs: Run[] }>('listRuns', { studyId: study.id, limit: 100 })).runs;
      return runs.filter((r) => r.config?.$case === 'downstream' && r.state === RunState.RUN_STATE_RUNNING)
        .length >= 1
        ? true
        : undefined;
    },
    120_000,
  );
  await cl.restartCoordinator();

  const done = await cl.c.waitFor(
    'the study to end',
    async () => {
      const s = (await cl.c.call<{ study: Study }>('getStudy', { studyId: study.id })).study;
      return s.state !== StudyState.STUDY_STATE_RUNNING ? s : undefined;
    },
    240_000,
  );
  assert.equal(done.state, StudyState.STUDY_STATE_SUCCEEDED, done.error);
  const runs = (await cl.c.call<{ runs: Run[] }>('listRuns', { studyId: study.id, limit: 100 })).runs;
  assert.equal(runs.length, 7);
  for (const r of runs) {
    assert.equal(r.state, RunState.RUN_STATE_SUCCEEDED, `${r.id}: ${r.error}`);
    assert.equal(
      r.attemptHistory.length,
      1,
      `run ${r.id} was not restarted: ${JSON.stringify(r.attemptHistory)}`,
    );
    assert.deepEqual(epochsOf(await cl.c.stream({ runId: r.id, historyOnly: true })), [1, 2, 3]);
  }
  const seqs = (await cl.c.stream({ fromSeq: 1, historyOnly: true })).map((e) => e.seq);
  assert.deepEqual(
    seqs,
    Array.from({ length: seqs.length }, (_, i) => i + 1),
  );
});
