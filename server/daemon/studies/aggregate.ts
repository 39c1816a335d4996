// Pure aggregation of a study's child runs into the reference's table: mean ± sample std of
// test accuracy and loss per budget × arm, and the paired-fold gain of each SSL arm over SL.
import type { LabelsUsed } from '../../../gen/ts/pretext/v1/run.js';
import { StudyArm, type StudyCell, type StudyGain } from '../../../gen/ts/pretext/v1/study.js';

export interface ChildOutcome {
  runId: string;
  nLabels: number;
  arm: StudyArm;
  fold: number;
  /** 'succeeded' with test figures; 'failed' (failed or cancelled); 'pending' otherwise. */
  status: 'succeeded' | 'failed' | 'pending';
  testAccuracy?: number;
  testLoss?: number;
  labelsUsed?: LabelsUsed;
}

export function mean(xs: number[]): number {
  return xs.length ? xs.reduce((a, b) => a + b, 0) / xs.length : 0;
}

/** Sample standard deviation (n − 1); 0 for fewer than two values. */
export function sampleStd(xs: number[]): number {
  if (xs.length < 2) return 0;
  const m = mean(xs);
  return Math.sqrt(xs.reduce((a, x) => a + (x - m) ** 2, 0) / (xs.length - 1));
}

export function aggregate(
  children: ChildOutcome[],
  budgets: number[],
  arms: StudyArm[],
  folds: number,
): { cells: StudyCell[]; gains: StudyGain[] } {
  const cells: StudyCell[] = [];
  const gains: StudyGain[] = [];
  const of = (n: number, arm: StudyArm) =>
    children.filter((c) => c.nLabels === n && c.arm === arm).sort((a, b) => a.fold - b.fold);
  for (const n of budgets) {
    for (const arm of arms) {
      const runs = of(n, arm);
      const ok = runs.filter((r) => r.status === 'succeeded');
      const acc = ok.map((r) => r.testAccuracy ?? 0);
      const loss = ok.map((r) => r.testLoss ?? 0);
      cells.push({
        nLabels: n,
        arm,
        foldsDone: ok.length,
        foldsTotal: folds,
        foldsFailed: runs.filter((r) => r.status === 'failed').length,
        testAccuracyMean: mean(acc),
        testAccuracyStd: sampleStd(acc),
        testLossMean: mean(loss),
        testLossStd: sampleStd(loss),
        runIds: runs.map((r) => r.runId),
        // Folds of a cell share the plan; the most any fold used, should one differ.
        labelsUsed: runs
          .map((r) => r.labelsUsed)
          .reduce<LabelsUsed | undefined>((a, b) => (b && (!a || b.total > a.total) ? b : a), undefined),
      });
    }
    if (!arms.includes(StudyArm.STUDY_ARM_SL)) continue;
    const sl = new Map(
      of(n, StudyArm.STUDY_ARM_SL)
        .filter((r) => r.status === 'succeeded')
        .map((r) => [r.fold, r]),
    );
    for (const arm of arms) {
      if (arm === StudyArm.STUDY_ARM_SL) continue;
      const pairs = of(n, arm)
        .filter((r) => r.status === 'succeeded' && sl.has(r.fold))
        .map((r) => [r, sl.get(r.fold)!] as const);
      const dAcc = pairs.map(([s, b]) => (s.testAccuracy ?? 0) - (b.testAccuracy ?? 0));
      const dLoss = pairs.map(([s, b]) => (s.testLoss ?? 0) - (b.testLoss ?? 0));
      gains.push({
        nLabels: n,
        arm,
        accuracyGainMean: mean(dAcc),
        accuracyGainStd: sampleStd(dAcc),
        lossGainMean: mean(dLoss),
        pairedFolds: pairs.length,
      });
    }
  }
  return { cells, gains };
}
