// One backend's measurement in its own process (so that peak RSS is its own): ResNet20 v1
// training steps as the trainer runs them (batch 128, Adam, real CIFAR-10) and inference (batch 256). Prints one JSON line.
// Arguments: backend warmup trainSteps inferSteps [trainBatch inferBatch].
import * as tf from '@tensorflow/tfjs';
import { trainStep } from './train-step.js';
import { createAdam } from '../server/worker/backend/fused-adam.js';
import { initBackend } from '../server/worker/backend/index.js';
import { compileInference, type InferencePlan } from '../server/worker/backend/native/inference.js';
import { loadNative } from '../server/shared/backends/native-addon.js';
import { buildBackbone, buildClassifier } from '../server/worker/models/resnet.js';
import { readCifarImages } from './cifar-raw.js';

export interface WorkerResult {
  backend: string;
  threads: number;
  train_batch: number;
  infer_batch: number;
  /** e.g. the native backend's oneDNN version and ISA, the webgpu adapter. */
  detail?: string;
  train_img_s: number;
  infer_img_s: number;
  /** From the fastest single step: what an unloaded machine approaches when others share it. */
  train_img_s_best: number;
  infer_img_s_best: number;
  /** CPU seconds (all threads) per training step, less sensitive to other load than wall time. */
  train_cpu_s_per_step: number;
  peak_rss_mb: number;
  /** How inference ran: the layers model, or the native plan (fused convolutions). */
  infer_path: string;
  train_step_ms: number[];
  infer_step_ms: number[];
  loss_first: number;
  loss_last: number;
}

const [
  backendArg = 'wasm',
  warmupArg = '2',
  trainArg = '10',
  inferArg = '10',
  trainBatchArg = '128',
  inferBatchArg = '256',
] = process.argv.slice(2);
const TRAIN_BATCH = Number(trainBatchArg);
const INFER_BATCH = Number(inferBatchArg);
const warmup = Number(warmupArg);
const trainSteps = Number(trainArg);
const inferSteps = Number(inferArg);

const choice = await initBackend(backendArg);
const pool = readCifarImages(Math.max(INFER_BATCH, TRAIN_BATCH * 4));
const model = buildClassifier(buildBackbone({ depth: 20, inputShape: [32, 32, 3], seed: 1 }), 10, {
  seed: 2,
});
// The trainer's optimizer: Adam with the fused update on cpu/wasm/native.
const optimizer = createAdam(1e-3);

function trainBatch(step: number): { x: tf.Tensor4D; y: tf.Tensor2D } {
  const start = (step * TRAIN_BATCH) % (pool.labels.length - TRAIN_BATCH + 1);
  return tf.tidy(() => ({
    x: tf.tensor4d(pool.images.subarray(start * 3072, (start + TRAIN_BATCH) * 3072), [
      TRAIN_BATCH,
      32,
      32,
      3,
    ]),
    y: tf.oneHot(tf.tensor1d(pool.labels.subarray(start, start + TRAIN_BATCH), 'int32'), 10) as tf.Tensor2D,
  }));
}

const trainMs: number[] = [];
const losses: number[] = [];
let trainCpuUs = 0;
for (let step = 0; step < warmup + trainSteps; step++) {
  const { x, y } = trainBatch(step);
  const t0 = performance.now();
  const cpu0 = process.cpuUsage();
  const loss = trainStep(model, optimizer, x, y);
  // Reading the loss ends the step (and webgpu has no synchronous reads).
  losses.push((await loss.data())[0]!);
  if (step >= warmup) {
    trainMs.push(performance.now() - t0);
    const cpu = process.cpuUsage(cpu0);
    trainCpuUs += cpu.user + cpu.system;
  }
  tf.dispose([x, y, loss]);
}

const inferMs: number[] = [];
const xi = tf.tensor4d(pool.images.subarray(0, INFER_BATCH * 3072), [INFER_BATCH, 32, 32, 3]);
// What evaluation uses on 'native': the model compiled into one native plan (built from the
// weights as they are, so once per evaluation; its cost is counted in the first, warm-up step).
let plan: InferencePlan | undefined;
for (let step = 0; step < Math.max(1, Math.min(warmup, 2)) + inferSteps; step++) {
  const t0 = performance.now();
  if (step === 0 && choice.name === 'native' && process.env.PRETEXT_INFER_PLAN !== '0')
    plan = compileInference(model, loadNative());
  const out = plan ? plan.predict(xi) : (model.predict(xi, { batchSize: INFER_BATCH }) as tf.Tensor);
  // Not dataSync(): webgpu under Node reads back asynchronously only.
  await out.data();
  if (step >= Math.max(1, Math.min(warmup, 2))) inferMs.push(performance.now() - t0);
  out.dispose();
}
xi.dispose();
const inferPath = plan ? `native plan (${plan.convolutions} fused convolutions)` : 'layers model';
plan?.dispose();

const rate = (batch: number, ms: number[]) => (batch * ms.length * 1000) / ms.reduce((a, b) => a + b, 0);
const result: WorkerResult = {
  backend: choice.name,
  threads: choice.threads,
  train_batch: TRAIN_BATCH,
  infer_batch: INFER_BATCH,
  detail: choice.detail,
  train_img_s: rate(TRAIN_BATCH, trainMs),
  infer_img_s: rate(INFER_BATCH, inferMs),
  train_img_s_best: (TRAIN_BATCH * 1000) / Math.min(...trainMs),
  infer_img_s_best: (INFER_BATCH * 1000) / Math.min(...inferMs),
  train_cpu_s_per_step: trainCpuUs / 1e6 / trainMs.length,
  // maxRSS is in kilobytes.
  peak_rss_mb: process.resourceUsage().maxRSS / 1024,
  infer_path: inferPath,
  train_step_ms: trainMs.map(Math.round),
  infer_step_ms: inferMs.map(Math.round),
  loss_first: losses[0]!,
  loss_last: losses.at(-1)!,
};
console.log(JSON.stringify(result));
process.exit(0);
