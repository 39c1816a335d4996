// The native inference plan (server/worker/backend/native/inference.ts) against tfjs' reference
// cpu kernels: convolution + batch norm + ReLU fused into one oneDNN primitive, chains whose
// activations stay in oneDNN's blocked layouts (residual sums in place, projections, strides,
// valid padding), the layers after the chain, batch sizes that change between calls, models the
// plan cannot take, bad arguments, and no leaked tensors.
import assert from 'node:assert/strict';
import { before, describe, test } from 'node:test';
import * as tf from '@tensorflow/tfjs';
import { initBackend } from '../../server/worker/backend/index.js';
import { loadNative, type PlanStep } from '../../server/shared/backends/native-addon.js';
import { compileInference, nativeInferencePlan } from '../../server/worker/backend/native/inference.js';
import { countPredictions } from '../../server/worker/eval/classify.js';
import { batchNormalization } from '../../server/worker/models/batch-norm.js';
import { buildBackbone, buildClassifier, buildSmallConvEncoder } from '../../server/worker/models/resnet.js';
import { assertClose, seeded } from './compare.js';
import { SKIP_NATIVE } from './native-available.js';

/** Batch-norm statistics and affine weights far from the identity, so that folding matters. */
function randomiseBatchNorms(model: tf.LayersModel, seed: number): void {
  for (const layer of model.layers) {
    if (layer.getClassName() !== 'BatchNormalization') continue;
    // gamma, beta, moving mean, moving variance (> 0)
    layer.setWeights(
      layer.getWeights().map((t, i) => tf.tensor(seeded(t.shape, seed++), t.shape).add(i === 3 ? 1.5 : 0)),
    );
  }
}

/** The model's inference on the cpu backend, then through the plan on native. */
async function compare(
  model: tf.LayersModel,
  shape: [number, number, number, number],
  seed: number,
  tol = 1e-4,
) {
  const x0 = seeded(shape, seed);
  await tf.setBackend('cpu');
  const expected = tf.tidy(
    () => (model.predict(tf.tensor4d(x0, shape)) as tf.Tensor).dataSync() as Float32Array,
  );
  await tf.setBackend('wasm');
  const plan = nativeInferencePlan(model);
  assert.ok(plan, 'the model compiles into a native plan');
  try {
    const actual = tf.tidy(() => plan.predict(tf.tensor4d(x0, shape)).dataSync() as Float32Array);
    assertClose(actual, expected, model.name, tol);
  } finally {
    plan.dispose();
  }
  return plan;
}

