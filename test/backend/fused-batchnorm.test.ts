// The fused training-mode batch norm against tfjs' own composition (moments + batchNorm) on the
// cpu backend: outputs, batch statistics and gradients, on the cpu and wasm kernels — alone, and
// with ReLU and a residual sum fused in (cpu, wasm and native).
import assert from 'node:assert/strict';
import { before, test } from 'node:test';
import * as tf from '@tensorflow/tfjs';
import {
  batchNormReluTrain,
  batchNormTrain,
  MOVING_AVERAGE,
  movingAverage,
  registerFusedBatchNorm,
} from '../../server/worker/backend/fused-batchnorm.js';
import { initBackend } from '../../server/worker/backend/index.js';
import { FAST_BACKENDS } from './native-available.js';

// 360 rows of 8 channels: the JS kernels' blocks of 256 rows, and a partial one.
const SHAPE = [3, 12, 10, 8];
const EPS = 1e-3;

before(async () => {
  registerFusedBatchNorm();
  await initBackend('wasm');
});

function data(seed: number, shape: number[], lo = -1, hi = 1): Float32Array {
  return tf.tidy(() => tf.randomUniform(shape, lo, hi, 'float32', seed).dataSync() as Float32Array);
}
// An offset mean makes the E[x²]−E[x]² variance formula earn its float64 sums.
const x0 = data(1, SHAPE, 2, 5);
const g0 = data(2, [8], 0.5, 1.5);
const b0 = data(3, [8]);
const r0 = data(4, SHAPE);
// The residual: centred on −β so that the sums before ReLU fall on both sides of 0.
const s0 = data(5, SHAPE, -1.5, 0.5);

/** [y, mean, variance, dx, dscale, doffset] of sum(bn(x)·r). */
function run(fused: boolean): Float32Array[] {
  return tf.tidy(() => {
    const x = tf.tensor(x0, SHAPE);
    const scale = tf.tensor(g0);
    const offset = tf.tensor(b0);
    const r = tf.tensor(r0, SHAPE);
    const bn = (a: tf.Tensor, s: tf.Tensor, o: tf.Tensor): tf.Tensor[] => {
      if (fused) return batchNormTrain(a, s, o, EPS);
      const { mean, variance } = tf.moments(a, [0, 1, 2]);
      return [tf.batchNorm(a, mean, variance, o, s, EPS), mean, variance];
    };
    const outs = bn(x, scale, offset);
    const f = (a: tf.Tensor, s: tf.Tensor, o: tf.Tensor) => tf.sum(tf.mul(bn(a, s, o)[0]!, r));
    const grads = tf.grads(f as (...t: tf.Tensor[]) => tf.Tensor)([x, scale, offset]);
    return [...outs, ...grads].map((t) => t.dataSync() as Float32Array);
  });
}

function assertClose(a: Float32Array, e: Float32Array, what: string, tol: number): void {
  let scale = 1e-6;
  for (const v of e) scale = Math.max(scale, Math.abs(v));
  for (let i = 0; i < e.length; i++) {
    assert.ok(Math.abs(a[i]! - e[i]!) <= tol * scale, `${what}[${i}]: ${a[i]} vs ${e[i]}`);
  }
}

const NAMES = ['y', 'mean', 'variance', 'dx', 'dscale', 'doffset'];

for (const backend of ['cpu', 'wasm']) {
  test(`fused batch norm on ${backend} equals moments + batchNorm on cpu`, async () => {
    await tf.setBackend('cpu');
    const expected = run(false);
    await tf.setBackend(backend);
    const actual = run(true);
    // dx is a small difference of large terms: float32 rounding shows at ~1e-4 of its range.
    for (let i = 0; i < NAMES.length; i++)
      assertClose(actual[i]!, expected[i]!, NAMES[i]!, i === 3 ? 1e-3 : 2e-5);
  });
}

