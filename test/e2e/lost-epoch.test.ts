// The one crash window between a checkpoint and its epoch event: the worker writes epoch 2's
// checkpoint, then the daemon is SIGKILLed before the epoch event reaches the log. After a
// restart and ResumeRun, the log holds every epoch exactly once (epoch 2 re-sent from the
// checkpoint's history) and the checkpoint artifacts point at the latest epoch.
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import * as grpc from '@grpc/grpc-js';
import type { RunEvent } from '../../gen/ts/pretext/v1/event.js';
import { type Run, RunState } from '../../gen/ts/pretext/v1/run.js';
import { PretextServiceClient, StartPretextRequest } from '../../gen/ts/pretext/v1/service.js';
import { startTestDaemon } from '../helpers/daemon.js';
import { killDaemon, spawnDaemon } from '../helpers/daemon-process.js';

const TERMINAL = [RunState.RUN_STATE_SUCCEEDED, RunState.RUN_STATE_FAILED, RunState.RUN_STATE_CANCELLED];
const epochsOf = (events: RunEvent[]) =>
  events.flatMap((e) => (e.payload?.$case === 'epoch' ? [e.payload.epoch.epoch] : []));

test("a daemon killed between epoch 2's checkpoint and its event: the resumed run logs epochs 1, 2, 3 once each", async (t) => {
  const stateDir = mkdtempSync(path.join(os.tmpdir(), 'pretext-lost-epoch-'));
  const first = await spawnDaemon({
    stateDir,
    env: { PRETEXT_TEST_KILL_DAEMON_BEFORE_EPOCH: '2' },
    args: ['--quiet'],
  });
  t.after(() => killDaemon(first));
  const client = new PretextServiceClient(first.address, grpc.credentials.createInsecure());
  const run = await new Promise<Run>((resolve, reject) =>
    client.startPretext(
      StartPretextRequest.fromPartial({
        config: {
          unlabeledLimit: 400,
          depth: 8,
          training: { epochs: 3, batchSize: 32, maxStepsPerEpoch: 4, validationLimit: 40, seed: 5 },
        },
      }),
      (err, r) => (err ? reject(err) : resolve(r.run!)),
    ),
  );
  client.close();
  // The worker kills the daemon at the injected moment.
  assert.equal(await first.exited, 'SIGKILL');

  const lastState = JSON.parse(
    readFileSync(path.join(stateDir, 'runs', run.id, 'checkpoints', 'last', 'state.json'), 'utf8'),
  ) as { state: { trainer: { epoch: number } } };
  assert.equal(lastState.state.trainer.epoch, 2, 'epoch 2 is on disk');

  const d = await startTestDaemon({ stateDir, workerEntry: undefined, autoResume: false });
  try {
    assert.deepEqual(
      epochsOf(await d.stream({ runId: run.id, historyOnly: true })),
      [1],
      'epoch 2 is not logged',
    );
    await d.call('resumeRun', { runId: run.id });
    const done = await d.waitState(run.id, TERMINAL, 300_000);
    assert.equal(done.state, RunState.RUN_STATE_SUCCEEDED, done.error);
    const history = await d.stream({ runId: run.id, historyOnly: true });
    assert.deepEqual(epochsOf(history), [1, 2, 3]);
    assert.ok(
      history.some((e) => e.payload?.$case === 'log' && /re-sending epoch 2/.test(e.payload.log.message)),
    );
    const seqs = history.map((e) => e.seq);
    assert.deepEqual(
      seqs,
      [...seqs].sort((a, b) => a - b),
    );
    assert.equal(done.artifacts.find((a) => a.name === 'last')?.epoch, 3);
    assert.equal(done.result?.epochsTrained, 3);
  } finally {
    await d.stop();
  }
});
