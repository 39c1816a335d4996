// bf16 convolutions (PRETEXT_PRECISION / initBackend's precision): on a CPU with AVX512-BF16 or
// AMX, the native convolutions and their gradients against the cpu backend's float32 within
// bf16's precision; everywhere, bf16 is refused with a message that says why: on other
// backends, and on CPUs without the instructions.
import assert from 'node:assert/strict';
import { after, describe, test } from 'node:test';
import * as tf from '@tensorflow/tfjs';
import { initBackend } from '../../server/worker/backend/index.js';
import { loadNative } from '../../server/shared/backends/native-addon.js';
import { assertClose, seeded } from './compare.js';
import { SKIP_NATIVE } from './native-available.js';

const cpuHasBf16 = () => !SKIP_NATIVE && loadNative().info().bf16;

describe('bf16 precision', () => {
  after(async () => {
    if (!SKIP_NATIVE) await initBackend('native', { precision: 'fp32' });
  });

  test('refused on backends other than native, naming what it needs', async () => {
    await assert.rejects(initBackend('wasm', { precision: 'bf16' }), /bf16 needs the native backend/);
    await assert.rejects(initBackend('cpu', { precision: 'bf16' }), /bf16 needs the native backend/);
  });

  test('refused on a CPU without AVX512-BF16 or AMX', {
    skip: SKIP_NATIVE || (cpuHasBf16() && 'this CPU has bf16'),
  }, async () => {
    await assert.rejects(initBackend('native', { precision: 'bf16' }), /needs a CPU with AVX512-BF16 or AMX/);
    // The backend still starts in fp32 afterwards.
    const choice = await initBackend('native', { precision: 'fp32' });
    assert.equal(choice.precision, 'fp32');
    assert.equal(loadNative().info().precision, 'fp32');
  });

  test('conv forward and gradients within bf16 precision of the cpu backend', {
    skip: SKIP_NATIVE || (!cpuHasBf16() && 'no AVX512-BF16 or AMX on this CPU'),
  }, async () => {
    const shapes = [
      { x: [4, 16, 16, 8], w: [3, 3, 8, 16], stride: 1, pad: 'same' as const },
      { x: [4, 17, 17, 3], w: [3, 3, 3, 32], stride: 2, pad: 'valid' as const },
    ];
    for (const [i, s] of shapes.entries()) {
      const run = () =>
        tf.tidy(() => {
          const x = tf.tensor4d(seeded(s.x, 10 * i), s.x as [number, number, number, number]);
          const w = tf.tensor4d(seeded(s.w, 10 * i + 1), s.w as [number, number, number, number]);
          const y = tf.conv2d(x, w, s.stride, s.pad);
          const r = tf.tensor(seeded(y.shape, 10 * i + 2), y.shape);
          const f = (a: tf.Tensor4D, b: tf.Tensor4D) => tf.sum(tf.mul(tf.conv2d(a, b, s.stride, s.pad), r));
          const grads = tf.grads(f as (...a: tf.Tensor[]) => tf.Tensor)([x, w]);
          return [y, ...grads].map((t) => t.dataSync() as Float32Array);
        });
      await initBackend('cpu', { precision: 'fp32' });
      const expected = run();
      const choice = await initBackend('native', { precision: 'bf16' });
      assert.equal(choice.precision, 'bf16');
      const actual = run();
      // bf16 keeps 8 bits of mantissa: ~0.4% per input, sums of a few hundred products.
      for (const [j, name] of ['forward', 'dX', 'dW'].entries())
        assertClose(actual[j]!, expected[j]!, name, 2e-2);
    }
  });
});
