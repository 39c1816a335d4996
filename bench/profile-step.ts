// Where one ResNet20 training step (batch 128, Adam, real CIFAR-10) spends its time, by kernel:
// `npx tsx bench/profile-step.ts [backend=native]`. tf.profile times each kernel; an op wrapper
// (e.g. fusedConv2d__op) includes the kernel it runs, so the rows overlap. For oneDNN's own view
// (implementation, layouts, reorders) run it with ONEDNN_VERBOSE=1.
import * as tf from '@tensorflow/tfjs';
import { createAdam } from '../server/worker/backend/fused-adam.js';
import { initBackend } from '../server/worker/backend/index.js';
import { buildBackbone, buildClassifier } from '../server/worker/models/resnet.js';
import { readCifarImages } from './cifar-raw.js';
import { trainStep } from './train-step.js';

const backend = process.argv[2] ?? 'native';
await initBackend(backend);
const B = 128;
const pool = readCifarImages(B);
const model = buildClassifier(buildBackbone({ depth: 20, inputShape: [32, 32, 3], seed: 1 }), 10, {
  seed: 2,
});
const optimizer = createAdam(1e-3);
const x = tf.tensor4d(pool.images.subarray(0, B * 3072), [B, 32, 32, 3]);
const y = tf.oneHot(tf.tensor1d(pool.labels.subarray(0, B), 'int32'), 10) as tf.Tensor2D;
const step = () => {
  const loss = trainStep(model, optimizer, x, y);
  loss.dataSync();
  loss.dispose();
};
step();
step();
const t0 = performance.now();
step();
const wall = performance.now() - t0;
const profile = await tf.profile(() => {
  step();
});
const byKernel = new Map<string, { ms: number; calls: number }>();
for (const k of profile.kernels) {
  const e = byKernel.get(k.name) ?? { ms: 0, calls: 0 };
  e.ms += typeof k.kernelTimeMs === 'number' ? k.kernelTimeMs : 0;
  e.calls++;
  byKernel.set(k.name, e);
}
console.log(`${backend}: one step ${wall.toFixed(0)} ms, ${profile.kernels.length} kernels`);
for (const [name, e] of [...byKernel].sort((a, b) => b[1].ms - a[1].ms).slice(0, 20))
  console.log(
    `${name.padEnd(28)} ${e.ms.toFixed(1).padStart(8)} ms ${String(e.calls).padStart(5)}× ${((100 * e.ms) / wall).toFixed(1).padStart(5)} %`,
  );
process.exit(0);
