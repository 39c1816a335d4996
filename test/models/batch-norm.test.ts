// pretext's BatchNormalization layer behaves as the stock tfjs/Keras layer: training output,
// moving-average updates, inference output and serialised class name.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import * as tf from '@tensorflow/tfjs';
import { batchNormalization } from '../../server/worker/models/batch-norm.js';

test('training and inference match the stock layer, moving statistics included', async () => {
  await tf.setBackend('cpu');
  const args = { momentum: 0.9, epsilon: 1e-3 };
  const fast = batchNormalization(args);
  const stock = tf.layers.batchNormalization(args);
  const x = tf.randomUniform([3, 4, 4, 5], -2, 3, 'float32', 1);
  fast.build(x.shape);
  stock.build(x.shape);
  const gamma = tf.randomUniform([5], 0.5, 1.5, 'float32', 2);
  const beta = tf.randomUniform([5], -1, 1, 'float32', 3);
  for (const l of [fast, stock]) l.setWeights([gamma, beta, tf.zeros([5]), tf.ones([5])]);
  for (let step = 0; step < 3; step++) {
    const a = fast.apply(x, { training: true }) as tf.Tensor;
    const b = stock.apply(x, { training: true }) as tf.Tensor;
    const diff = tf.max(tf.abs(tf.sub(a, b))).dataSync()[0]!;
    assert.ok(diff < 1e-4, `training output differs by ${diff}`);
  }
  const wf = fast.getWeights().map((w) => Array.from(w.dataSync()));
  const ws = stock.getWeights().map((w) => Array.from(w.dataSync()));
  for (let i = 0; i < 4; i++) {
    for (let j = 0; j < 5; j++) assert.ok(Math.abs(wf[i]![j]! - ws[i]![j]!) < 1e-5, `weight ${i}[${j}]`);
  }
  const inf = tf.sub(fast.apply(x) as tf.Tensor, stock.apply(x) as tf.Tensor);
  assert.ok(tf.max(tf.abs(inf)).dataSync()[0]! < 1e-5);
  assert.equal(fast.getClassName(), 'BatchNormalization');
  assert.deepEqual(fast.getConfig().momentum, 0.9);
});

test('a model round-trips through its JSON with the same layer class and weights', async () => {
  await tf.setBackend('cpu');
  const input = tf.input({ shape: [4, 4, 3] });
  const out = batchNormalization({ name: 'bn' }).apply(input) as tf.SymbolicTensor;
  const model = tf.model({ inputs: input, outputs: out });
  const json = model.toJSON(null, false) as unknown as object;
  assert.match(JSON.stringify(json), /"class_name":"BatchNormalization"/);
  const restored = await tf.models.modelFromJSON(json as tf.io.ModelJSON['modelTopology'] as never);
  const layer = restored.getLayer('bn');
  assert.equal(layer.getClassName(), 'BatchNormalization');
  assert.equal(layer.constructor, model.getLayer('bn').constructor);
});
