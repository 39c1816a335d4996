import assert from 'node:assert/strict';
import { test } from 'node:test';
import { StudyArm } from '../../gen/ts/pretext/v1/study.js';
import { aggregate, type ChildOutcome, mean, sampleStd } from '../../server/daemon/studies/aggregate.js';

const SL = StudyArm.STUDY_ARM_SL;
const SSL = StudyArm.STUDY_ARM_SSL_FINE_TUNE;

test('mean and sample std on known inputs', () => {
  assert.equal(mean([]), 0);
  assert.equal(mean([1, 2, 3, 4]), 2.5);
  assert.equal(sampleStd([5]), 0);
  // var = ((2-5)^2 + (4-5)^2 + (4-5)^2 + (4-5)^2 + (5-5)^2 + (5-5)^2 + (7-5)^2 + (9-5)^2) / 7 = 32/7
  assert.ok(Math.abs(sampleStd([2, 4, 4, 4, 5, 5, 7, 9]) - Math.sqrt(32 / 7)) < 1e-12);
});

test('cells aggregate succeeded folds; gains pair folds; failures and pending runs are counted apart', () => {
  const c = (
    arm: StudyArm,
    fold: number,
    acc: number,
    loss: number,
    status: ChildOutcome['status'] = 'succeeded',
  ) => ({
    runId: `r-${arm}-${fold}`,
    nLabels: 100,
    arm,
    fold,
    status,
    testAccuracy: acc,
    testLoss: loss,
  });
  const children: ChildOutcome[] = [
    c(SL, 0, 0.3, 3.0),
    c(SL, 1, 0.28, 3.2),
    c(SL, 2, 0.0, 0.0, 'failed'),
    c(SSL, 0, 0.46, 1.9),
    c(SSL, 1, 0.5, 1.8),
    c(SSL, 2, 0.47, 1.85),
  ];
  const { cells, gains } = aggregate(children, [100, 250], [SL, SSL], 3);
  assert.equal(cells.length, 4);
  const sl = cells[0]!;
  assert.equal(sl.foldsDone, 2);
  assert.equal(sl.foldsFailed, 1);
  assert.ok(Math.abs(sl.testAccuracyMean - 0.29) < 1e-12);
  assert.ok(Math.abs(sl.testAccuracyStd - Math.sqrt(0.0002)) < 1e-12);
  assert.ok(Math.abs(sl.testLossMean - 3.1) < 1e-12);
  const ssl = cells[1]!;
  assert.equal(ssl.foldsDone, 3);
  assert.ok(Math.abs(ssl.testAccuracyMean - 1.43 / 3) < 1e-12);
  // Gain pairs folds 0 and 1 only (SL fold 2 failed): diffs 0.16 and 0.22.
  const g = gains[0]!;
  assert.equal(g.pairedFolds, 2);
  assert.ok(Math.abs(g.accuracyGainMean - 0.19) < 1e-12);
  assert.ok(Math.abs(g.accuracyGainStd - Math.sqrt(0.0018)) < 1e-12);
  assert.ok(Math.abs(g.lossGainMean - (-1.1 + -1.4) / 2) < 1e-12);
  // The empty budget has empty cells, not invented numbers.
  assert.equal(cells[2]!.foldsDone, 0);
  assert.equal(cells[2]!.testAccuracyMean, 0);
  assert.equal(gains[1]!.pairedFolds, 0);
});
