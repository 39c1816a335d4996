// ContrastiveOptions defaults per method (the proto's documented defaults) and range checks.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ContrastiveOptions } from '../../gen/ts/pretext/v1/run.js';
import { resolveContrastive } from '../../server/worker/methods/contrastive/options.js';

test('contrastive options: zero means the documented default, per method', () => {
  const zero = ContrastiveOptions.fromPartial({});
  assert.deepEqual(resolveContrastive(zero, 'simclr'), {
    temperature: 0.1,
    queueSize: 10000,
    projectionDim: 128,
    hiddenDim: 128,
    predictorDim: 512,
    augmentStrength: 1,
    knnK: 20,
  });
  assert.equal(resolveContrastive(undefined, 'simsiam').projectionDim, 2048);
  assert.equal(resolveContrastive(undefined, 'simsiam').hiddenDim, 2048);
  const set = resolveContrastive(
    ContrastiveOptions.fromPartial({ temperature: 0.5, queueSize: 7, projectionDim: 32, knnK: 3 }),
    'nnclr',
  );
  assert.deepEqual(
    [set.temperature, set.queueSize, set.projectionDim, set.hiddenDim, set.knnK],
    [0.5, 7, 32, 32, 3],
  );
  assert.throws(
    () => resolveContrastive(ContrastiveOptions.fromPartial({ augmentStrength: 2.5 }), 'simclr'),
    /augment_strength/,
  );
  assert.throws(
    () => resolveContrastive(ContrastiveOptions.fromPartial({ temperature: -1 }), 'simclr'),
    /temperature/,
  );
  assert.throws(
    () => resolveContrastive(ContrastiveOptions.fromPartial({ projectionDim: 1.5 }), 'simclr'),
    /projection_dim/,
  );
});
