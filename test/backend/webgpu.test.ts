// The webgpu backend (tfjs-backend-webgpu on Dawn) against tfjs' own kernels and the cpu
// backend: pretext's fused WGSL kernels, whole-network gradients, a short learning run, flat
// memory, and the dispatch count of a ResNet20 step. Without a GPU this runs on lavapipe
// (scripts/fetch-lavapipe.sh; CI fetches it), so sizes stay small: software Vulkan compiles
// each shader with LLVM (Mesa caches them on disk) and runs ~100× slower than a GPU.
//
// tfjs cannot read webgpu data synchronously under Node, and moving data off the webgpu backend
// needs such a read: everything compared with cpu is created on cpu first, and read with data().
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { before, describe, test } from 'node:test';
import * as tf from '@tensorflow/tfjs';
import { ADAM_UPDATE, createAdam } from '../../server/worker/backend/fused-adam.js';
import {
  BN_TRAIN,
  batchNormTrain,
  registerFusedBatchNorm,
} from '../../server/worker/backend/fused-batchnorm.js';
import { initBackend } from '../../server/worker/backend/index.js';
import { loadNative } from '../../server/shared/backends/native-addon.js';
import {
  registerWebgpuKernels,
  unregisterWebgpuKernels,
} from '../../server/worker/backend/webgpu-kernels/index.js';
import { SupportQueue } from '../../server/worker/methods/contrastive/queue.js';
import { buildBackbone, buildClassifier } from '../../server/worker/models/resnet.js';
import { readCifarSlice } from './cifar-slice.js';
import { FAST_BACKENDS } from './native-available.js';
import { ADAPTER, SKIP_WEBGPU } from './webgpu-available.js';

const values = async (ts: tf.Tensor[]) => Promise.all(ts.map(async (t) => (await t.data()) as Float32Array));

/** Whole tensors compared relatively (summation order differs between backends). */
function assertRmsClose(actual: Float32Array, expected: Float32Array, what: string, tol: number): void {
  assert.equal(actual.length, expected.length, `${what}: length`);
  let num = 0;
  let den = 0;
  for (let i = 0; i < expected.length; i++) {
    num += (actual[i]! - expected[i]!) ** 2;
    den += expected[i]! ** 2;
  }
  const err = Math.sqrt(num / expected.length);
  const rms = Math.sqrt(den / expected.length);
  // An absolute floor: a conv bias before a batch norm has a true gradient of 0 (rounding noise).
  assert.ok(err <= tol * rms + 1e-6, `${what}: rms error ${err} vs rms ${rms}`);
}

/** GPU dispatches (compute passes recorded by tfjs' webgpu backend) while `f` runs. */
async function countDispatches(f: () => Promise<void>): Promise<number> {
  const backend = tf.engine().backend as unknown as { recordAndSubmit(...args: unknown[]): void };
  const original = backend.recordAndSubmit;
  let count = 0;
  backend.recordAndSubmit = function (this: unknown, ...args: unknown[]) {
    count++;
    return original.apply(this, args);
  };
  try {
    await f();
  } finally {
    backend.recordAndSubmit = original;
  }
  return count;
}

function classifier(depth: number, seed: number): tf.LayersModel {
  return buildClassifier(buildBackbone({ depth, inputShape: [32, 32, 3], seed }), 10, { seed: seed + 1 });
}

function cifarBatch(count: number): { x: tf.Tensor4D; y: tf.Tensor2D } {
  const { images, labels } = readCifarSlice(count);
  return {
    x: tf.tensor4d(images, [count, 32, 32, 3]),
    y: tf.oneHot(tf.tensor1d(labels, 'int32'), 10) as tf.Tensor2D,
  };
}

const lossOf = (model: tf.LayersModel, x: tf.Tensor, y: tf.Tensor) => () =>
  tf.losses.softmaxCrossEntropy(y, model.apply(x, { training: true }) as tf.Tensor) as tf.Scalar;

