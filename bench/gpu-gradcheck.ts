// The GPU check's correctness step, in its own process: ResNet20 v1's loss and gradients on one
// batch of real CIFAR-10 images (same seeds), first on a CPU reference backend (native, else
// wasm), then on webgpu. Prints one JSON line: the losses and the worst per-variable relative
// RMS difference. Arguments: [reference = native] [batch = 8].
import * as tf from '@tensorflow/tfjs';
import { initBackend, probeBackends } from '../server/worker/backend/index.js';
import { buildBackbone, buildClassifier } from '../server/worker/models/resnet.js';
import { readCifarImages } from './cifar-raw.js';

const [refArg, batchArg = '8'] = process.argv.slice(2);
const batch = Number(batchArg);
const available = new Set(
  probeBackends()
    .filter((b) => b.available)
    .map((b) => b.name),
);
const reference = refArg ?? (available.has('native') ? 'native' : 'wasm');

// Everything is created on the reference backend: moving data off webgpu needs a synchronous
// read, which tfjs cannot do under Node, so the order is reference first, then webgpu.
const ref = await initBackend(reference);
const model = buildClassifier(buildBackbone({ depth: 20, inputShape: [32, 32, 3], seed: 1 }), 10, {
  seed: 2,
});
const { images, labels } = readCifarImages(batch);
const x = tf.tensor4d(images, [batch, 32, 32, 3]);
const y = tf.oneHot(tf.tensor1d(labels, 'int32'), 10);
const vars = model.trainableWeights.map((w) => (w as unknown as { val: tf.Variable }).val);

async function lossAndGrads(): Promise<{ loss: number; grads: Record<string, Float32Array> }> {
  const { value, grads } = tf.variableGrads(
    () => tf.losses.softmaxCrossEntropy(y, model.apply(x, { training: true }) as tf.Tensor) as tf.Scalar,
    vars,
  );
  const out: Record<string, Float32Array> = {};
  for (const [name, g] of Object.entries(grads)) out[name] = (await g.data()) as Float32Array;
  const loss = (await value.data())[0]!;
  tf.dispose([value, ...Object.values(grads)]);
  return { loss, grads: out };
}

const expected = await lossAndGrads();
const gpu = await initBackend('webgpu');
const actual = await lossAndGrads();

const TOLERANCE = 1e-2;
// Per variable: RMS difference against RMS size. A conv bias before a batch norm has a true
// gradient of 0 (both sides are rounding noise), hence the absolute floor in the verdict.
let worst = { variable: '', relative_rms: 0 };
let ok = true;
for (const [name, e] of Object.entries(expected.grads)) {
  const a = actual.grads[name]!;
  let num = 0;
  let den = 0;
  for (let i = 0; i < e.length; i++) {
    num += (a[i]! - e[i]!) ** 2;
    den += e[i]! ** 2;
  }
  const err = Math.sqrt(num / e.length);
  const rms = Math.sqrt(den / e.length);
  if (err > TOLERANCE * rms + 1e-6) ok = false;
  if (rms > 1e-5 && err / rms > worst.relative_rms) worst = { variable: name, relative_rms: err / rms };
}
console.log(
  JSON.stringify({
    reference: ref.name,
    reference_detail: ref.detail ?? '',
    adapter: gpu.detail ?? '',
    batch,
    loss_reference: expected.loss,
    loss_webgpu: actual.loss,
    variables: Object.keys(expected.grads).length,
    worst,
    tolerance: TOLERANCE,
    ok: ok && Math.abs(actual.loss - expected.loss) <= 1e-3 * Math.abs(expected.loss),
  }),
);
process.exit(0);
