// One backend's SimCLR training speed in its own process: the reference's STL-10 setup, the
// small conv encoder (four stride-2 Conv(128, ReLU) + Dense(128)) on 96×96 images with the
// projection MLP (128 → 128) and NT-Xent (temperature 0.1), Adam, two augmented views of each of
// `batch` images per step (the reference's 500). Prints one JSON line; img/s counts images, not
// views (each image is two views through the network).
// Usage: tsx bench/contrastive-worker.ts BACKEND WARMUP STEPS [BATCH]
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import * as tf from '@tensorflow/tfjs';
import { createAdam } from '../server/worker/backend/fused-adam.js';
import { initBackend } from '../server/worker/backend/index.js';
import { fillTwoViews } from '../server/worker/data/augment.js';
import { meanImage } from '../server/worker/data/batches.js';
import { Rng } from '../server/worker/data/rng.js';
import { readStl10 } from '../server/shared/data/stl10.js';
import { regularizationLoss } from '../server/worker/methods/base.js';
import { contrastiveModel, mlpHead } from '../server/worker/methods/contrastive/heads.js';
import { ntXentLoss } from '../server/worker/methods/contrastive/losses.js';
import { applyFreeing } from '../server/worker/models/apply-freeing.js';
import { buildSmallConvEncoder } from '../server/worker/models/resnet.js';

export interface ContrastiveResult {
  backend: string;
  threads: number;
  batch: number;
  train_img_s: number;
  train_img_s_best: number;
  train_cpu_s_per_step: number;
  peak_rss_mb: number;
  step_ms: number[];
  loss_first: number;
  loss_last: number;
}

const [backendArg = 'native', warmupArg = '1', stepsArg = '3', batchArg = '500'] = process.argv.slice(2);
const [warmup, steps, batch] = [Number(warmupArg), Number(stepsArg), Number(batchArg)];
const DATA =
  process.env.PRETEXT_TEST_DATA_DIR ??
  path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../shared/datasets');

const choice = await initBackend(backendArg);
// The STL-10 sample's unlabeled images, two augmented views each, made once (the data path has
// its own bench: bench/data.ts).
const set = readStl10(path.join(DATA, 'stl10-sample'), 'unlabeled');
const idx = Int32Array.from({ length: batch }, (_, i) => i % set.count);
const pix = 96 * 96 * 3;
const a = new Float32Array(batch * pix);
const b = new Float32Array(batch * pix);
fillTwoViews(set, idx, a, b, new Rng(1), { mean: meanImage(set) });
const xa = tf.tensor4d(a, [batch, 96, 96, 3]);
const xb = tf.tensor4d(b, [batch, 96, 96, 3]);

const backbone = buildSmallConvEncoder({ inputShape: [96, 96, 3], width: 128, seed: 1 });
const model = contrastiveModel(
  backbone,
  (f) => [mlpHead(f, { name: 'projector', hidden: 128, out: 128, batchNorm: false, seed: 2 })],
  'simclr_bench',
);
const optimizer = createAdam(1e-3);

const ms: number[] = [];
const losses: number[] = [];
let cpuUs = 0;
for (let step = 0; step < warmup + steps; step++) {
  const t0 = performance.now();
  const cpu0 = process.cpuUsage();
  // What the contrastive method's training step computes (method.ts): both views through the
  // model in training mode, NT-Xent, the model's regularisation losses.
  const loss = optimizer.minimize(() => {
    const za = applyFreeing(model, xa, { training: true }) as tf.Tensor2D;
    const zb = applyFreeing(model, xb, { training: true }) as tf.Tensor2D;
    const l = ntXentLoss(za, zb, 0.1);
    const reg = regularizationLoss(model);
    return reg ? tf.add(l, reg) : l;
  }, true)!;
  losses.push((await loss.data())[0]!);
  loss.dispose();
  if (step >= warmup) {
    ms.push(performance.now() - t0);
    const c = process.cpuUsage(cpu0);
    cpuUs += c.user + c.system;
  }
}
tf.dispose([xa, xb]);

const result: ContrastiveResult = {
  backend: choice.name,
  threads: choice.threads,
  batch,
  train_img_s: (batch * ms.length * 1000) / ms.reduce((s, v) => s + v, 0),
  train_img_s_best: (batch * 1000) / Math.min(...ms),
  train_cpu_s_per_step: cpuUs / 1e6 / ms.length,
  peak_rss_mb: process.resourceUsage().maxRSS / 1024,
  step_ms: ms.map(Math.round),
  loss_first: losses[0]!,
  loss_last: losses.at(-1)!,
};
console.log(JSON.stringify(result));
process.exit(0);
