// The filter gradient through a ReLU from dy and the ReLU's output (native): the same bits as
// the plain kernel on the masked gradient, on each implementation behind it, and a first layer
// (no input gradient) that never allocates the masked gradient.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import * as tf from '@tensorflow/tfjs';
import {
  CONV_FILTER_BIAS_GRAD,
  CONV_FILTER_BIAS_RELU_GRAD,
  conv2dBiasTrain,
} from '../../server/worker/backend/conv-relu-train.js';
import { initBackend } from '../../server/worker/backend/index.js';
import { reluGradFromOutput } from '../../server/worker/backend/wasm-kernels/activation-grads.js';
import { seeded } from './compare.js';
import { SKIP_NATIVE } from './native-available.js';

interface Case {
  what: string;
  x: [number, number, number, number];
  k: number;
  cout: number;
  stride: number;
}

const CASES: Case[] = [
  { what: 'a first layer (few-channel kernels)', x: [2, 9, 9, 3], k: 3, cout: 16, stride: 1 },
  { what: 'Winograd', x: [2, 8, 8, 16], k: 3, cout: 16, stride: 1 },
  { what: 'oneDNN', x: [2, 8, 8, 16], k: 3, cout: 32, stride: 2 },
];

const bits = (t: tf.Tensor) => Buffer.from((t.dataSync() as Float32Array).buffer);

describe('the masked filter gradient', { skip: SKIP_NATIVE }, () => {
  before(async () => {
    await initBackend('native');
  });

  for (const c of CASES) {
    test(`equals the plain kernel on dy·step(y), to the bit: ${c.what}`, () => {
      tf.tidy(() => {
        const x = tf.tensor4d(seeded(c.x, 1), c.x);
        const w = tf.tensor4d(seeded([c.k, c.k, c.x[3], c.cout], 2), [c.k, c.k, c.x[3], c.cout]);
        const y = tf.relu(tf.conv2d(x, w, c.stride, 'same'));
        // A NaN in dy where the output is 0 stays NaN through the mask (dy·0), as ReLU's gradient.
        const d0 = seeded(y.shape, 3);
        const zeroAt = (y.dataSync() as Float32Array).indexOf(0);
        d0[zeroAt] = Number.NaN;
        const dy = tf.tensor(d0, y.shape);
        const attrs = {
          strides: [c.stride, c.stride],
          pad: 'same',
          dataFormat: 'NHWC',
          filterShape: w.shape,
        };
        const engine = tf.engine();
        const masked = engine.runKernel(
          CONV_FILTER_BIAS_RELU_GRAD,
          { x, dy, y },
          attrs as never,
        ) as tf.Tensor[];
        const g = reluGradFromOutput(dy, y);
        const plain = engine.runKernel(CONV_FILTER_BIAS_GRAD, { x, dy: g }, attrs as never) as tf.Tensor[];
        assert.ok(
          Number.isNaN((plain[1]!.dataSync() as Float32Array)[zeroAt % c.cout]!),
          'the NaN reached dBias',
        );
        assert.deepEqual(bits(masked[0]!), bits(plain[0]!), 'dW');
        assert.deepEqual(bits(masked[1]!), bits(plain[1]!), 'dBias');
      });
    });
  }

  describe('a first layer', () => {
    let saved: tf.KernelConfig | undefined;
    after(() => {
      if (saved && !tf.getKernel(CONV_FILTER_BIAS_RELU_GRAD, 'wasm')) tf.registerKernel(saved);
    });

    test('takes the masked kernel: the same gradients, one activation-sized buffer fewer', () => {
      const shape: [number, number, number, number] = [8, 32, 32, 3];
      const x = tf.tensor4d(seeded(shape, 4), shape);
      const r = tf.tensor(seeded([8, 32, 32, 16], 5), [8, 32, 32, 16]);
      const w = tf.variable(tf.tensor4d(seeded([3, 3, 3, 16], 6), [3, 3, 3, 16]));
      const b = tf.variable(tf.zeros([16]) as tf.Tensor1D);
      const activation = 8 * 32 * 32 * 16;
      // Buffers of the activation's size that kernels allocate: the output, the loss's product
      // and its gradient, and (without the masked kernel) dy·step(y).
      const grads = () => {
        const backend = tf.engine().backend as unknown as {
          makeOutput(shape: number[], dtype: string): tf.TensorInfo;
        };
        const makeOutput = backend.makeOutput;
        let count = 0;
        backend.makeOutput = (s, dtype) => {
          if (s.reduce((p, q) => p * q, 1) === activation) count++;
          return makeOutput.call(backend, s, dtype);
        };
        try {
          const { grads: g } = tf.variableGrads(() =>
            tf.sum(
              tf.mul(
                conv2dBiasTrain(
                  x,
                  w as tf.Tensor4D,
                  b as tf.Tensor1D,
                  { strides: [1, 1], pad: 'same' },
                  true,
                )!,
                r,
              ),
            ),
          );
          return { value: [g[w.name]!, g[b.name]!], count };
        } finally {
          backend.makeOutput = makeOutput;
        }
      };
      saved = tf.getKernel(CONV_FILTER_BIAS_RELU_GRAD, 'wasm');
      assert.ok(saved, 'native registers the masked kernel');
      const withMask = grads();
      tf.unregisterKernel(CONV_FILTER_BIAS_RELU_GRAD, 'wasm');
      const without = grads();
      tf.registerKernel(saved);
      for (let i = 0; i < 2; i++)
        assert.deepEqual(bits(withMask.value[i]!), bits(without.value[i]!), `gradient ${i}`);
      assert.equal(
        without.count - withMask.count,
        1,
        `${withMask.count} with the masked kernel, ${without.count} without`,
      );
      tf.dispose([...withMask.value, ...without.value, x, r, w, b]);
    });
  });
});
