// Does training on the Winograd kernels learn what oneDNN's direct kernels learn? Trains ResNet20
// (native, Adam, batch 128) on the first TRAIN images of CIFAR-10's data_batch_1 twice from the
// same seed, Winograd on then off, and prints each run's loss and accuracy on the next 1,000
// images: `npx tsx bench/winograd-parity.ts [epochs=2] [train=5000]`. The two runs part at the
// first step (float rounding) and then follow their own paths, so expect the spread of two
// seeds, not equal figures.
import * as tf from '@tensorflow/tfjs';
import { loadNative } from '../server/shared/backends/native-addon.js';
import { createAdam } from '../server/worker/backend/fused-adam.js';
import { initBackend } from '../server/worker/backend/index.js';
import { buildBackbone, buildClassifier } from '../server/worker/models/resnet.js';
import { readCifarImages } from './cifar-raw.js';
import { trainStep } from './train-step.js';

const epochs = Number(process.argv[2] ?? 2);
const train = Number(process.argv[3] ?? 5000);
const HELD_OUT = 1000;
const B = 128;

await initBackend('native');
const addon = loadNative();
if (!addon.setWinograd || !addon.info().winograd)
  throw new Error('this build or CPU has no Winograd kernels');
const { images, labels } = readCifarImages(train + HELD_OUT);

function trainAndScore(winograd: boolean): { loss: number; accuracy: number; seconds: number } {
  addon.setWinograd!(winograd);
  const model = buildClassifier(buildBackbone({ depth: 20, inputShape: [32, 32, 3], seed: 1 }), 10, {
    seed: 2,
  });
  const optimizer = createAdam(1e-3);
  const t0 = performance.now();
  let loss = Number.NaN;
  for (let e = 0; e < epochs; e++) {
    for (let start = 0; start + B <= train; start += B) {
      const l = tf.tidy(() => {
        const x = tf.tensor4d(images.subarray(start * 3072, (start + B) * 3072), [B, 32, 32, 3]);
        const y = tf.oneHot(tf.tensor1d(labels.subarray(start, start + B), 'int32'), 10);
        return trainStep(model, optimizer, x, y);
      });
      loss = l.dataSync()[0]!;
      l.dispose();
    }
  }
  const seconds = (performance.now() - t0) / 1000;
  const correct = tf.tidy(() => {
    const x = tf.tensor4d(images.subarray(train * 3072), [HELD_OUT, 32, 32, 3]);
    const predicted = (model.predict(x, { batchSize: 250 }) as tf.Tensor).argMax(-1);
    return predicted
      .equal(tf.tensor1d(labels.subarray(train), 'int32'))
      .sum()
      .dataSync()[0]!;
  });
  model.dispose();
  optimizer.dispose();
  return { loss, accuracy: correct / HELD_OUT, seconds };
}

for (const winograd of [true, false]) {
  const r = trainAndScore(winograd);
  console.log(
    `${winograd ? 'Winograd' : 'direct  '}: last training loss ${r.loss.toFixed(4)}, held-out accuracy ${(100 * r.accuracy).toFixed(1)} % (${HELD_OUT} images), ${r.seconds.toFixed(0)} s`,
  );
}
process.exit(0);