describe('native inference plan matches the cpu backend', { skip: SKIP_NATIVE }, () => {
  before(async () => {
    const choice = await initBackend('native');
    assert.equal(choice.name, 'native');
  });

  test('conv + batch norm + ReLU fused (inference statistics folded into weights and bias)', async () => {
    const input = tf.input({ shape: [9, 7, 5] });
    let y = tf.layers.conv2d({ filters: 6, kernelSize: 3, padding: 'same', useBias: true }).apply(input);
    y = batchNormalization({ epsilon: 1e-3 }).apply(y);
    y = tf.layers.activation({ activation: 'relu' }).apply(y);
    // A conv without bias whose own activation is relu, then a batch norm that must not fold
    // (it follows the ReLU): the chain stops there and the rest runs as layers.
    y = tf.layers.conv2d({ filters: 4, kernelSize: 1, useBias: false, activation: 'relu' }).apply(y);
    y = batchNormalization({ epsilon: 1e-3 }).apply(y) as tf.SymbolicTensor;
    const model = tf.model({ inputs: input, outputs: y, name: 'conv_bn_relu' });
    randomiseBatchNorms(model, 11);
    const plan = await compare(model, [3, 9, 7, 5], 1);
    assert.equal(plan.convolutions, 2);
  });

  test('ResNet v1 (depth 8, 14): residual sums, projections and strides in blocked layouts', async () => {
    for (const depth of [8, 14]) {
      const model = buildClassifier(buildBackbone({ depth, inputShape: [32, 32, 3], seed: depth }), 10, {
        seed: 3,
      });
      randomiseBatchNorms(model, 100 + depth);
      const plan = await compare(model, [4, 32, 32, 3], depth);
      // Every convolution runs in the chain; pooling, flatten and the dense head run as layers.
      const convs = model.layers.filter((l) => l.getClassName() === 'Conv2D').length;
      assert.equal(plan.convolutions, convs);
    }
  });

  test('small conv encoder: valid padding, stride 2, own ReLU, dense tail', async () => {
    const model = buildSmallConvEncoder({ inputShape: [32, 32, 3], width: 16, seed: 5 });
    const plan = await compare(model, [3, 32, 32, 3], 7);
    assert.equal(plan.convolutions, 4);
  });

  test('batch sizes change between calls (one set of primitives per size)', async () => {
    await tf.setBackend('wasm');
    const model = buildBackbone({ depth: 8, inputShape: [32, 32, 3], seed: 9 });
    randomiseBatchNorms(model, 300);
    const plan = nativeInferencePlan(model)!;
    try {
      for (const n of [5, 2, 5, 1]) {
        const x = tf.tensor4d(seeded([n, 32, 32, 3], n), [n, 32, 32, 3]);
        const a = tf.tidy(() => plan.predict(x).dataSync() as Float32Array);
        const b = tf.tidy(() => (model.predict(x) as tf.Tensor).dataSync() as Float32Array);
        assertClose(a, b, `batch ${n}`);
        x.dispose();
      }
    } finally {
      plan.dispose();
    }
    assert.throws(() => plan.predict(tf.zeros([1, 32, 32, 3])), /after dispose/);
  });

  test('models the chain cannot take are left to the layers model', async () => {
    await tf.setBackend('wasm');
    const addon = loadNative();
    // No convolution first.
    const dense = tf.sequential({ layers: [tf.layers.dense({ units: 3, inputShape: [4] })] });
    assert.equal(compileInference(dense, addon), undefined);
    // A convolution read twice: its batch norm cannot fold, and the layers after the chain
    // are not a single chain.
    const input = tf.input({ shape: [8, 8, 3] });
    const x = tf.layers
      .conv2d({ filters: 4, kernelSize: 3, padding: 'same' })
      .apply(input) as tf.SymbolicTensor;
    const a = batchNormalization({}).apply(x) as tf.SymbolicTensor;
    const b = tf.layers.activation({ activation: 'relu' }).apply(x) as tf.SymbolicTensor;
    const twice = tf.model({ inputs: input, outputs: tf.layers.add().apply([a, b]) as tf.SymbolicTensor });
    assert.equal(compileInference(twice, addon), undefined);
    // A dilated convolution.
    const dilated = tf.sequential({
      layers: [tf.layers.conv2d({ filters: 2, kernelSize: 3, dilationRate: 2, inputShape: [9, 9, 3] })],
    });
    assert.equal(compileInference(dilated, addon), undefined);
  });

  test('evaluation on native runs the plan and counts what the layers model counts', async () => {
    await tf.setBackend('wasm');
    const model = buildClassifier(buildBackbone({ depth: 8, inputShape: [32, 32, 3], seed: 4 }), 10, {
      seed: 5,
    });
    randomiseBatchNorms(model, 500);
    const n = 300; // two batches of 256 and 44: two batch sizes in one plan
    const images = seeded([n, 32, 32, 3], 21);
    const source = {
      count: n,
      inputShape: [32, 32, 3] as [number, number, number],
      fill(start: number, end: number, x: Float32Array, labels: Int32Array) {
        x.set(images.subarray(start * 3072, end * 3072));
        for (let i = start; i < end; i++) labels[i - start] = i % 10;
      },
    };
    const withPlan = await countPredictions(model, 10, source);
    process.env.PRETEXT_INFER_PLAN = '0';
    try {
      assert.equal(nativeInferencePlan(model), undefined);
      const withLayers = await countPredictions(model, 10, source);
      assert.deepEqual(Array.from(withPlan.confusion), Array.from(withLayers.confusion));
      assert.ok(Math.abs(withPlan.lossSum - withLayers.lossSum) <= 1e-3 * Math.abs(withLayers.lossSum));
    } finally {
      delete process.env.PRETEXT_INFER_PLAN;
    }
  });

  test('no tensors leak from predict', async () => {
    await tf.setBackend('wasm');
    const model = buildClassifier(buildBackbone({ depth: 8, inputShape: [32, 32, 3], seed: 1 }), 4);
    const plan = nativeInferencePlan(model)!;
    const x = tf.zeros([2, 32, 32, 3]) as tf.Tensor4D;
    plan.predict(x).dispose();
    const before = tf.memory().numTensors;
    for (let i = 0; i < 3; i++) plan.predict(x).dispose();
    assert.equal(tf.memory().numTensors, before);
    x.dispose();
    plan.dispose();
  });

  test('bad plans and calls throw a TypeError and the process goes on', () => {
    const addon = loadNative();
    const step = (over: Partial<Record<number, unknown>> = {}): PlanStep => {
      const s: unknown[] = [
        0,
        -1,
        1,
        new Float32Array(27 * 2),
        new Float32Array(2),
        [3, 3, 3, 2],
        [1, 1],
        [1, 1],
        [1, 1],
      ];
      for (const [k, v] of Object.entries(over)) s[Number(k)] = v;
      return s as PlanStep;
    };
    const id = addon.planCreate([4, 4, 3], [step()], 1);
    addon.planRun(id, new Float32Array(2 * 48), 2, new Float32Array(2 * 32));
    assert.throws(() => addon.planRun(id, new Float32Array(10), 2, new Float32Array(64)), /x is smaller/);
    assert.throws(() => addon.planRun(id, new Float32Array(96), 2, new Float32Array(3)), /out is smaller/);
    assert.throws(
      () => addon.planRun(id, new Float32Array(96), 1.5, new Float32Array(64)),
      /positive integer/,
    );
    addon.planFree(id);
    assert.throws(() => addon.planRun(id, new Float32Array(96), 2, new Float32Array(64)), /no such plan/);
    assert.throws(() => addon.planCreate([4, 4, 3], [step({ 5: [3, 3, 4, 2] })], 1), /input channels/);
    assert.throws(
      () => addon.planCreate([4, 4, 3], [step({ 4: new Float32Array(3) })], 1),
      /weights or bias/,
    );
    assert.throws(() => addon.planCreate([4, 4, 3], [step({ 0: 1 })], 1), /earlier tensors/);
    assert.throws(
      () =>
        addon.planCreate(
          [4, 4, 3],
          [step(), step({ 1: 0, 5: [3, 3, 2, 2], 3: new Float32Array(36), 0: 1 })],
          2,
        ),
      /residual's shape/,
    );
    assert.throws(() => addon.planCreate([4, 4, 3], [step({ 6: [1] })], 1), /step 0: argument 6/);
    assert.throws(() => addon.planCreate([4, 4, 3], [step()], 2), /output must name/);
    assert.throws(() => addon.planCreate([4, 4, 3], [], 1), /non-empty/);
  });
});
