// The reference lr policy: Keras' lr_schedule(epoch) of the study at 200 epochs, scaled to any
// run length, plus ReduceLROnPlateau's bookkeeping; and TrainingOptions' zero-means-default.
import assert from 'node:assert/strict';
import { test } from 'node:test';

import {
  learningRateAt,
  newPlateau,
  PLATEAU_FACTOR,
  scheduleFactor,
  stepPlateau,
} from '../../server/worker/engine/lr-schedule.js';

/** The reference's Keras schedule, 0-based epoch as LearningRateScheduler passes it. */
function kerasReference(e: number): number {
  let lr = 1e-3;
  if (e > 180) lr *= 0.5e-3;
  else if (e > 160) lr *= 1e-3;
  else if (e > 120) lr *= 1e-2;
  else if (e > 80) lr *= 1e-1;
  return lr;
}

test('200 epochs reproduce the reference schedule exactly', () => {
  for (let epoch = 1; epoch <= 200; epoch++) {
    const lr = learningRateAt(1e-3, 'reference', epoch, 200, newPlateau());
    assert.ok(Math.abs(lr - kerasReference(epoch - 1)) < 1e-15, `epoch ${epoch}: ${lr}`);
  }
});

test('the schedule scales with the run length', () => {
  // Keras' rule "0-based epoch > 40% of the run" (so 81 epochs of 200 at the full rate).
  const f = (e: number) => scheduleFactor('reference', e, 10);
  assert.deepEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10].map(f), [1, 1, 1, 1, 1, 0.1, 0.1, 0.01, 0.01, 0.001]);
  assert.equal(scheduleFactor('constant', 7, 10), 1);
  assert.equal(scheduleFactor('cosine', 1, 10), 1);
  assert.ok(scheduleFactor('cosine', 10, 10) < 0.03);
});

test('reduce-on-plateau: factor sqrt(0.1) after `patience` flat epochs, floor 0.5e-6', () => {
  let s = newPlateau();
  s = stepPlateau(s, 1.0, 2, 1e-3);
  assert.equal(s.scale, 1);
  s = stepPlateau(s, 0.99995, 2, 1e-3); // below min_delta: no improvement
  assert.equal(s.wait, 1);
  s = stepPlateau(s, 1.2, 2, 1e-3);
  assert.ok(Math.abs(s.scale - PLATEAU_FACTOR) < 1e-12);
  assert.equal(s.wait, 0);
  s = stepPlateau(s, 0.5, 2, 1e-3 * PLATEAU_FACTOR);
  assert.equal(s.best, 0.5);
  // At the floor nothing more is taken off.
  let t = { scale: 1, best: 0.1, wait: 0 };
  t = stepPlateau(t, 1, 1, 0.5e-6);
  assert.equal(t.scale, 1);
  // Patience 0 (disabled) never changes anything.
  assert.deepEqual(stepPlateau(newPlateau(), 1, 0, 1e-3), newPlateau());
});
