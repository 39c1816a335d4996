// pretext's wasm kernels against tfjs' reference cpu kernels: convolution forward and both
// gradients over strides, kernel sizes and paddings, and the batch-norm gradient.
import assert from 'node:assert/strict';
import { before, describe, test } from 'node:test';
import * as tf from '@tensorflow/tfjs';
import { initBackend } from '../../server/worker/backend/index.js';
import { assertClose, seeded } from './compare.js';

interface ConvCase {
  n: number;
  h: number;
  w: number;
  cin: number;
  cout: number;
  k: number;
  stride: number;
  pad: 'same' | 'valid';
}

const cases: ConvCase[] = [];
for (const k of [1, 3]) {
  for (const stride of [1, 2]) {
    for (const pad of ['same', 'valid'] as const) {
      cases.push({ n: 2, h: 8, w: 8, cin: 3, cout: 5, k, stride, pad });
      cases.push({ n: 3, h: 7, w: 9, cin: 4, cout: 2, k, stride, pad });
    }
  }
}

/** Output, dX and dW of sum(conv(x, w) · r) on the current backend. */
function convAndGrads(c: ConvCase, x0: Float32Array, w0: Float32Array, r0: Float32Array): Float32Array[] {
  return tf.tidy(() => {
    const x = tf.tensor4d(x0, [c.n, c.h, c.w, c.cin]);
    const w = tf.tensor4d(w0, [c.k, c.k, c.cin, c.cout]);
    const y = tf.conv2d(x, w, c.stride, c.pad);
    const r = tf.tensor(r0, y.shape);
    const f = (a: tf.Tensor4D, b: tf.Tensor4D) => tf.sum(tf.mul(tf.conv2d(a, b, c.stride, c.pad), r));
    const [dx, dw] = tf.grads(f as (...args: tf.Tensor[]) => tf.Tensor)([x, w]);
    return [y, dx!, dw!].map((t) => t.dataSync() as Float32Array);
  });
}

