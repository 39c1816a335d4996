// ResNet-18 as torchvision builds it: 11,176,512 trainable backbone parameters (torchvision's
// 11,689,512 less its 1000-way fc), 512 features at 64–224 px, and a forward pass that leaves
// no tensor behind.
import assert from 'node:assert/strict';
import { before, describe, test } from 'node:test';
import * as tf from '@tensorflow/tfjs';
import { buildResNet18 } from '../../server/worker/models/resnet18.js';

const size = (shape: readonly (number | null)[]) => shape.reduce<number>((a, b) => a * (b ?? 1), 1);

describe('ResNet-18', () => {
  before(async () => {
    await tf.setBackend('cpu');
  });

  test("torchvision's parameter count; 512 features at 64, 96 and 224 px", () => {
    for (const side of [64, 224]) {
      const m = buildResNet18({ inputShape: [side, side, 3], seed: 1 });
      assert.equal(
        m.trainableWeights.reduce((s, w) => s + size(w.shape), 0),
        11_176_512,
      );
      assert.deepEqual(m.outputs[0]!.shape, [null, 512]);
      m.dispose();
    }
  });

  test('a forward pass at 64 px gives finite features and leaks no tensor', () => {
    // (A training step on the plain-JS cpu backend takes minutes; training is covered by the
    // generic trainer tests, the architecture by its shapes and counts here.)
    const net = buildResNet18({ inputShape: [64, 64, 3], seed: 2 });
    const x = tf.randomNormal([1, 64, 64, 3], 0, 1, 'float32', 4);
    const count = tf.memory().numTensors;
    const f = tf.tidy(() => (net.apply(x, { training: true }) as tf.Tensor).dataSync());
    assert.equal(tf.memory().numTensors, count);
    assert.equal(f.length, 512);
    assert.ok(f.every(Number.isFinite) && f.some((v) => v > 0));
    x.dispose();
    net.dispose();
  });
});
