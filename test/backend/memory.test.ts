// Memory of training on the fast CPU backends: wasm's Identity shares data instead of copying
// it (tfjs clones every tensor it saves for backprop), and gradients are freed during backprop
// as soon as they have been used, a training forward pass frees what no later layer reads — with
// exactly the same results as tfjs' own behaviour.
import assert from 'node:assert/strict';
import { before, describe, test } from 'node:test';
import * as tf from '@tensorflow/tfjs';
import { batchNormReluAvailable } from '../../server/worker/backend/fused-batchnorm.js';
import { initBackend } from '../../server/worker/backend/index.js';
import { setGradientRelease } from '../../server/worker/backend/release-gradients.js';
import { applyFreeing } from '../../server/worker/models/apply-freeing.js';
import { buildBackbone, buildClassifier } from '../../server/worker/models/resnet.js';
import { readCifarSlice } from './cifar-slice.js';
import { FAST_BACKENDS } from './native-available.js';
import { peakBytes } from './peak-bytes.js';

for (const name of FAST_BACKENDS) {
  describe(`memory on ${name}`, () => {
    before(async () => {
      await initBackend(name);
    });

    test('Identity (tf.clone) shares the data of its input', () => {
      const x = tf.tensor1d([1, 2, 3, 4]);
      const buffers = tf.engine().backend.numDataIds();
      const y = tf.clone(x);
      assert.equal(tf.engine().backend.numDataIds(), buffers);
      x.dispose();
      assert.deepEqual(Array.from(y.dataSync()), [1, 2, 3, 4]);
      y.dispose();
      assert.equal(tf.engine().backend.numDataIds(), buffers - 1);
    });

    test('gradients freed during backprop: same gradients, much lower peak', () => {
      const model = buildClassifier(buildBackbone({ depth: 8, inputShape: [32, 32, 3], seed: 1 }), 10, {
        seed: 2,
      });
      const { images, labels } = readCifarSlice(8);
      const x = tf.tensor4d(images, [8, 32, 32, 3]);
      const y = tf.oneHot(tf.tensor1d(labels, 'int32'), 10);
      const vars = model.trainableWeights.map((w) => (w as unknown as { val: tf.Variable }).val);
      const grads = () =>
        peakBytes(() =>
          tf.tidy(() => {
            const { grads } = tf.variableGrads(
              () =>
                tf.losses.softmaxCrossEntropy(
                  y,
                  model.apply(x, { training: true }) as tf.Tensor,
                ) as tf.Scalar,
              vars,
            );
            return Object.values(grads).map((g) => g.dataSync() as Float32Array);
          }),
        );
      try {
        setGradientRelease(false);
        const kept = grads();
        setGradientRelease(true);
        const released = grads();
        assert.equal(released.value.length, kept.value.length);
        for (let i = 0; i < kept.value.length; i++) assert.deepEqual(released.value[i], kept.value[i]);
        // Measured on ResNet8, batch 8: 8.4 vs 15.9 MB (wasm), 8.4 vs 15.2 MB (native).
        assert.ok(released.peak < 0.8 * kept.peak, `peak ${released.peak} vs ${kept.peak} bytes`);
      } finally {
        setGradientRelease(true);
        tf.dispose([x, y]);
      }
    });

    test('a training forward pass frees what no later layer reads: same results, lower peak', () => {
      const model = buildClassifier(buildBackbone({ depth: 8, inputShape: [32, 32, 3], seed: 3 }), 10, {
        seed: 4,
      });
      const { images, labels } = readCifarSlice(8);
      const x = tf.tensor4d(images, [8, 32, 32, 3]);
      const y = tf.oneHot(tf.tensor1d(labels, 'int32'), 10);
      const vars = model.trainableWeights.map((w) => (w as unknown as { val: tf.Variable }).val);
      const step = (apply: (m: tf.LayersModel, t: tf.Tensor) => tf.Tensor) =>
        peakBytes(() =>
          tf.tidy(() => {
            const { value, grads } = tf.variableGrads(
              () => tf.losses.softmaxCrossEntropy(y, apply(model, x)) as tf.Scalar,
              vars,
            );
            return [
              value.dataSync() as Float32Array,
              ...Object.values(grads).map((g) => g.dataSync() as Float32Array),
            ];
          }),
        );
      const before = tf.memory().numTensors;
      const stock = step((m, t) => m.apply(t, { training: true }) as tf.Tensor);
      const freeing = step((m, t) => applyFreeing(m, t, { training: true }) as tf.Tensor);
      assert.equal(tf.memory().numTensors, before, 'nothing left behind');
      assert.equal(freeing.value.length, stock.value.length);
      for (let i = 0; i < stock.value.length; i++) assert.deepEqual(freeing.value[i], stock.value[i]);
      // Measured on ResNet8, batch 8: 6.3 vs 8.4 MB (wasm), 5.8 vs 8.4 MB (native).
      assert.ok(freeing.peak < 0.85 * stock.peak, `peak ${freeing.peak} vs ${stock.peak} bytes`);
      // Where the backend has the kernel (native), every BN → [Add →] ReLU ran as one kernel.
      const kernels: string[] = [];
      tf.tidy(() => {
        const engine = tf.engine() as unknown as { runKernel: (name: string, ...rest: unknown[]) => unknown };
        const runKernel = engine.runKernel;
        engine.runKernel = (name, ...rest) => {
          kernels.push(name);
          return runKernel.call(engine, name, ...rest);
        };
        try {
          tf.variableGrads(
            () =>
              tf.losses.softmaxCrossEntropy(
                y,
                applyFreeing(model, x, { training: true }) as tf.Tensor,
              ) as tf.Scalar,
            vars,
          );
        } finally {
          engine.runKernel = runKernel;
        }
      });
      const count = (k: string) => kernels.filter((n) => n === k).length;
      // ResNet8: 7 BN layers, each followed by a ReLU (directly, or after the residual sum).
      const fused = batchNormReluAvailable() ? 7 : 0;
      assert.equal(count('PretextBatchNormReluTrain'), fused, 'fused BN + ReLU');
      assert.equal(count('Relu'), 7 - fused, 'ReLU kernels of their own');
      tf.dispose([x, y]);
    });

    test('second-order gradients are unaffected', () => {
      const x = tf.tensor1d([0.5, -1, 2]);
      const g2 = tf.grad(tf.grad((t: tf.Tensor) => tf.sum(tf.pow(t, 3))));
      assert.deepEqual(Array.from(g2(x).dataSync()), [3, -6, 12]);
      x.dispose();
    });

    test('tensor count is flat across training steps', () => {
      const model = buildClassifier(buildBackbone({ depth: 8, inputShape: [32, 32, 3], seed: 5 }), 10, {
        seed: 6,
      });
      const { images, labels } = readCifarSlice(8);
      const x = tf.tensor4d(images, [8, 32, 32, 3]);
      const y = tf.oneHot(tf.tensor1d(labels, 'int32'), 10);
      const optimizer = tf.train.adam(1e-3);
      const counts: number[] = [];
      for (let step = 0; step < 4; step++) {
        const loss = optimizer.minimize(
          () =>
            tf.losses.softmaxCrossEntropy(
              y,
              applyFreeing(model, x, { training: true }) as tf.Tensor,
            ) as tf.Scalar,
          true,
        )!;
        loss.dispose();
        counts.push(tf.memory().numTensors);
      }
      // The first step creates the optimizer's slots; from then on nothing accumulates.
      assert.equal(counts[3], counts[1], `tensors after each step: ${counts.join(', ')}`);
      tf.dispose([x, y]);
      optimizer.dispose();
    });
  });
}
