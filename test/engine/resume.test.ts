// The trainer through the production job function: events, stable tensor count, cancellation at
// a step boundary, and resume from `checkpoints/last` continuing exactly where the run stopped.
import assert from 'node:assert/strict';
import { readdir, rm } from 'node:fs/promises';
import path from 'node:path';
import { after, test } from 'node:test';
import * as tf from '@tensorflow/tfjs';
import { PretextConfig } from '../../gen/ts/pretext/v1/run.js';
import { disposeCheckpoint, loadCheckpoint } from '../../server/worker/engine/checkpoint.js';
import { trainJob } from '../../server/worker/engine/jobs.js';
import type { JobSpec } from '../../server/shared/worker-protocol.js';
import { CancelledError } from '../../server/worker/engine/worker-runtime.js';
import { assertTensorsEqual, baseSpec, recordingContext, tempRunDir } from './context.js';

const dirs: string[] = [];
after(async () => {
  for (const d of dirs) await rm(d, { recursive: true, force: true });
});

async function spec(resume = false, runDir?: string): Promise<JobSpec> {
  const dir = runDir ?? (await tempRunDir());
  if (!runDir) dirs.push(dir);
  return baseSpec({
    kind: 'pretext',
    method: 'rotation',
    runDir: dir,
    resume,
    config: PretextConfig.fromPartial({
      dataset: 'cifar10',
      architecture: 'small_conv_8',
      unlabeledLimit: 400,
      training: { epochs: 3, batchSize: 32, maxStepsPerEpoch: 4, augment: true },
    }),
  });
}

async function lastWeights(runDir: string): Promise<tf.Tensor[]> {
  const c = await loadCheckpoint(path.join(runDir, 'checkpoints', 'last'));
  tf.dispose(c.optimizer.map((o) => o.tensor));
  return c.weights;
}

let straight: { runDir: string; epochs: ReturnType<ReturnType<typeof recordingContext>['epochs']> };

test('a 3-epoch run: events in order, checkpoints, tensor count stable across epochs', {
  timeout: 300_000,
}, async () => {
  const s = await spec();
  const rec = recordingContext(s);
  const result = await trainJob(rec.ctx);
  const epochs = rec.epochs();
  assert.deepEqual(
    epochs.map((e) => e.epoch),
    [1, 2, 3],
  );
  // The reference schedule scaled to 3 epochs: x0.01 once 60% of the run is done.
  const lrs = epochs.map((e) => e.learningRate);
  assert.deepEqual(lrs.slice(0, 2), [1e-3, 1e-3]);
  assert.ok(Math.abs(lrs[2]! - 1e-5) < 1e-12, `epoch 3 lr ${lrs[2]}`);
  // tf.memory() at the end of epoch 1 and epoch 3: no tensor leaks from steps, validation or saving.
  assert.equal(rec.tensorsAtEpoch.length, 3);
  assert.equal(rec.tensorsAtEpoch[0], rec.tensorsAtEpoch[2]);
  const steps = rec.steps();
  assert.ok(steps.length >= 3);
  assert.equal(steps.at(-1)?.step, 12);
  assert.equal(steps.at(-1)?.totalSteps, 12);
  for (let i = 1; i < steps.length; i++) assert.ok(steps[i]!.step > steps[i - 1]!.step);
  for (const st of steps) assert.ok(st.loss > 0 && st.learningRate > 0 && st.imagesPerSecond > 0);
  const lasts = rec.events.filter((e) => e.$case === 'checkpoint' && e.checkpoint.artifact?.name === 'last');
  assert.equal(lasts.length, 3);
  assert.ok(rec.metas.some((m) => m.backend && (m.threads ?? 0) >= 1));
  assert.ok(rec.metas.some((m) => /^[0-9a-f]{64}$/.test(m.dataChecksum ?? '')));
  assert.deepEqual((await readdir(path.join(s.runDir, 'checkpoints'))).sort(), ['best', 'last']);
  assert.equal(result.epochsTrained, 3);
  assert.ok(result.bestEpoch >= 1 && result.bestEpoch <= 3);
  assert.equal(result.bestValAccuracy, Math.max(...epochs.map((e) => e.valAccuracy)));
  assert.equal(result.validation?.accuracy, result.bestValAccuracy);
  straight = { runDir: s.runDir, epochs };
});

test('cancel after epoch 2, resume: epoch 3 follows and equals the uninterrupted run', {
  timeout: 300_000,
}, async () => {
  assert.ok(straight, 'needs the uninterrupted run');
  const first = await spec();
  const rec = recordingContext(first, (p, r) => {
    if (p.$case === 'epoch' && p.epoch.epoch === 2) r.abort.abort();
  });
  await assert.rejects(trainJob(rec.ctx), CancelledError);
  assert.deepEqual(
    rec.epochs().map((e) => e.epoch),
    [1, 2],
  );

  const second = recordingContext(await spec(true, first.runDir));
  await trainJob(second.ctx);
  const resumed = second.epochs();
  assert.deepEqual(
    resumed.map((e) => e.epoch),
    [3],
  );
  // Same data order, augmentation draws and optimizer state: the same epoch 3 as without the stop.
  const want = straight.epochs[2]!;
  const got = resumed[0]!;
  assert.ok(
    Math.abs(got.trainLoss - want.trainLoss) < 1e-4,
    `train loss ${got.trainLoss} vs ${want.trainLoss}`,
  );
  assert.ok(
    Math.abs(got.valAccuracy - want.valAccuracy) < 1e-9,
    `val acc ${got.valAccuracy} vs ${want.valAccuracy}`,
  );
  assert.equal(got.learningRate, want.learningRate);
  const a = await lastWeights(straight.runDir);
  const b = await lastWeights(first.runDir);
  assertTensorsEqual(a, b, 'final weights');
  tf.dispose([...a, ...b]);
  const last = await loadCheckpoint<{ trainer: { epoch: number; step: number; history: unknown[] } }>(
    path.join(first.runDir, 'checkpoints', 'last'),
  );
  assert.equal(last.state.trainer.epoch, 3);
  assert.equal(last.state.trainer.step, 12);
  assert.equal(last.state.trainer.history.length, 3);
  disposeCheckpoint(last);
});
