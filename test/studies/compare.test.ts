// Studies side by side: one row per budget and figure, one column per study, labels used first.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Selection } from '../../gen/ts/pretext/v1/run.js';
import { Study, StudyArm, StudyCell, StudyGain } from '../../gen/ts/pretext/v1/study.js';
import { compareStudies } from '../../clients/ts/report/compare.js';

const SL = StudyArm.STUDY_ARM_SL;
const FT = StudyArm.STUDY_ARM_SSL_FINE_TUNE;

function study(name: string, selection: Selection, acc: [number, number], extra: number): Study {
  const used = { train: extra ? 100 : 80, selection: extra || 20, extra, total: 100 + extra };
  return Study.fromPartial({
    id: `s-${name}`,
    name,
    config: { labelBudgets: [100], arms: [SL, FT], folds: 2, downstream: { selection } },
    cells: [
      StudyCell.fromPartial({
        nLabels: 100,
        arm: SL,
        foldsDone: 2,
        testAccuracyMean: acc[0],
        testAccuracyStd: 0.01,
        labelsUsed: used,
      }),
      StudyCell.fromPartial({
        nLabels: 100,
        arm: FT,
        foldsDone: 2,
        testAccuracyMean: acc[1],
        testAccuracyStd: 0.02,
        labelsUsed: used,
      }),
    ],
    gains: [
      StudyGain.fromPartial({
        nLabels: 100,
        arm: FT,
        accuracyGainMean: acc[1] - acc[0],
        accuracyGainStd: 0.005,
        pairedFolds: 2,
      }),
    ],
  });
}

test('compareStudies: labels used, each arm and the gain per budget, a column per study', () => {
  const within = study('within', Selection.SELECTION_WITHIN_BUDGET, [0.2, 0.25], 0);
  const extra = study('extra', Selection.SELECTION_EXTRA_LABELED, [0.24, 0.3], 500);
  const { header, rows, csv } = compareStudies([within, extra]);
  assert.deepEqual(header, ['n_labels', 'figure', 'within', 'extra']);
  assert.deepEqual(rows, [
    ['100', 'labels used (train + selection)', '100 (80 + 20)', '600 (100 + 500 extra)'],
    ['100', 'SL acc %', '20.00 ± 1.00', '24.00 ± 1.00'],
    ['100', 'SSL+SL acc %', '25.00 ± 2.00', '30.00 ± 2.00'],
    ['100', 'gain SSL+SL − SL (pts)', '5.00 ± 0.50', '6.00 ± 0.50'],
  ]);
  assert.deepEqual(csv[0], [
    'n_labels',
    'figure',
    'study',
    'selection',
    'labels_used',
    'mean',
    'std',
    'folds',
  ]);
  assert.deepEqual(csv.at(-1), [
    '100',
    'gain SSL+SL − SL (pts)',
    's-extra',
    'extra_labeled',
    '600',
    '6.0000',
    '0.5000',
    '2',
  ]);
});
