// Studies side by side (e.g. one preset under each selection protocol): per budget, each arm's
// test accuracy and the SSL − SL gain with their fold spread, and the labels each cell really
// used. Pure: it takes what GetStudy returns.
import { type Study, StudyArm } from '../../../gen/ts/pretext/v1/study.js';
import { selectionEntry } from '../../../server/shared/contract/selection.js';
import { ARM_LABEL } from './report.js';

export interface Comparison {
  header: string[];
  rows: string[][];
  csv: string[][];
}

const fmt = (mean: number, std: number, folds: number) =>
  folds > 1 ? `${(mean * 100).toFixed(2)} ± ${(std * 100).toFixed(2)}` : (mean * 100).toFixed(2);

/** The label a study gets in a comparison: its name, else its selection protocol. */
export function studyLabel(s: Study): string {
  return s.name || selectionEntry(s.config?.downstream?.selection ?? 0).name;
}

/** One row per budget × (each arm, each gain), one column per study. */
export function compareStudies(studies: Study[]): Comparison {
  const budgets = [...new Set(studies.flatMap((s) => s.config?.labelBudgets ?? []))].sort((a, b) => a - b);
  const arms = [...new Set(studies.flatMap((s) => s.config?.arms ?? []))].sort((a, b) => a - b);
  const header = ['n_labels', 'figure', ...studies.map(studyLabel)];
  const rows: string[][] = [];
  const csv: string[][] = [
    ['n_labels', 'figure', 'study', 'selection', 'labels_used', 'mean', 'std', 'folds'],
  ];
  for (const n of budgets) {
    rows.push([
      String(n),
      'labels used (train + selection)',
      ...studies.map((s) => {
        const u = s.cells.find((c) => c.nLabels === n && c.labelsUsed)?.labelsUsed;
        return u ? `${u.total} (${u.train} + ${u.selection}${u.extra ? ' extra' : ''})` : '—';
      }),
    ]);
    const figures: {
      label: string;
      get: (s: Study) => { mean: number; std: number; folds: number } | undefined;
    }[] = arms.map((arm) => ({
      label: `${ARM_LABEL[arm] ?? StudyArm[arm]} acc %`,
      get: (s) => {
        const c = s.cells.find((x) => x.nLabels === n && x.arm === arm);
        return c && c.foldsDone > 0
          ? { mean: c.testAccuracyMean, std: c.testAccuracyStd, folds: c.foldsDone }
          : undefined;
      },
    }));
    for (const arm of arms.filter((a) => a !== StudyArm.STUDY_ARM_SL)) {
      figures.push({
        label: `gain ${ARM_LABEL[arm] ?? StudyArm[arm]} − SL (pts)`,
        get: (s) => {
          const g = s.gains.find((x) => x.nLabels === n && x.arm === arm);
          return g && g.pairedFolds > 0
            ? { mean: g.accuracyGainMean, std: g.accuracyGainStd, folds: g.pairedFolds }
            : undefined;
        },
      });
    }
    for (const f of figures) {
      rows.push([
        String(n),
        f.label,
        ...studies.map((s) => {
          const v = f.get(s);
          return v ? fmt(v.mean, v.std, v.folds) : '—';
        }),
      ]);
      for (const s of studies) {
        const v = f.get(s);
        const used = s.cells.find((c) => c.nLabels === n && c.labelsUsed)?.labelsUsed;
        csv.push([
          String(n),
          f.label,
          s.id,
          selectionEntry(s.config?.downstream?.selection ?? 0).name,
          used ? String(used.total) : '',
          v ? (v.mean * 100).toFixed(4) : '',
          v ? (v.std * 100).toFixed(4) : '',
          v ? String(v.folds) : '0',
        ]);
      }
    }
  }
  return { header, rows, csv };
}
