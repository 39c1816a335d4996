// The fused Adam update against tfjs' own AdamOptimizer: the same weights and optimizer state
// after several steps, on every CPU backend, and optimizer weights that load into either.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import * as tf from '@tensorflow/tfjs';
import {
  ADAM_UPDATE,
  accumulatedPower,
  createAdam,
  FusedAdamOptimizer,
} from '../../server/worker/backend/fused-adam.js';
import { initBackend } from '../../server/worker/backend/index.js';
import { assertClose, seeded } from './compare.js';
import { FAST_BACKENDS } from './native-available.js';

/** Five steps of a tiny regression (w: [6, 3], b: [3]); returns the weights and optimizer state. */
async function train(optimizer: tf.Optimizer, seed: number) {
  const w = tf.variable(tf.tensor2d(seeded([6, 3], seed), [6, 3]), true, `w${seed}`);
  const b = tf.variable(tf.tensor1d(seeded([3], seed + 1)), true, `b${seed}`);
  const x = tf.tensor2d(seeded([8, 6], seed + 2), [8, 6]);
  const y = tf.tensor2d(seeded([8, 3], seed + 3), [8, 3]);
  for (let step = 0; step < 5; step++) {
    optimizer.minimize(() => tf.mean(tf.square(tf.sub(tf.add(tf.matMul(x, w), b), y))) as tf.Scalar);
  }
  const state = (await optimizer.getWeights()).map((s) => ({
    name: s.name,
    values: s.tensor.dataSync() as Float32Array,
  }));
  const out = { w: w.dataSync() as Float32Array, b: b.dataSync() as Float32Array, state };
  tf.dispose([w, b, x, y]);
  return out;
}

for (const name of ['cpu', ...FAST_BACKENDS]) {
  describe(`fused Adam on ${name}`, () => {
    test('matches tfjs Adam: weights, moments and step count after 5 steps', async () => {
      await initBackend(name);
      const stock = await train(tf.train.adam(0.05), 10);
      const fused = await train(createAdam(0.05), 10);
      assertClose(fused.w, stock.w, 'w', 1e-5);
      assertClose(fused.b, stock.b, 'b', 1e-5);
      assert.deepEqual(
        fused.state.map((s) => s.name),
        stock.state.map((s) => s.name),
      );
      for (let i = 0; i < stock.state.length; i++)
        assertClose(fused.state[i]!.values, stock.state[i]!.values, stock.state[i]!.name, 1e-5);
    });

    test("its update kernel gives cpu's bits (native: the addon's own, threaded)", async () => {
      // 100,000 values: past the size at which the addon splits the loop over threads.
      const n = 100_000;
      const inputs = (): tf.NamedTensorMap => ({
        x: tf.tensor1d(seeded([n], 1)),
        m: tf.tensor1d(seeded([n], 2)).mul(0.1),
        v: tf
          .tensor1d(seeded([n], 3))
          .abs()
          .mul(0.01),
        g: tf.tensor1d(seeded([n], 4)),
        accBeta1: tf.scalar(0.9 ** 7),
        accBeta2: tf.scalar(0.999 ** 7),
      });
      const attrs = { learningRate: 0.003, beta1: 0.9, beta2: 0.999, epsilon: 1e-7 };
      const run = () =>
        tf.tidy(() =>
          (tf.engine().runKernel(ADAM_UPDATE, inputs(), attrs as never) as tf.Tensor[]).map(
            (t) => t.dataSync() as Float32Array,
          ),
        );
      await initBackend('cpu');
      const expected = run();
      await initBackend(name);
      const actual = run();
      for (let i = 0; i < 3; i++) assert.deepEqual(actual[i], expected[i], ['x', 'm', 'v'][i]);
    });

    test("runs one kernel per variable instead of tfjs Adam's dozen", async () => {
      await initBackend(name);
      const kernelsOfStep = async (optimizer: tf.Optimizer) => {
        const w = tf.variable(tf.ones([4, 2]));
        const x = tf.ones([3, 4]);
        optimizer.minimize(() => tf.sum(tf.matMul(x, w)) as tf.Scalar); // creates the slots
        const info = await tf.profile(() => {
          optimizer.minimize(() => tf.sum(tf.matMul(x, w)) as tf.Scalar);
        });
        tf.dispose([w, x]);
        optimizer.dispose();
        return info.kernels.map((k) => k.name);
      };
      const stock = await kernelsOfStep(tf.train.adam(0.1));
      const fused = await kernelsOfStep(createAdam(0.1));
      assert.equal(fused.filter((k) => k === ADAM_UPDATE).length, 1);
      assert.ok(fused.length < stock.length - 8, `${fused.length} vs ${stock.length} kernels`);
    });

    test('is an AdamOptimizer whose state loads into tfjs Adam and back', async () => {
      await initBackend(name);
      const opt = createAdam(0.01);
      assert.ok(opt instanceof FusedAdamOptimizer && opt instanceof tf.AdamOptimizer);
      assert.equal(opt.getClassName(), 'Adam');
      await train(opt, 20);
      const saved = await opt.getWeights();
      const stock = tf.train.adam(0.01);
      await stock.setWeights(saved);
      assert.equal(stock.iterations, 5);
      const back = createAdam(0.01);
      await back.setWeights(await stock.getWeights());
      assert.equal(back.iterations, 5);
      for (const o of [opt, stock, back]) o.dispose();
    });

    test('restores the bias corrections with the bits the steps built, so a resumed run continues exactly', async () => {
      await initBackend(name);
      const internals = (o: tf.AdamOptimizer) =>
        o as unknown as { accBeta1: tf.Variable; accBeta2: tf.Variable };
      const bits = (o: tf.AdamOptimizer) =>
        [internals(o).accBeta1, internals(o).accBeta2].map((t) => (t.dataSync() as Float32Array)[0]);
      // beta2 = 0.999 over 8 steps: tfjs' pow(0.999, 9) differs from 8 float32 products in the last bit.
      const opt = createAdam(0.01, 0.9, 0.999);
      for (let i = 0; i < 8; i++) {
        const v = tf.variable(tf.scalar(1), true, `acc${name}${i}`);
        opt.minimize(() => tf.square(v) as tf.Scalar, false, [v]);
        v.dispose();
      }
      const want = bits(opt);
      assert.deepEqual(want, [accumulatedPower(0.9, 9), accumulatedPower(0.999, 9)]);
      const resumed = createAdam(0.01, 0.9, 0.999);
      await resumed.setWeights(await opt.getWeights());
      assert.deepEqual(bits(resumed), want);
      // What tfjs' own restore gives, for the record of why the override exists.
      const stock = tf.train.adam(0.01, 0.9, 0.999);
      await stock.setWeights(await opt.getWeights());
      assert.notDeepEqual(bits(stock), want);
      for (const o of [opt, resumed, stock]) o.dispose();
    });
  });
}
