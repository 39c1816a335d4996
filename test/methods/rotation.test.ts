// Rotation pretext learns on a real CIFAR-10 slice: ~2,000 images, one fixed rotation per image
// (the reference), validation carved from the same unlabeled subset.
// Network: PRETEXT_TEST_ARCH (default small_conv_32, a narrow conv encoder that trains fast on
// two cores; "resnet" with PRETEXT_TEST_DEPTH once the fast wasm kernels make that affordable).
import assert from 'node:assert/strict';
import { rm } from 'node:fs/promises';
import { after, test } from 'node:test';
import { PretextConfig } from '../../gen/ts/pretext/v1/run.js';
import { trainJob } from '../../server/worker/engine/jobs.js';
import { baseSpec, recordingContext, tempRunDir } from '../engine/context.js';

const ARCH = process.env.PRETEXT_TEST_ARCH ?? 'small_conv_32';
const DEPTH = Number(process.env.PRETEXT_TEST_DEPTH ?? 8);
const dirs: string[] = [];
after(async () => {
  for (const d of dirs) await rm(d, { recursive: true, force: true });
});

test('rotation pretext on 2,000 images reaches >= 40% validation rotation accuracy', {
  timeout: 600_000,
}, async () => {
  const runDir = await tempRunDir();
  dirs.push(runDir);
  const rec = recordingContext(
    baseSpec({
      kind: 'pretext',
      method: 'rotation',
      runDir,
      seed: 7,
      config: PretextConfig.fromPartial({
        architecture: ARCH,
        depth: ARCH === 'resnet' ? DEPTH : 0,
        unlabeledLimit: 2000,
        rotationsPerImage: 1,
        // 4 epochs × 57 steps of 32 = 228 steps; constant lr: the scaled step decay would cut it
        // after epoch 1 of so short a run.
        training: { epochs: 4, batchSize: 32, lrSchedule: 'constant' },
      }),
    }),
  );
  const result = await trainJob(rec.ctx);
  const epochs = rec.epochs();
  const v = result.validation;
  assert.ok(v);
  assert.equal(v.task, 'rotation');
  assert.equal(v.numExamples, 200); // 10% of 2,000
  assert.equal(v.numClasses, 4);
  assert.equal(rec.steps().at(-1)?.step, 4 * 57);
  // Chance is 25%.
  assert.ok(result.bestValAccuracy >= 0.4, `best validation rotation accuracy ${result.bestValAccuracy}`);
  assert.equal(v.accuracy, result.bestValAccuracy);
  assert.ok(epochs.at(-1)!.trainLoss < epochs[0]!.trainLoss);
  console.log(
    `# rotation ${ARCH}: val acc by epoch ${epochs.map((e) => e.valAccuracy.toFixed(3)).join(' ')}, ` +
      `${result.trainSeconds.toFixed(1)} s, backend ${rec.metas.find((m) => m.backend)?.backend}`,
  );
});

test('RotNet mode validates every image in all four rotations', { timeout: 120_000 }, async () => {
  const runDir = await tempRunDir();
  dirs.push(runDir);
  const rec = recordingContext(
    baseSpec({
      kind: 'pretext',
      method: 'rotation',
      runDir,
      config: PretextConfig.fromPartial({
        architecture: 'small_conv_8',
        unlabeledLimit: 300,
        rotationsPerImage: 4,
        training: { epochs: 1, batchSize: 16, maxStepsPerEpoch: 2 },
      }),
    }),
  );
  const result = await trainJob(rec.ctx);
  const v = result.validation!;
  assert.equal(v.numExamples, 4 * 30);
  // Every rotation appears exactly once per validation image.
  const rowTotals = [0, 1, 2, 3].map((t) =>
    v.confusionMatrix.slice(t * 4, t * 4 + 4).reduce((a, b) => a + b, 0),
  );
  assert.deepEqual(rowTotals, [30, 30, 30, 30]);
});
