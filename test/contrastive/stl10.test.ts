// STL-10 at 96×96 on the real sample (../shared/datasets/stl10-sample): the contrastive views
// read the column-major records correctly, the augmentation is seeded and bounded, a ResNet v1
// takes a SimCLR step at 96×96, and a whole SimCLR run goes through the job function (the
// sample's 10 labeled test images stand in for the labeled train split of the kNN monitor).
import assert from 'node:assert/strict';
import fs from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { after, before, test } from 'node:test';
import * as tf from '@tensorflow/tfjs';
import { fillContrastiveBatch, fillTwoViews } from '../../server/worker/data/augment.js';
import { openDatasetDir } from '../../server/shared/data/registry.js';
import { Rng } from '../../server/worker/data/rng.js';
import type { ImageSet } from '../../server/shared/data/types.js';
import { disposeCheckpoint, loadCheckpoint } from '../../server/worker/engine/checkpoint.js';
import { startBackend } from '../../server/worker/engine/job-support.js';
import { trainJob } from '../../server/worker/engine/jobs.js';
import type { CheckpointState } from '../../server/worker/engine/trainer.js';
import { contrastiveModel, mlpHead } from '../../server/worker/methods/contrastive/heads.js';
import { ntXentLoss } from '../../server/worker/methods/contrastive/losses.js';
import { buildBackboneFor } from '../../server/worker/methods/network.js';
import { baseSpec, recordingContext, tempRunDir } from '../engine/context.js';
import { STL_SAMPLE_DIR } from '../helpers/paths.js';
import { cifarConfig } from './helpers.js';

const SIDE = 96;
const PIX = SIDE * SIDE * 3;
const raw = fs.readFileSync(path.join(STL_SAMPLE_DIR, 'unlabeled_X.bin'));
let unlabeled: ImageSet;
const dirs: string[] = [];

before(async () => {
  unlabeled = await (await openDatasetDir('stl10', STL_SAMPLE_DIR)).load('unlabeled');
});
after(async () => {
  for (const d of dirs) await rm(d, { recursive: true, force: true });
});

test('STL-10 sample: 246 unlabeled 96×96 images; a full-frame flipped view is the mirrored record', () => {
  assert.equal(unlabeled.count, 246);
  assert.equal(unlabeled.height, SIDE);
  const idx = [0, 17, 245];
  const out = new Float32Array(idx.length * PIX);
  fillContrastiveBatch(unlabeled, idx, out, new Rng(1), {
    cropScale: [1, 1],
    cropRatio: [1, 1],
    flipProb: 1,
    jitterProb: 0,
    greyscaleProb: 0,
  });
  let maxErr = 0;
  idx.forEach((img, b) => {
    for (let row = 0; row < SIDE; row += 5) {
      for (let col = 0; col < SIDE; col += 3) {
        for (let c = 0; c < 3; c++) {
          // README: byte c*9216 + x*96 + y of a record is (row y, column x, channel c).
          const want = raw[img * PIX + c * 9216 + (SIDE - 1 - col) * SIDE + row]! / 255;
          maxErr = Math.max(maxErr, Math.abs(out[b * PIX + (row * SIDE + col) * 3 + c]! - want));
        }
      }
    }
  });
  assert.ok(maxErr < 1e-5, `max error ${maxErr}`);
});

test('STL-10 contrastive views at 96×96: in [0, 1], two different views, reproducible by seed', () => {
  const idx = Int32Array.from({ length: 16 }, (_, i) => i * 15);
  const draw = (seed: number, strength: number) => {
    const a = new Float32Array(idx.length * PIX);
    const b = new Float32Array(idx.length * PIX);
    fillTwoViews(unlabeled, idx, a, b, new Rng(seed), { strength });
    return [a, b] as const;
  };
  const [a, b] = draw(7, 1);
  let lo = Number.POSITIVE_INFINITY;
  let hi = Number.NEGATIVE_INFINITY;
  let diff = 0;
  for (let i = 0; i < a.length; i++) {
    lo = Math.min(lo, a[i]!, b[i]!);
    hi = Math.max(hi, a[i]!, b[i]!);
    diff += Math.abs(a[i]! - b[i]!);
  }
  assert.ok(lo >= 0 && hi <= 1, `range [${lo}, ${hi}]`);
  assert.ok(diff / a.length > 0.05, `views differ on average by ${diff / a.length}`);
  const [a2] = draw(7, 1);
  assert.deepEqual(a2.subarray(0, 5000), a.subarray(0, 5000));
  // Double strength jitters colours more: the per-image mean colour spreads further from the source.
  const spread = (strength: number) => {
    const out = new Float32Array(idx.length * PIX);
    const plain = new Float32Array(idx.length * PIX);
    const crop = {
      cropScale: [1, 1] as [number, number],
      cropRatio: [1, 1] as [number, number],
      flipProb: 0,
    };
    fillContrastiveBatch(unlabeled, idx, out, new Rng(3), {
      ...crop,
      jitterProb: 1,
      greyscaleProb: 0,
      strength,
    });
    fillContrastiveBatch(unlabeled, idx, plain, new Rng(3), { ...crop, jitterProb: 0, greyscaleProb: 0 });
    let s = 0;
    for (let i = 0; i < out.length; i++) s += Math.abs(out[i]! - plain[i]!);
    return s / out.length;
  };
  assert.ok(spread(2) > spread(0.5) * 1.5, `strength 2: ${spread(2)}, 0.5: ${spread(0.5)}`);
});

