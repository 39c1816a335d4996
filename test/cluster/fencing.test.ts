// A frozen agent (SIGSTOP) loses its lease: the run resumes on another agent. When the frozen
// agent wakes (SIGCONT) it fences itself — kills its worker — and nothing of its attempt is
// committed after the new attempt began: the run's step events after that moment come from the
// resumed attempt only (one increasing sequence), and each epoch is logged once.
import assert from 'node:assert/strict';
import path from 'node:path';
import { test } from 'node:test';
import { type Run, RunState } from '../../gen/ts/pretext/v1/run.js';
import { REPO_ROOT } from '../helpers/paths.js';
import { workerPidsOf } from '../helpers/daemon-process.js';
import { isAlive } from '../helpers/daemon.js';
import { epochsOf, startCluster, TERMINAL } from '../helpers/cluster.js';

const ENGINE = path.join(REPO_ROOT, 'server/worker/engine/worker.ts');
const EPOCHS = 6;

test('SIGSTOP past the lease, then SIGCONT: the old attempt commits nothing after the new one began', async (t) => {
  const cl = await startCluster({ workerEntry: ENGINE, agents: 2 });
  t.after(() => cl.stop());
  const { run } = await cl.c.call<{ run: Run }>('startPretext', {
    name: 'frozen',
    config: {
      method: 'rotation',
      dataset: 'cifar10',
      architecture: 'small_conv_8',
      unlabeledLimit: 96,
      training: { epochs: EPOCHS, batchSize: 16, maxStepsPerEpoch: 3, validationLimit: 32, seed: 3 },
    },
  });
  await cl.c.stream({ runId: run.id }, (ev) => epochsOf(ev).includes(1));
  const running = await cl.c.waitState(run.id, [RunState.RUN_STATE_RUNNING]);
  const owner = cl.agentById(running.attemptHistory.at(-1)!.agentId)!;
  const oldWorkers = await workerPidsOf(owner.pid, `pretext-worker run ${run.id}`);
  assert.equal(oldWorkers.length, 1, 'the run has one worker');
  process.kill(owner.pid, 'SIGSTOP');

  const resumed = await cl.c.waitFor(
    'a second attempt',
    async () => {
      const { run: r } = await cl.c.call<{ run: Run }>('getRun', { runId: run.id });
      return r.attemptHistory.length >= 2 ? r : undefined;
    },
    60_000,
  );
  process.kill(owner.pid, 'SIGCONT');
  // Woken, the agent sees it slept past its lease and kills its worker.
  await cl.c.waitFor(
    'the old worker to be gone',
    async () => (oldWorkers.every((p) => !isAlive(p)) ? true : undefined),
    20_000,
  );
  await cl.c.waitFor(
    'the old agent to say it fenced itself',
    async () => (/attempt fenced/.test(owner.stderr()) ? true : undefined),
    20_000,
  );

  const done = await cl.c.waitState(run.id, TERMINAL, 240_000);
  assert.equal(done.state, RunState.RUN_STATE_SUCCEEDED, done.error);
  assert.equal(done.attemptHistory[0]!.outcome, 'lost');
  assert.notEqual(done.attemptHistory.at(-1)!.agentId, owner.id);
  const events = await cl.c.stream({ runId: run.id, historyOnly: true });
  assert.deepEqual(
    epochsOf(events),
    Array.from({ length: EPOCHS }, (_, i) => i + 1),
    'each epoch once',
  );
  const began = events.find(
    (e) =>
      e.payload?.$case === 'state' &&
      e.payload.state.to === RunState.RUN_STATE_RUNNING &&
      /resuming/.test(e.payload.state.message),
  )!;
  assert.ok(began, 'the resumed attempt began');
  const after = events.filter((e) => e.seq > began.seq);
  const steps = after.flatMap((e) => (e.payload?.$case === 'step' ? [e.payload.step.step] : []));
  assert.deepEqual(
    steps,
    [...steps].sort((a, b) => a - b),
    'one increasing sequence of steps',
  );
  assert.equal(new Set(steps).size, steps.length, 'no step twice');
  const firstResumed = after.find((e) => e.payload?.$case === 'epoch');
  assert.equal(
    firstResumed?.payload?.$case === 'epoch' && firstResumed.payload.epoch.epoch,
    resumed.attemptHistory[1]!.resumedAfterEpoch + 1,
  );
  // Checkpoint artifacts committed after the new attempt began belong to it: epochs go up.
  const ckpts = after.flatMap((e) =>
    e.payload?.$case === 'checkpoint' && e.payload.checkpoint.artifact?.name === 'last'
      ? [e.payload.checkpoint.artifact.epoch]
      : [],
  );
  assert.deepEqual(
    ckpts,
    [...ckpts].sort((a, b) => a - b),
  );
  assert.equal(done.artifacts.find((a) => a.name === 'last')?.epoch, EPOCHS);
});
