// ResNet v1 for CIFAR as in REFERENCE.md §1, its classifier head and the STL-10 encoder.
import assert from 'node:assert/strict';
import { before, describe, test } from 'node:test';
import * as tf from '@tensorflow/tfjs';
import { buildBackbone, buildClassifier, buildSmallConvEncoder } from '../../server/worker/models/resnet.js';

const size = (shape: readonly (number | null)[]) => shape.reduce<number>((a, b) => a * (b ?? 1), 1);
const trainable = (m: tf.LayersModel) => m.trainableWeights.reduce((s, w) => s + size(w.shape), 0);
const total = (m: tf.LayersModel) => m.weights.reduce((s, w) => s + size(w.shape), 0);

describe('ResNet v1', () => {
  before(async () => {
    await tf.setBackend('cpu');
  });

  test('ResNet20 with a 4-way head has the reference 272,676 trainable parameters', () => {
    const m = buildClassifier(buildBackbone({ depth: 20, inputShape: [32, 32, 3] }), 4);
    assert.equal(trainable(m), 272_676);
    assert.deepEqual(m.outputs[0]!.shape, [null, 4]);
  });

  test('Keras parameter counts for depths 20..56 with a 10-way head', () => {
    // Keras' resnet_v1 summaries: total params (trainable + BN moving statistics).
    const expected: Record<number, number> = { 20: 274_442, 32: 470_218, 44: 665_994, 56: 861_770 };
    for (const [depth, params] of Object.entries(expected)) {
      const m = buildClassifier(buildBackbone({ depth: Number(depth), inputShape: [32, 32, 3] }), 10);
      assert.equal(total(m), params, `depth ${depth}`);
    }
  });

  test('layer settings follow the reference', () => {
    const b = buildBackbone({ depth: 20, inputShape: [32, 32, 3] });
    const convs = b.layers.filter((l) => l.getClassName() === 'Conv2D');
    const bns = b.layers.filter((l) => l.getClassName() === 'BatchNormalization');
    assert.equal(convs.length, 19 + 2);
    assert.equal(bns.length, 19);
    for (const c of convs) {
      const cfg = c.getConfig();
      assert.equal(cfg.padding, 'same');
      assert.equal((cfg.kernelInitializer as { className: string }).className, 'VarianceScaling');
      assert.equal(
        (cfg.kernelInitializer as { config: { scale: number; mode: string } }).config.mode,
        'fanIn',
      );
      assert.deepEqual((cfg.kernelRegularizer as { config: { l2: number } }).config.l2, 1e-4);
    }
    const projections = convs.filter((c) => (c.getConfig().kernelSize as number[])[0] === 1);
    assert.equal(projections.length, 2);
    for (const p of projections) assert.deepEqual(p.getConfig().strides, [2, 2]);
    for (const bn of bns) {
      assert.equal(bn.getConfig().momentum, 0.99);
      assert.equal(bn.getConfig().epsilon, 1e-3);
    }
    assert.ok(b.layers.some((l) => l.getClassName() === 'AveragePooling2D'));
    assert.deepEqual(b.outputs[0]!.shape, [null, 64]);
  });

  test('96x96 inputs pool to 3x3x64 features; bad depth or size is refused', () => {
    assert.deepEqual(buildBackbone({ depth: 20, inputShape: [96, 96, 3] }).outputs[0]!.shape, [null, 576]);
    assert.throws(() => buildBackbone({ depth: 21, inputShape: [32, 32, 3] }), /6n\+2/);
    assert.throws(() => buildBackbone({ depth: 20, inputShape: [30, 30, 3] }), /multiples of 4/);
  });

  test('seeds make weights reproducible', () => {
    const a = buildBackbone({ depth: 8, inputShape: [32, 32, 3], seed: 5 });
    const b = buildBackbone({ depth: 8, inputShape: [32, 32, 3], seed: 5 });
    const c = buildBackbone({ depth: 8, inputShape: [32, 32, 3], seed: 6 });
    const first = (m: tf.LayersModel) => m.getWeights()[0]!.dataSync();
    assert.deepEqual(first(a), first(b));
    assert.notDeepEqual(first(a), first(c));
  });

  test('a classifier shares the backbone layers; freezing the backbone leaves only the head trainable', () => {
    const backbone = buildBackbone({ depth: 8, inputShape: [32, 32, 3], seed: 1 });
    const rotation = buildClassifier(backbone, 4, { name: 'rotation' });
    const classifier = buildClassifier(backbone, 10, { name: 'classifier', seed: 2 });
    for (const layer of backbone.layers) assert.ok(classifier.layers.includes(layer));
    // Same variables: a change through one model shows through the other.
    const kernel = backbone.layers.find((l) => l.getClassName() === 'Conv2D')!;
    kernel.setWeights(kernel.getWeights().map((w) => tf.onesLike(w)));
    const x = tf.randomNormal([2, 32, 32, 3], 0, 1, 'float32', 3);
    const f1 = backbone.predict(x) as tf.Tensor;
    const f2 = tf
      .model({ inputs: classifier.inputs, outputs: classifier.layers.at(-2)!.output })
      .predict(x) as tf.Tensor;
    assert.deepEqual(f1.dataSync(), f2.dataSync());
    assert.deepEqual(rotation.outputs[0]!.shape, [null, 4]);
    backbone.trainable = false;
    assert.equal(classifier.trainableWeights.length, 2);
    assert.equal(trainable(classifier), 64 * 10 + 10);
  });
});

test('the STL-10 small conv encoder: four stride-2 convolutions to a 128-d feature', async () => {
  await tf.setBackend('cpu');
  const e = buildSmallConvEncoder({ inputShape: [96, 96, 3] });
  const convs = e.layers.filter((l) => l.getClassName() === 'Conv2D');
  assert.equal(convs.length, 4);
  for (const c of convs) assert.deepEqual(c.getConfig().strides, [2, 2]);
  assert.deepEqual(e.outputs[0]!.shape, [null, 128]);
  assert.deepEqual(buildSmallConvEncoder({ inputShape: [32, 32, 3], width: 16 }).outputs[0]!.shape, [
    null,
    16,
  ]);
});
