// kill -9 of the agent that owns a running run (the real engine, a tiny small_conv rotation
// run on the cpu backend): the run resumes on another agent within lockDuration +
// stalledInterval + 5 s, from the checkpoint the coordinator last committed (first resumed
// epoch = that epoch + 1), logs each epoch once, and ends with the same weights as an
// uninterrupted run of the same seed on the same backend.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { type Run, RunState } from '../../gen/ts/pretext/v1/run.js';
import { REPO_ROOT } from '../helpers/paths.js';
import { epochsOf, LOCK_MS, STALLED_MS, startCluster, TERMINAL } from '../helpers/cluster.js';

const ENGINE = path.join(REPO_ROOT, 'server/worker/engine/worker.ts');
const EPOCHS = 4;
const request = (name: string) => ({
  name,
  config: {
    method: 'rotation',
    dataset: 'cifar10',
    architecture: 'small_conv_8',
    unlabeledLimit: 96,
    training: { epochs: EPOCHS, batchSize: 16, maxStepsPerEpoch: 3, validationLimit: 32, seed: 7 },
  },
});

test('an agent killed mid-run: the run resumes elsewhere from its last committed epoch, same final weights', async (t) => {
  const cl = await startCluster({ workerEntry: ENGINE });
  t.after(() => cl.stop());
  const { run: victim } = await cl.c.call<{ run: Run }>('startPretext', request('victim'));
  const { run: control } = await cl.c.call<{ run: Run }>('startPretext', request('control'));

  // Once epoch 1 is committed, kill the agent that trains the victim (whichever it is).
  await cl.c.stream({ runId: victim.id }, (ev) => epochsOf(ev).includes(1));
  // The epoch event can reach a watcher before the checkpoint event that records 'last'.
  const running = await cl.c.waitFor(
    "epoch 1's 'last' checkpoint",
    async () => {
      const { run } = await cl.c.call<{ run: Run }>('getRun', { runId: victim.id });
      return run.state === RunState.RUN_STATE_RUNNING && run.artifacts.some((a) => a.name === 'last')
        ? run
        : undefined;
    },
    60_000,
  );
  const owner = cl.agentById(running.attemptHistory.at(-1)!.agentId)!;
  assert.ok(owner, 'the owning agent is one of ours');
  const committed = running.artifacts.find((a) => a.name === 'last')!.epoch;
  process.kill(owner.pid, 'SIGKILL');
  const killedAt = Date.now();
  await owner.exited;

  const resumed = await cl.c.waitFor(
    'a second attempt',
    async () => {
      const { run } = await cl.c.call<{ run: Run }>('getRun', { runId: victim.id });
      return run.attemptHistory.length >= 2 ? run : undefined;
    },
    60_000,
  );
  const second = resumed.attemptHistory[1]!;
  const first = resumed.attemptHistory[0]!;
  const delay = Number(second.startedAtUnixMs) - killedAt;
  t.diagnostic(
    `resumed ${delay} ms after the kill (limit ${LOCK_MS + STALLED_MS + 5_000} ms), after epoch ${second.resumedAfterEpoch}`,
  );
  assert.ok(delay <= LOCK_MS + STALLED_MS + 5_000, `resumed ${delay} ms after the kill`);
  assert.notEqual(second.agentId, owner.id, 'resumed on another agent');
  assert.equal(first.outcome, 'lost');
  // The coordinator may have committed one more epoch between our look and the kill.
  assert.ok(second.resumedAfterEpoch >= committed && second.resumedAfterEpoch < EPOCHS);

  const [v, c] = await Promise.all([
    cl.c.waitState(victim.id, TERMINAL, 240_000),
    cl.c.waitState(control.id, TERMINAL, 240_000),
  ]);
  assert.equal(v.state, RunState.RUN_STATE_SUCCEEDED, v.error);
  assert.equal(c.state, RunState.RUN_STATE_SUCCEEDED, c.error);
  const events = await cl.c.stream({ runId: victim.id, historyOnly: true });
  assert.deepEqual(epochsOf(events), [1, 2, 3, 4], 'each epoch once');
  // The first epoch the resumed attempt trained is the committed one + 1.
  const resumeLog = events.find(
    (e) => e.payload?.$case === 'log' && /resumed from .* after epoch (\d+)/.test(e.payload.log.message),
  );
  assert.ok(resumeLog, 'the worker resumed from a checkpoint');
  const after = Number(
    /after epoch (\d+)/.exec((resumeLog.payload as { log: { message: string } }).log.message)![1],
  );
  assert.equal(after, second.resumedAfterEpoch);
  const stateAfter = events.filter((e) => e.seq > resumeLog.seq);
  const firstStep = stateAfter.find((e) => e.payload?.$case === 'step');
  if (firstStep?.payload?.$case === 'step') assert.equal(firstStep.payload.step.epoch, after + 1);
  assert.equal(v.backend, 'cpu');
  assert.equal(c.backend, 'cpu');
  const weights = (id: string) =>
    readFileSync(path.join(cl.stateDir, 'runs', id, 'checkpoints', 'last', 'weights.bin'));
  assert.ok(weights(victim.id).equals(weights(control.id)), 'final weights equal the uninterrupted run');
  assert.equal(v.result?.epochsTrained, EPOCHS);
});
