// The lean training layers (models/lean-layers.ts): Conv2D + ReLU as one taped op and an Add that
// saves nothing give tfjs' own gradients, keep less for backprop, and leave inference alone.
import assert from 'node:assert/strict';
import { before, describe, test } from 'node:test';
import * as tf from '@tensorflow/tfjs';
import { initBackend } from '../../server/worker/backend/index.js';
import { applyFreeing } from '../../server/worker/models/apply-freeing.js';
import { add, conv2d } from '../../server/worker/models/lean-layers.js';
import { assertClose, seeded } from '../backend/compare.js';
import { FAST_BACKENDS } from '../backend/native-available.js';
import { peakBytes } from '../backend/peak-bytes.js';

/** conv(relu, stride 2) → conv(relu) → add(first, second) → conv(relu, valid): both layer kinds. */
function build(lean: boolean, seed: number): tf.LayersModel {
  const make = lean ? conv2d : (a: Parameters<typeof conv2d>[0]) => tf.layers.conv2d(a);
  const init = (i: number) => tf.initializers.heNormal({ seed: seed + i });
  const input = tf.input({ shape: [24, 24, 3] });
  const a = make({
    filters: 16,
    kernelSize: 3,
    strides: 2,
    padding: 'same',
    activation: 'relu',
    kernelInitializer: init(1),
    biasInitializer: 'ones',
  }).apply(input) as tf.SymbolicTensor;
  const b = make({
    filters: 16,
    kernelSize: 3,
    padding: 'same',
    activation: 'relu',
    kernelInitializer: init(2),
  }).apply(a) as tf.SymbolicTensor;
  const s = (lean ? add() : tf.layers.add()).apply([a, b]) as tf.SymbolicTensor;
  const c = make({
    filters: 8,
    kernelSize: 3,
    strides: 2,
    activation: 'relu',
    kernelInitializer: init(3),
  }).apply(s) as tf.SymbolicTensor;
  return tf.model({ inputs: input, outputs: tf.layers.flatten().apply(c) as tf.SymbolicTensor });
}

for (const name of ['cpu', ...FAST_BACKENDS]) {
  describe(`lean layers on ${name}`, () => {
    before(async () => {
      await initBackend(name);
    });

    test('same loss and gradients as the stock layers, less kept for backprop, same inference', () => {
      const stock = build(false, 11);
      const lean = build(true, 11);
      assert.equal(lean.layers[1]!.getClassName(), 'Conv2D');
      assert.equal(lean.layers[3]!.getClassName(), 'Add');
      const x = tf.tensor4d(seeded([16, 24, 24, 3], 5), [16, 24, 24, 3]);
      const target = tf.tensor2d(seeded([16, 200], 6), [16, 200]);
      // Loss and gradients, and the peak of what the forward pass allocates (what it keeps for
      // backprop, as the passes free everything else).
      const step = (m: tf.LayersModel) => {
        const vars = m.trainableWeights.map((w) => (w as unknown as { val: tf.Variable }).val);
        let forwardPeak = 0;
        const value = tf.tidy(() => {
          const { value, grads } = tf.variableGrads(() => {
            const out = peakBytes(() => applyFreeing(m, x, { training: true }) as tf.Tensor);
            forwardPeak = out.peak;
            return tf.losses.meanSquaredError(target, out.value) as tf.Scalar;
          }, vars);
          return [value, ...vars.map((v) => grads[v.name]!)].map((t) => t.dataSync() as Float32Array);
        });
        return { value, peak: forwardPeak };
      };
      const before = tf.memory().numTensors;
      const s = step(stock);
      const l = step(lean);
      assert.equal(tf.memory().numTensors, before, 'nothing left behind');
      assert.equal(l.value.length, s.value.length);
      for (const [i, g] of s.value.entries())
        assertClose(l.value[i]!, g, i === 0 ? 'loss' : `gradient ${i}`, 1e-5);
      // Measured at this size: 442 vs 737 KB on wasm and native (peakBytes cannot see the cpu
      // backend's allocations).
      if (name !== 'cpu') assert.ok(l.peak < 0.7 * s.peak, `forward peak ${l.peak} vs ${s.peak} bytes`);
      const [pl, ps] = [lean.predict(x) as tf.Tensor, stock.predict(x) as tf.Tensor];
      assertClose(pl.dataSync() as Float32Array, ps.dataSync() as Float32Array, 'inference', 1e-6);
      tf.dispose([x, target, pl, ps]);
      stock.dispose();
      lean.dispose();
    });
  });
}