describe('wasm kernels match the cpu backend', () => {
  before(async () => {
    await initBackend('wasm');
  });

  for (const c of cases) {
    const label = `conv ${c.k}x${c.k} stride ${c.stride} ${c.pad} on ${c.h}x${c.w}, ${c.cin}->${c.cout}`;
    test(label, async () => {
      const outH = c.pad === 'same' ? Math.ceil(c.h / c.stride) : Math.ceil((c.h - c.k + 1) / c.stride);
      const outW = c.pad === 'same' ? Math.ceil(c.w / c.stride) : Math.ceil((c.w - c.k + 1) / c.stride);
      const x0 = seeded([c.n, c.h, c.w, c.cin], 1);
      const w0 = seeded([c.k, c.k, c.cin, c.cout], 2);
      const r0 = seeded([c.n, outH, outW, c.cout], 3);
      await tf.setBackend('cpu');
      const expected = convAndGrads(c, x0, w0, r0);
      await tf.setBackend('wasm');
      const actual = convAndGrads(c, x0, w0, r0);
      assertClose(actual[0]!, expected[0]!, 'forward');
      assertClose(actual[1]!, expected[1]!, 'dX');
      assertClose(actual[2]!, expected[2]!, 'dW');
    });
  }

  test('ResNet-sized conv gradients (32x32, 16->32 stride 2, batch 4)', async () => {
    const c: ConvCase = { n: 4, h: 32, w: 32, cin: 16, cout: 32, k: 3, stride: 2, pad: 'same' };
    const x0 = seeded([c.n, c.h, c.w, c.cin], 4);
    const w0 = seeded([c.k, c.k, c.cin, c.cout], 5);
    const r0 = seeded([c.n, 16, 16, c.cout], 6);
    await tf.setBackend('cpu');
    const expected = convAndGrads(c, x0, w0, r0);
    await tf.setBackend('wasm');
    const actual = convAndGrads(c, x0, w0, r0);
    for (let i = 0; i < 3; i++) assertClose(actual[i]!, expected[i]!, ['forward', 'dX', 'dW'][i]!);
  });

  test('batch-norm gradients equal those of the same formula written with elementary ops', async () => {
    const shape = [4, 5, 5, 6];
    const x0 = seeded(shape, 7);
    const r0 = seeded(shape, 8);
    const p = (seed: number, lo: number) =>
      tf.tidy(() => tf.randomUniform([6], lo, 1.5, 'float32', seed).dataSync());
    const [m0, v0, s0, o0] = [p(9, -0.5), p(10, 0.2), p(11, 0.5), p(12, -0.5)];
    const grads = (fused: boolean) =>
      tf.tidy(() => {
        const args = [tf.tensor(x0, shape), tf.tensor(m0), tf.tensor(v0), tf.tensor(o0), tf.tensor(s0)];
        const r = tf.tensor(r0, shape);
        const f = (x: tf.Tensor, m: tf.Tensor, v: tf.Tensor, o: tf.Tensor, s: tf.Tensor) => {
          const y = fused
            ? tf.batchNorm(x, m, v, o, s, 1e-3)
            : tf.add(tf.mul(tf.mul(tf.sub(x, m), tf.rsqrt(tf.add(v, 1e-3))), s), o);
          return tf.sum(tf.mul(y, r));
        };
        return tf
          .grads(f as (...a: tf.Tensor[]) => tf.Tensor)(args)
          .map((g) => g.dataSync() as Float32Array);
      });
    await tf.setBackend('cpu');
    const expected = grads(false);
    for (const backend of ['cpu', 'wasm']) {
      await tf.setBackend(backend);
      const actual = grads(true);
      for (let i = 0; i < 5; i++)
        assertClose(
          actual[i]!,
          expected[i]!,
          `${backend} ${['x', 'mean', 'variance', 'offset', 'scale'][i]}`,
        );
    }
  });

  test('batch norm with given statistics (inference) equals the cpu kernel', async () => {
    const shape = [3, 4, 5, 6];
    const x0 = seeded(shape, 13);
    const vec = (seed: number, lo: number) =>
      tf.tidy(() => tf.randomUniform([6], lo, 1.5, 'float32', seed).dataSync());
    const params = [vec(14, -0.5), vec(15, 0.2), vec(16, -0.5), vec(17, 0.5)];
    const infer = (withScale: boolean) =>
      tf.tidy(() => {
        const [m, v, o, s] = params.map((p) => tf.tensor1d(p));
        return tf
          .batchNorm(tf.tensor(x0, shape), m!, v!, o!, withScale ? s! : undefined, 1e-3)
          .dataSync() as Float32Array;
      });
    for (const withScale of [true, false]) {
      await tf.setBackend('cpu');
      const expected = infer(withScale);
      await tf.setBackend('wasm');
      assertClose(infer(withScale), expected, `batchNorm (scale: ${withScale})`, 1e-5);
    }
  });

  test('sums over all axes but the last (conv bias gradients) equal the cpu kernel', async () => {
    const x0 = seeded([3, 5, 4, 7], 18);
    // 360 rows: the JS kernel's blocks of 256 rows, and a partial one.
    const x1 = seeded([4, 9, 10, 6], 19);
    const sums = () =>
      tf.tidy(() => {
        const x = tf.tensor(x0, [3, 5, 4, 7]);
        const big = tf.tensor(x1, [4, 9, 10, 6]);
        return [
          tf.sum(x, [0, 1, 2]),
          tf.sum(x, [2, 0, 1], true),
          tf.sum(x, [0, 1]),
          tf.sum(x),
          tf.sum(big, [0, 1, 2]),
        ].map((t) => t.dataSync() as Float32Array);
      });
    await tf.setBackend('cpu');
    const expected = sums();
    await tf.setBackend('wasm');
    const actual = sums();
    for (let i = 0; i < expected.length; i++) assertClose(actual[i]!, expected[i]!, `sum ${i}`, 1e-5);
  });

  test('no tensors leak from the kernels', async () => {
    await tf.setBackend('wasm');
    const c = cases[5]!;
    const x0 = seeded([c.n, c.h, c.w, c.cin], 1);
    const w0 = seeded([c.k, c.k, c.cin, c.cout], 2);
    const outH = Math.ceil(c.h / c.stride);
    const r0 = seeded([c.n, outH, Math.ceil(c.w / c.stride), c.cout], 3);
    convAndGrads(c, x0, w0, r0);
    const before = tf.memory();
    // Intermediates inside a kernel never become tensors: count the backend's own buffers too.
    const buffersBefore = tf.engine().backend.numDataIds();
    convAndGrads(c, x0, w0, r0);
    const after = tf.memory();
    assert.equal(after.numTensors, before.numTensors);
    assert.equal(after.numBytes, before.numBytes);
    assert.equal(tf.engine().backend.numDataIds(), buffersBefore);
  });
});