test("the moving-average kernel gives the three ops' bits on cpu and wasm, and leaks nothing", async () => {
  const old = Float32Array.from({ length: 67 }, (_, i) => Math.sin(i) * 3);
  const value = Float32Array.from({ length: 67 }, (_, i) => Math.cos(i * 1.7) * 5);
  for (const backend of ['cpu', 'wasm']) {
    await tf.setBackend(backend);
    assert.ok(tf.getKernel(MOVING_AVERAGE, backend), backend);
    const tensors = tf.memory().numTensors;
    // 1 − momentum for Keras' default 0.99, and one far from it.
    for (const decay of [0.01, 0.37]) {
      const [fused, ops] = tf.tidy(() => {
        const [o, v] = [tf.tensor(old), tf.tensor(value)];
        return [movingAverage(o, v, decay).dataSync(), tf.sub(o, tf.mul(tf.sub(o, v), decay)).dataSync()];
      });
      assert.deepEqual(fused, ops, `${backend}, decay ${decay}`);
    }
    assert.equal(tf.memory().numTensors, tensors);
  }
});

test('fused batch norm leaves no tensors or backend buffers behind', async () => {
  await tf.setBackend('wasm');
  run(true);
  const tensors = tf.memory().numTensors;
  const buffers = tf.engine().backend.numDataIds();
  run(true);
  assert.equal(tf.memory().numTensors, tensors);
  assert.equal(tf.engine().backend.numDataIds(), buffers);
});

/**
 * [y, mean, variance, dx, dscale, doffset, dresidual] of sum(relu(bn(x) + res)·r), fused or as
 * tfjs' composition (moments, batchNorm, add, relu); without a residual, dresidual is left out.
 */
function runRelu(fused: boolean, withResidual: boolean): Float32Array[] {
  return tf.tidy(() => {
    const x = tf.tensor(x0, SHAPE);
    const scale = tf.tensor(g0);
    const offset = tf.tensor(b0);
    const res = tf.tensor(s0, SHAPE);
    const r = tf.tensor(r0, SHAPE);
    const block = (a: tf.Tensor, s: tf.Tensor, o: tf.Tensor, q?: tf.Tensor): tf.Tensor[] => {
      if (fused) return batchNormReluTrain(a, s, o, EPS, q);
      const { mean, variance } = tf.moments(a, [0, 1, 2]);
      const y = tf.batchNorm(a, mean, variance, o, s, EPS);
      return [tf.relu(q ? tf.add(y, q) : y), mean, variance];
    };
    const outs = block(x, scale, offset, withResidual ? res : undefined);
    const f = (a: tf.Tensor, s: tf.Tensor, o: tf.Tensor, q?: tf.Tensor) =>
      tf.sum(tf.mul(block(a, s, o, q)[0]!, r));
    const grads = tf.grads(f as (...t: tf.Tensor[]) => tf.Tensor)(
      withResidual ? [x, scale, offset, res] : [x, scale, offset],
    );
    return [...outs, ...grads].map((t) => t.dataSync() as Float32Array);
  });
}

// JS on cpu, pretext's SIMD module on wasm, C++ on native.
for (const backend of ['cpu', ...FAST_BACKENDS]) {
  for (const withResidual of [false, true]) {
    test(`batch norm + ${withResidual ? 'residual + ' : ''}ReLU fused on ${backend} equals tfjs' composition on cpu`, async () => {
      await initBackend('cpu');
      const expected = runRelu(false, withResidual);
      await initBackend(backend);
      const actual = runRelu(true, withResidual);
      assert.equal(actual.length, expected.length);
      const names = [...NAMES, 'dresidual'];
      const zeros = expected[0]!.filter((v) => v === 0).length;
      assert.ok(
        zeros > SHAPE.reduce((a, b) => a * b, 1) / 5,
        `ReLU clips part of the output (${zeros} zeros)`,
      );
      for (let i = 0; i < expected.length; i++)
        assertClose(actual[i]!, expected[i]!, names[i]!, i === 3 ? 1e-3 : 2e-5);
    });
  }
}
