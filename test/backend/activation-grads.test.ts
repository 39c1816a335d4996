// pretext's ReLU gradient (cpu, wasm, native), tiling AvgPoolGrad (wasm, native) and native ReLU
// and Add against tfjs' own formulas on the reference cpu kernels; pools that do not tile and
// broadcasting adds fall back.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import * as tf from '@tensorflow/tfjs';
import { initBackend } from '../../server/worker/backend/index.js';
import { RELU_GRAD } from '../../server/worker/backend/wasm-kernels/activation-grads.js';
import { assertClose, seeded } from './compare.js';
import { FAST_BACKENDS } from './native-available.js';

const SHAPE = [3, 8, 8, 5];

function reluGrads(): Float32Array[] {
  return tf.tidy(() => {
    const x = tf.tensor(seeded(SHAPE, 1), SHAPE);
    const r = tf.tensor(seeded(SHAPE, 2), SHAPE);
    const [dx] = tf.grads((a: tf.Tensor) => tf.sum(tf.mul(tf.relu(a), r)))([x]);
    // With zeros in x (ReLU's kink: gradient 0, as tfjs' step(0) = 0).
    const z = tf.relu(tf.tensor(seeded(SHAPE, 3), SHAPE));
    const [dz] = tf.grads((a: tf.Tensor) => tf.sum(tf.mul(tf.relu(a), r)))([z]);
    return [dx!, dz!].map((t) => t.dataSync() as Float32Array);
  });
}

/** Stock tfjs' ReLU gradient, dy · step(x), written out. */
function stockReluGrads(): Float32Array[] {
  return tf.tidy(() => {
    const r = tf.tensor(seeded(SHAPE, 2), SHAPE);
    const x = tf.tensor(seeded(SHAPE, 1), SHAPE);
    const z = tf.relu(tf.tensor(seeded(SHAPE, 3), SHAPE));
    return [x, z].map((a) => tf.mul(r, tf.cast(tf.step(a), 'float32')).dataSync() as Float32Array);
  });
}

const pools: Array<{ filter: number; stride: number; pad: 'valid' | 'same'; shape: number[] }> = [
  { filter: 8, stride: 8, pad: 'valid', shape: [2, 8, 8, 6] }, // global (ResNet's)
  { filter: 2, stride: 2, pad: 'valid', shape: [2, 6, 4, 3] }, // tiling
  { filter: 3, stride: 2, pad: 'same', shape: [2, 7, 7, 3] }, // overlapping: stock kernel
  { filter: 2, stride: 2, pad: 'valid', shape: [1, 5, 5, 2] }, // does not tile: stock kernel
];

function poolGrads(): Float32Array[] {
  return pools.map((p, i) =>
    tf.tidy(() => {
      const x = tf.tensor4d(seeded(p.shape, 10 + i), p.shape as [number, number, number, number]);
      const f = (a: tf.Tensor4D) => {
        const y = tf.avgPool(a, p.filter, p.stride, p.pad);
        return tf.sum(tf.mul(y, tf.tensor(seeded(y.shape, 20 + i), y.shape)));
      };
      return tf
        .grads(f as (a: tf.Tensor) => tf.Tensor)([x])[0]!
        .dataSync() as Float32Array;
    }),
  );
}

async function assertReluKernelUsed(): Promise<void> {
  const x = tf.ones([2, 3]);
  const info = await tf.profile(() => tf.grads((a: tf.Tensor) => tf.sum(tf.relu(a)))([x])[0]!);
  assert.ok(
    info.kernels.some((k) => k.name === RELU_GRAD),
    `ReLU's gradient runs ${RELU_GRAD} on ${tf.getBackend()}`,
  );
  tf.dispose(x);
}

describe('activation gradients match tfjs on the cpu backend', () => {
  test('cpu: ReLU gradient equals dy · step(x)', async () => {
    await initBackend('cpu');
    const expected = stockReluGrads();
    const actual = reluGrads();
    await assertReluKernelUsed();
    for (let i = 0; i < 2; i++) assertClose(actual[i]!, expected[i]!, `relu ${i}`, 0);
  });

  for (const backend of FAST_BACKENDS) {
    test(`${backend}: ReLU and average-pool gradients equal the cpu backend's`, async () => {
      await initBackend('cpu');
      const relu = stockReluGrads();
      const pool = poolGrads();
      await initBackend(backend);
      const actualRelu = reluGrads();
      await assertReluKernelUsed();
      for (let i = 0; i < 2; i++) assertClose(actualRelu[i]!, relu[i]!, `relu ${i}`, 0);
      const actualPool = poolGrads();
      for (let i = 0; i < pools.length; i++) assertClose(actualPool[i]!, pool[i]!, `pool ${i}`, 1e-6);
    });
  }

  for (const backend of FAST_BACKENDS) {
    test(`${backend}: ReLU gradient of a ResNet-sized activation (threaded blocks and a tail)`, async () => {
      // 9·32·32·16 = 147,456 elements: more than two 64 Ki blocks, and not a multiple of one.
      const shape = [9, 32, 32, 16];
      const grads = () =>
        tf.tidy(() => {
          const x = tf.tensor(seeded(shape, 5), shape);
          const r = tf.tensor(seeded(shape, 6), shape);
          return tf
            .grads((a: tf.Tensor) => tf.sum(tf.mul(tf.relu(a), r)))([x])[0]!
            .dataSync() as Float32Array;
        });
      await initBackend('cpu');
      const expected = grads();
      await initBackend(backend);
      assertClose(grads(), expected, 'relu', 0);
    });
  }

  for (const backend of FAST_BACKENDS) {
    test(`${backend}: ReLU and Add of a ResNet-sized activation equal the cpu backend's, NaN and −0 too`, async () => {
      const shape = [9, 32, 32, 16];
      const values = () => {
        const v = seeded(shape, 7);
        v[3] = Number.NaN;
        v[4] = -0;
        v[5] = 0;
        return v;
      };
      const run = () =>
        tf.tidy(() => {
          const x = tf.tensor(values(), shape);
          const r = tf.tensor(seeded(shape, 8), shape);
          const bias = tf.tensor1d(seeded([16], 9));
          return [tf.relu(x), tf.add(x, r), tf.add(x, bias)].map((t) => t.dataSync() as Float32Array);
        });
      await initBackend('cpu');
      const expected = run();
      await initBackend(backend);
      const actual = run();
      for (let i = 0; i < expected.length; i++) {
        // Bit for bit: NaN stays NaN, −0 stays −0 (Object.is per element).
        const bad = expected[i]!.findIndex((e, j) => !Object.is(e, actual[i]![j]!));
        assert.equal(bad, -1, `output ${i} at ${bad}: ${actual[i]![bad]} vs ${expected[i]![bad]}`);
      }
    });
  }
});
