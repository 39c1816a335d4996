// A 9-run study over 3 agents on one machine (a private Redis, three agent processes with
// separate state dirs): every run succeeds, work spreads over the agents, each run's log holds
// its epochs 1..E once, and the global event stream replayed afterwards, resumed from its
// middle, and watched live are the same events with seq 1, 2, 3… without gaps or repeats.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { RunEvent } from '../../gen/ts/pretext/v1/event.js';
import { type Run, RunState } from '../../gen/ts/pretext/v1/run.js';
import { type Study, StudyState } from '../../gen/ts/pretext/v1/study.js';
import { tinyPretext } from '../helpers/daemon.js';
import { epochsOf, freePort, startCluster } from '../helpers/cluster.js';
import { scrape, value } from '../helpers/metrics.js';

test('a 9-run study spreads over 3 agents; every stream is complete, ordered and identical', async (t) => {
  const metricsPort = await freePort();
  const cl = await startCluster({ env: { PRETEXT_METRICS_LISTEN: String(metricsPort) } });
  t.after(() => cl.stop());
  const live: RunEvent[] = [];
  const { study } = await cl.c.call<{ study: Study }>('startStudy', {
    name: 'spread',
    config: {
      pretext: tinyPretext({ epochs: 2, steps: 2 }).config,
      labelBudgets: [100, 200, 250, 400],
      folds: 1,
      downstream: { training: { epochs: 2, learningRate: 0.01 }, testLimit: 100 },
    },
  });
  assert.equal(study.runsTotal, 9);
  // Live: every event of the daemon from the start, until the study's last update.
  const watched = cl.c.stream({ fromSeq: 1 }, (ev) => {
    live.length = 0;
    live.push(...ev);
    return ev.some(
      (e) =>
        e.runId === study.id &&
        e.payload?.$case === 'study' &&
        e.payload.study.study?.state === StudyState.STUDY_STATE_SUCCEEDED,
    );
  });
  const done = await cl.c.waitFor(
    'the study to end',
    async () => {
      const s = (await cl.c.call<{ study: Study }>('getStudy', { studyId: study.id })).study;
      return s.state !== StudyState.STUDY_STATE_RUNNING ? s : undefined;
    },
    240_000,
  );
  assert.equal(done.state, StudyState.STUDY_STATE_SUCCEEDED, done.error);
  await watched;

  const runs = (await cl.c.call<{ runs: Run[] }>('listRuns', { studyId: study.id, limit: 100 })).runs;
  assert.equal(runs.length, 9);
  const agentsUsed = new Set<string>();
  for (const r of runs) {
    assert.equal(r.state, RunState.RUN_STATE_SUCCEEDED, `${r.id}: ${r.error}`);
    assert.ok(r.attemptHistory.length >= 1);
    for (const a of r.attemptHistory) {
      assert.ok(a.agentId, `run ${r.id} attempt ${a.attempt} names its agent`);
      assert.ok(a.host);
      assert.equal(a.backend, 'cpu');
      assert.ok(a.codeRevision);
      agentsUsed.add(a.agentId);
    }
    assert.ok(r.attemptHistory.at(-1)!.dataChecksum, 'the attempt records its data checksum');
    const epochs = epochsOf(await cl.c.stream({ runId: r.id, historyOnly: true }));
    const e = r.config?.$case === 'pretext' ? 2 : 2;
    assert.deepEqual(
      epochs,
      Array.from({ length: e }, (_, i) => i + 1),
      `run ${r.id} logs epochs 1..${e} once`,
    );
  }
  assert.ok(agentsUsed.size >= 2, `runs went to ${[...agentsUsed].join(', ')}`);

  // The coordinator's metrics list its agents: online, with their slots free once the study ended
  // (busy counts arrive with the agents' heartbeats, every 500 ms here).
  const samples = await cl.c.waitFor(
    'every agent reported free slots',
    async () => {
      const { samples: s } = await scrape(`127.0.0.1:${metricsPort}`);
      const free = ['a1', 'a2', 'a3'].every(
        (id) => value(s, 'pretext_agent_slots', { agent: id, use: 'free' }) === 1,
      );
      return free ? s : undefined;
    },
    10_000,
  );
  for (const id of ['a1', 'a2', 'a3']) {
    assert.equal(value(samples, 'pretext_agent_online', { agent: id }), 1, id);
    assert.equal(value(samples, 'pretext_agent_slots', { agent: id, use: 'free' }), 1, id);
    assert.equal(value(samples, 'pretext_agent_slots', { agent: id, use: 'busy' }), 0, id);
  }

  // Downstream runs read the pretext checkpoint through the coordinator, whichever agent made it.
  const pretext = runs.find((r) => r.config?.$case === 'pretext')!;
  assert.ok(pretext.artifacts.some((a) => a.name === 'last'));

  const replay = await cl.c.stream({ fromSeq: 1, historyOnly: true });
  const seqs = replay.map((e) => e.seq);
  assert.deepEqual(
    seqs,
    Array.from({ length: seqs.length }, (_, i) => i + 1),
    'seq 1, 2, 3… without gaps or repeats',
  );
  const upTo = (evs: RunEvent[], last: number) => evs.filter((e) => e.seq <= last);
  const lastLive = live.at(-1)!.seq;
  assert.deepEqual(upTo(replay, lastLive), live, 'the live stream is the replayed one');
  const mid = Math.floor(seqs.length / 2);
  const resumed = await cl.c.stream({ fromSeq: mid, historyOnly: true });
  assert.deepEqual(resumed, replay.slice(mid - 1), 'a stream resumed mid-way is the replay’s tail');
});