test('ResNet v1 (depth 8) at 96×96: one SimCLR gradient step on STL views', {
  timeout: 120_000,
}, async () => {
  const spec = baseSpec({
    kind: 'pretext',
    method: 'simclr',
    runDir: os.tmpdir(),
    config: cifarConfig('simclr'),
  });
  await startBackend(recordingContext(spec).ctx);
  const backbone = buildBackboneFor(
    {
      architecture: 'resnet',
      depth: 8,
      width: 0,
      inputShape: [SIDE, SIDE, 3],
      headUnits: 32,
      headName: 'projection',
    },
    5,
  );
  const model = contrastiveModel(
    backbone,
    (f) => [mlpHead(f, { name: 'projector', hidden: 32, out: 32, batchNorm: false, seed: 9 })],
    'simclr_model',
  );
  assert.deepEqual(backbone.outputs[0]!.shape, [null, 3 * 3 * 64]);
  const idx = Int32Array.from({ length: 8 }, (_, i) => 30 * i);
  const a = new Float32Array(8 * PIX);
  const b = new Float32Array(8 * PIX);
  fillTwoViews(unlabeled, idx, a, b, new Rng(2));
  const before = tf.memory().numTensors;
  const { value, grads } = tf.variableGrads(() => {
    const za = model.apply(tf.tensor4d(a, [8, SIDE, SIDE, 3]), { training: true }) as tf.Tensor2D;
    const zb = model.apply(tf.tensor4d(b, [8, SIDE, SIDE, 3]), { training: true }) as tf.Tensor2D;
    return ntXentLoss(za, zb, 0.1);
  });
  const loss = value.dataSync()[0]!;
  // 15 candidates per view: the loss of an untrained network is near log(15).
  assert.ok(Number.isFinite(loss) && Math.abs(loss - Math.log(15)) < 1.5, `loss ${loss}`);
  const first = backbone.trainableWeights[0]!.read() as tf.Variable;
  const g = grads[first.name];
  assert.ok(g && tf.max(tf.abs(g)).dataSync()[0]! > 0, 'the backbone gets a gradient');
  tf.dispose([value, ...Object.values(grads)]);
  assert.ok(tf.memory().numTensors <= before + 2, 'no tensors leak from the step');
  model.dispose();
});

test('a SimCLR run on STL-10 96×96 (small conv encoder) through the job function', {
  timeout: 300_000,
}, async () => {
  // A dataset folder of real STL-10 files: the sample's unlabeled and test images, its 10 labeled
  // test images doubling as the labeled train split.
  const dataDir = await mkdtemp(path.join(os.tmpdir(), 'pretext-stl-'));
  dirs.push(dataDir);
  const folder = path.join(dataDir, 'stl10_binary');
  fs.mkdirSync(folder);
  for (const [to, from] of [
    ['unlabeled_X.bin', 'unlabeled_X.bin'],
    ['test_X.bin', 'test_X.bin'],
    ['test_y.bin', 'test_y.bin'],
    ['train_X.bin', 'test_X.bin'],
    ['train_y.bin', 'test_y.bin'],
    ['class_names.txt', 'class_names.txt'],
  ])
    fs.symlinkSync(path.join(STL_SAMPLE_DIR, from!), path.join(folder, to!));
  const runDir = await tempRunDir('pretext-stl-run-');
  dirs.push(runDir);
  const config = cifarConfig('simclr', {
    dataset: 'stl10',
    architecture: 'small_conv_16',
    depth: 0,
    unlabeledLimit: 0,
    training: {
      epochs: 1,
      batchSize: 16,
      maxStepsPerEpoch: 3,
      validationLimit: 32,
      validationFraction: 0.2,
    } as never,
    contrastive: { projectionDim: 32, knnK: 3, augmentStrength: 1.5 } as never,
  });
  const rec = recordingContext(baseSpec({ kind: 'pretext', method: 'simclr', runDir, dataDir, config }));
  const result = await trainJob(rec.ctx);
  const [epoch] = rec.epochs();
  assert.ok(epoch && Number.isFinite(epoch.trainLoss) && Number.isFinite(epoch.valLoss));
  assert.ok(epoch.extra.embedding_std! > 0);
  // 10 labeled images: 2 queries, a bank of 8; the test kNN runs on the 10 test images.
  assert.equal(result.validation?.numExamples, 2);
  assert.equal(result.test?.numExamples, 10);
  const ckpt = await loadCheckpoint<CheckpointState>(path.join(runDir, 'checkpoints', 'best'));
  assert.deepEqual(ckpt.state.info.network.inputShape, [96, 96, 3]);
  assert.equal(ckpt.state.info.dataset, 'stl10');
  assert.equal((ckpt.arrays.mean as Float32Array).length, PIX);
  assert.equal((ckpt.arrays.train as Int32Array).length + (ckpt.arrays.val as Int32Array).length, 246);
  disposeCheckpoint(ckpt);
});