/** Gradients of the loss for every trainable weight, by name. */
async function gradients(model: tf.LayersModel, x: tf.Tensor, y: tf.Tensor) {
  const vars = model.trainableWeights.map((w) => (w as unknown as { val: tf.Variable }).val);
  const { value, grads } = tf.variableGrads(lossOf(model, x, y), vars);
  const names = Object.keys(grads);
  const read = await values(names.map((n) => grads[n]!));
  tf.dispose([value, ...Object.values(grads)]);
  return Object.fromEntries(names.map((n, i) => [n, read[i]!]));
}

describe(`webgpu backend on ${ADAPTER || 'no adapter'}`, { skip: SKIP_WEBGPU }, () => {
  before(async () => {
    await initBackend('webgpu');
  });

  test('starts on the adapter and records it; a software adapter needs PRETEXT_WEBGPU_ALLOW_FALLBACK=1', async () => {
    const choice = await initBackend('webgpu');
    assert.equal(choice.name, 'webgpu');
    assert.equal(choice.detail, ADAPTER);
    assert.equal(tf.getKernel(BN_TRAIN, 'webgpu') !== undefined, true);
    if (!ADAPTER.endsWith('software)')) return;
    const script =
      "import { initBackend } from './server/worker/backend/index.ts'; await initBackend('webgpu');";
    const env = { ...process.env };
    delete env.PRETEXT_WEBGPU_ALLOW_FALLBACK;
    const r = spawnSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], {
      env,
      encoding: 'utf8',
      timeout: 60_000,
    });
    assert.notEqual(r.status, 0);
    assert.match(r.stderr, /software one .*PRETEXT_WEBGPU_ALLOW_FALLBACK=1/);
  });

  test('fused batch norm equals tfjs moments + batchNorm, forward and backward', async () => {
    registerFusedBatchNorm();
    const shape = [3, 5, 5, 8];
    // An offset mean, so that a one-pass variance would lose digits.
    const x = tf.randomUniform(shape, 2, 5, 'float32', 1);
    const scale = tf.randomUniform([8], 0.5, 1.5, 'float32', 2);
    const offset = tf.randomUniform([8], -1, 1, 'float32', 3);
    const r = tf.randomUniform(shape, -1, 1, 'float32', 4);
    const run = (fused: boolean) =>
      tf.tidy(() => {
        const bn = (a: tf.Tensor, s: tf.Tensor, o: tf.Tensor): tf.Tensor[] => {
          if (fused) return batchNormTrain(a, s, o, 1e-3);
          const { mean, variance } = tf.moments(a, [0, 1, 2]);
          return [tf.batchNorm(a, mean, variance, o, s, 1e-3), mean, variance];
        };
        const f = (a: tf.Tensor, s: tf.Tensor, o: tf.Tensor) => tf.sum(tf.mul(bn(a, s, o)[0]!, r));
        return [
          ...bn(x, scale, offset),
          ...tf.grads(f as (...t: tf.Tensor[]) => tf.Tensor)([x, scale, offset]),
        ];
      });
    const fusedOut = run(true);
    const stockOut = run(false);
    const [fused, stock] = [await values(fusedOut), await values(stockOut)];
    for (const [i, what] of ['y', 'mean', 'variance', 'dx', 'dscale', 'doffset'].entries())
      assertRmsClose(fused[i]!, stock[i]!, what, 1e-5);
    tf.dispose([x, scale, offset, r, ...fusedOut, ...stockOut]);
  });

  test('fused Adam equals tfjs Adam after 5 steps (weights and moments)', async () => {
    const train = async (optimizer: tf.Optimizer, tag: string) => {
      const w = tf.variable(tf.randomUniform([6, 3], -1, 1, 'float32', 10), true, `w-${tag}`);
      const x = tf.randomUniform([8, 6], -1, 1, 'float32', 11);
      const y = tf.randomUniform([8, 3], -1, 1, 'float32', 12);
      for (let step = 0; step < 5; step++)
        optimizer.minimize(() => tf.mean(tf.square(tf.sub(tf.matMul(x, w), y))) as tf.Scalar);
      const slots = await optimizer.getWeights();
      const out = await values([w, ...slots.slice(1).map((s) => s.tensor)]);
      tf.dispose([w, x, y]);
      optimizer.dispose();
      return out;
    };
    const stock = await train(tf.train.adam(0.05), 'stock');
    const fused = await train(createAdam(0.05), 'fused');
    assert.equal(fused.length, stock.length);
    for (const [i, s] of stock.entries()) assertRmsClose(fused[i]!, s, `tensor ${i}`, 1e-5);
  });

  test("NNCLR's support queue works without synchronous reads: neighbours under a tape, snapshot", async () => {
    await tf.setBackend('webgpu');
    const q = new SupportQueue(4, 2);
    const rows = tf.tensor2d([1, 0, 0, 1, -1, 0, 0, -1], [4, 2]);
    q.push(rows);
    const z = tf.variable(tf.tensor2d([10, 1, 0.1, -3], [2, 2]));
    const before = tf.memory().numTensors;
    const { value, grads } = tf.variableGrads(() => tf.sum(tf.mul(q.nearest(z), z)) as tf.Scalar, [z]);
    const nn = q.nearest(z);
    assert.deepEqual(Array.from(await nn.data()), [1, 0, 0, -1]);
    // d/dz Σ nn·z = nn: the neighbours are constants (stop-gradient).
    assert.deepEqual(Array.from(await grads[z.name]!.data()), [1, 0, 0, -1]);
    assert.deepEqual(Array.from(await q.snapshot()), [1, 0, 0, 1, -1, 0, 0, -1]);
    tf.dispose([nn, value, ...Object.values(grads)]);
    assert.equal(tf.memory().numTensors, before, 'tensors left behind');
    q.dispose();
    tf.dispose([rows, z]);
  });

  test('small conv net: gradients equal those on cpu', async () => {
    await tf.setBackend('cpu');
    const model = tf.sequential({
      layers: [
        tf.layers.conv2d({
          inputShape: [8, 8, 3],
          filters: 4,
          kernelSize: 3,
          activation: 'relu',
          seed: 1,
        } as never),
        tf.layers.flatten(),
        tf.layers.dense({ units: 5, kernelInitializer: tf.initializers.glorotUniform({ seed: 2 }) }),
      ],
    });
    const x = tf.randomUniform([4, 8, 8, 3], 0, 1, 'float32', 3);
    const y = tf.oneHot(tf.tensor1d([0, 1, 2, 3], 'int32'), 5);
    const expected = await gradients(model, x, y);
    await tf.setBackend('webgpu');
    const actual = await gradients(model, x, y);
    for (const [name, e] of Object.entries(expected)) assertRmsClose(actual[name]!, e, name, 1e-4);
    tf.dispose([x, y]);
  });

  test("ResNet8 (ResNet20's block types, fused batch norm): gradients equal those on cpu", async () => {
    await tf.setBackend('cpu');
    const model = classifier(8, 1);
    const { x, y } = cifarBatch(2); // tfjs' cpu convolution gradients are slow
    const expected = await gradients(model, x, y);
    await tf.setBackend('webgpu');
    const actual = await gradients(model, x, y);
    assert.deepEqual(Object.keys(actual).sort(), Object.keys(expected).sort());
    // Batch norm over a batch of 2 amplifies summation-order differences (as on wasm).
    for (const [name, e] of Object.entries(expected)) assertRmsClose(actual[name]!, e, name, 1e-2);
    tf.dispose([x, y]);
  });

  test(`ResNet20: loss and gradients equal those on ${FAST_BACKENDS.at(-1)}`, async () => {
    const reference = FAST_BACKENDS.at(-1)!; // native where built, else wasm
    await initBackend(reference);
    // Native's reference is oneDNN's direct convolutions. Winograd's are as exact (1e-6 of the
    // scale), but this net's stage-1 gradients at batch 4 move 5e-3 when its images move 1e-6
    // (measured with the direct kernels): somewhere a ReLU flips, so only a reference computing
    // like lavapipe does shows lavapipe's own error.
    const winograd = reference === 'native' ? loadNative().setWinograd?.(false) : undefined;
    const model = classifier(20, 11);
    const { x, y } = cifarBatch(4);
    const lossOn = async () => {
      const l = tf.tidy(lossOf(model, x, y));
      const v = (await l.data())[0]!;
      l.dispose();
      return v;
    };
    const expectedLoss = await lossOn();
    const expected = await gradients(model, x, y);
    if (winograd !== undefined) loadNative().setWinograd?.(winograd);
    await initBackend('webgpu');
    // Measured on lavapipe against native: the same loss to the last bit, gradients within 1e-5.
    assert.ok(Math.abs((await lossOn()) - expectedLoss) <= 1e-5 * expectedLoss);
    const actual = await gradients(model, x, y);
    for (const [name, e] of Object.entries(expected)) assertRmsClose(actual[name]!, e, name, 1e-3);
    tf.dispose([x, y]);
    model.dispose();
  });

  test('a ResNet20 training step dispatches at least 3x fewer kernels with the fused ones, same loss', async () => {
    await tf.setBackend('webgpu');
    const { x, y } = cifarBatch(2);
    const step = async (fused: boolean) => {
      if (fused) registerWebgpuKernels();
      else unregisterWebgpuKernels();
      const model = classifier(20, 7);
      const optimizer = createAdam(1e-3); // tfjs' own Adam where the kernel is absent
      const losses: number[] = [];
      let dispatches = 0;
      for (let i = 0; i < 2; i++) {
        // The first step creates Adam's slots: count the second.
        dispatches = await countDispatches(async () => {
          const loss = optimizer.minimize(lossOf(model, x, y), true)!;
          losses.push((await loss.data())[0]!);
          loss.dispose();
        });
      }
      optimizer.dispose();
      model.dispose();
      return { dispatches, losses };
    };
    try {
      const stock = await step(false);
      const fused = await step(true);
      // Measured on lavapipe: 2,299 vs 620 dispatches (3.7x).
      assert.ok(
        stock.dispatches >= 3 * fused.dispatches,
        `${stock.dispatches} dispatches with tfjs' kernels vs ${fused.dispatches} fused`,
      );
      for (let i = 0; i < 2; i++)
        assert.ok(
          Math.abs(fused.losses[i]! - stock.losses[i]!) < 1e-4,
          `losses ${stock.losses} vs ${fused.losses}`,
        );
    } finally {
      registerWebgpuKernels();
      tf.dispose([x, y]);
    }
  });

  test('ResNet8 fits a batch of real CIFAR-10 images; tensors and GPU bytes stay flat', async () => {
    await tf.setBackend('webgpu');
    assert.ok(tf.getKernel(ADAM_UPDATE, 'webgpu'), 'the fused Adam is registered');
    const model = classifier(8, 3);
    const { x, y } = cifarBatch(8);
    const optimizer = createAdam(5e-3);
    const losses: number[] = [];
    const tensors: number[] = [];
    const gpuBytes: number[] = [];
    for (let step = 0; step < 12; step++) {
      const loss = optimizer.minimize(lossOf(model, x, y), true)!;
      losses.push((await loss.data())[0]!);
      loss.dispose();
      const m = tf.memory() as tf.MemoryInfo & { numBytesInGPU: number };
      tensors.push(m.numTensors);
      gpuBytes.push(m.numBytesInGPU);
    }
    // The first step creates the optimizer's slots; from then on nothing accumulates.
    assert.equal(tensors.at(-1), tensors[1], `tensors after each step: ${tensors.join(', ')}`);
    assert.equal(gpuBytes.at(-1), gpuBytes[1], `GPU bytes in use after each step: ${gpuBytes.join(', ')}`);
    // Measured on lavapipe: 2.22 -> 1.47 (the classifier's softmax output bounds the loss below).
    assert.ok(losses.at(-1)! < 0.75 * losses[0]!, `loss ${losses[0]} -> ${losses.at(-1)}`);
    tf.dispose([x, y]);
    optimizer.dispose();
    model.dispose();
  });
});
