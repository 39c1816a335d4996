// The reference-shaped study table from a study snapshot: columns are label budgets; rows are
// test loss and accuracy per arm, then each SSL arm's gain over SL. Pure, so what a cell shows
// (a figure, or why there is none yet) is tested without a terminal.
import { RunState } from '../gen/ts/pretext/v1/run.js';
import { type Study, StudyArm, type StudyCell, StudyState } from '../gen/ts/pretext/v1/study.js';

/**
 * done: every fold in · partial: some folds in, more to come or failed · running: no figure
 * yet, a fold is training · pending: no figure, nothing training yet · failed: every fold that
 * ended failed and none is left · none: no figure and none to come (study cancelled/ended).
 */
export type Mark = 'done' | 'partial' | 'running' | 'pending' | 'failed' | 'none';

export interface TableCell {
  mark: Mark;
  /** Formatted mean (accuracy and gain in percent points), when a fold succeeded. */
  mean?: string;
  /** Formatted sample std, when more than one fold succeeded. */
  std?: string;
  /** A fold of this cell is training now. */
  running: boolean;
  /** Gain rows: the sign of the gain (colour). */
  sign?: number;
}

export interface TableRow {
  label: string;
  kind: 'loss' | 'acc' | 'gain';
  cells: TableCell[];
}

export interface StudyTable {
  budgets: number[];
  /** Each budget with the extra labels its runs really used ("100", or "100+500"). */
  budgetLabels: string[];
  rows: TableRow[];
}

export const ARM_SHORT: Record<number, string> = {
  [StudyArm.STUDY_ARM_SL]: 'SL',
  [StudyArm.STUDY_ARM_SSL_FINE_TUNE]: 'SSL+SL',
  [StudyArm.STUDY_ARM_SSL_LINEAR_PROBE]: 'SSL+LP',
};

export const MARK_TEXT: Record<Exclude<Mark, 'done' | 'partial'>, string> = {
  running: '…',
  pending: '·',
  failed: '✕',
  none: '—',
};

const armName = (a: StudyArm) => ARM_SHORT[a] ?? StudyArm[a] ?? String(a);

function emptyMark(cell: StudyCell, running: boolean, state: StudyState): Mark {
  if (running) return 'running';
  if (state === StudyState.STUDY_STATE_CANCELLED) return 'none';
  if (cell.foldsTotal > 0 && cell.foldsFailed >= cell.foldsTotal) return 'failed';
  if (state !== StudyState.STUDY_STATE_RUNNING) return cell.foldsFailed > 0 ? 'failed' : 'none';
  return 'pending';
}

function armCell(
  cell: StudyCell | undefined,
  kind: 'loss' | 'acc',
  state: StudyState,
  runState: (runId: string) => RunState | undefined,
): TableCell {
  if (!cell) return { mark: state === StudyState.STUDY_STATE_RUNNING ? 'pending' : 'none', running: false };
  const running = cell.runIds.some((id) => runState(id) === RunState.RUN_STATE_RUNNING);
  if (cell.foldsDone === 0) return { mark: emptyMark(cell, running, state), running };
  const [m, s, digits] =
    kind === 'loss'
      ? [cell.testLossMean, cell.testLossStd, 3]
      : [cell.testAccuracyMean * 100, cell.testAccuracyStd * 100, 2];
  const out: TableCell = {
    mark: cell.foldsDone >= cell.foldsTotal ? 'done' : 'partial',
    mean: m.toFixed(digits),
    running,
  };
  if (cell.foldsDone > 1) out.std = s.toFixed(digits);
  return out;
}

/** The table; `runState` gives a child run's state (marks cells whose folds are training). */
export function studyTable(
  study: Study,
  runState: (runId: string) => RunState | undefined = () => undefined,
): StudyTable {
  const budgets = study.config?.labelBudgets ?? [];
  const arms = study.config?.arms ?? [];
  const folds = study.config?.folds ?? 0;
  const find = (n: number, arm: StudyArm) => study.cells.find((c) => c.nLabels === n && c.arm === arm);
  // Compact for a narrow cell: "100", or "100+500" when selection used labels outside the budget.
  const budgetLabels = budgets.map((n) => {
    const used = study.cells.find((c) => c.nLabels === n && c.labelsUsed)?.labelsUsed;
    return used && used.total > n ? `${n}+${used.total - n}` : String(n);
  });
  const rows: TableRow[] = [];
  for (const arm of arms) {
    for (const kind of ['loss', 'acc'] as const) {
      rows.push({
        label: `${armName(arm)} ${kind === 'loss' ? 'loss' : 'acc %'}`,
        kind,
        cells: budgets.map((n) => armCell(find(n, arm), kind, study.state, runState)),
      });
    }
  }
  if (!arms.includes(StudyArm.STUDY_ARM_SL)) return { budgets, budgetLabels, rows };
  for (const arm of arms) {
    if (arm === StudyArm.STUDY_ARM_SL) continue;
    const cells = budgets.map((n): TableCell => {
      const sl = armCell(find(n, StudyArm.STUDY_ARM_SL), 'acc', study.state, runState);
      const ssl = armCell(find(n, arm), 'acc', study.state, runState);
      const running = sl.running || ssl.running;
      const g = study.gains.find((x) => x.nLabels === n && x.arm === arm);
      if (g && g.pairedFolds > 0) {
        const mean = g.accuracyGainMean * 100;
        const out: TableCell = {
          mark: g.pairedFolds >= folds ? 'done' : 'partial',
          mean: `${mean >= 0 ? '+' : ''}${mean.toFixed(2)}`,
          running,
          sign: Math.sign(mean),
        };
        if (g.pairedFolds > 1) out.std = (g.accuracyGainStd * 100).toFixed(2);
        return out;
      }
      // No paired fold yet: the gain waits on whichever of its two cells is furthest behind.
      const marks = [sl.mark, ssl.mark];
      const mark: Mark = running
        ? 'running'
        : marks.includes('failed')
          ? 'failed'
          : marks.includes('none')
            ? 'none'
            : study.state === StudyState.STUDY_STATE_RUNNING
              ? 'pending'
              : 'none';
      return { mark, running };
    });
    rows.push({ label: `gain ${armName(arm)}−SL`, kind: 'gain', cells });
  }
  return { budgets, budgetLabels, rows };
}

/** A cell in at most `width` characters: mean ± std, then mean±std, then the mean alone. */
export function cellText(c: TableCell, width: number): string {
  if (c.mean === undefined) return MARK_TEXT[c.mark as keyof typeof MARK_TEXT] ?? '';
  // A figure with folds still training says so; the rest of the story is its colour.
  const tail = c.running ? '…' : '';
  if (c.std === undefined) return `${c.mean}${tail}`;
  for (const t of [`${c.mean} ± ${c.std}${tail}`, `${c.mean}±${c.std}${tail}`])
    if (t.length <= width) return t;
  return `${c.mean}${tail}`;
}
