// Model selection of downstream runs, and the labels it costs. Oliver et al. (NeurIPS 2018)
// show that a validation split larger than the labeled set overstates results, so by default
// the held-out images come out of the budget itself; `extra_labeled` (labels outside the
// budget, the older behaviour) must be asked for and is counted.
import { type LabelsUsed, Selection, type TrainingOptions } from '../../../gen/ts/pretext/v1/run.js';
import { type DatasetEntry, datasetEntry } from './catalog.js';

export interface SelectionEntry {
  name: 'within_budget' | 'last_epoch' | 'extra_labeled';
  /** Which checkpoint the run tests: the best on the selection split, or the last epoch's. */
  tests: 'best' | 'last';
  /** Whether the run keeps a selection (validation) split that an Evaluate can score. */
  holdsOut: boolean;
  /** What a report or help text says the run tested. */
  summary: string;
}

/**
 * within_budget holds out this share of the budget, class-balanced, and at least
 * `minPerClass` images of every class; at least one image per class still trains.
 */
export const WITHIN_BUDGET = { share: 0.2, minPerClass: 1 } as const;

export const SELECTIONS = new Map<Selection, SelectionEntry>([
  [
    Selection.SELECTION_WITHIN_BUDGET,
    {
      name: 'within_budget',
      tests: 'best',
      holdsOut: true,
      summary: `the checkpoint selected on a held-out ${WITHIN_BUDGET.share * 100}% of each label budget (selection within the budget)`,
    },
  ],
  [
    Selection.SELECTION_LAST_EPOCH,
    {
      name: 'last_epoch',
      tests: 'last',
      holdsOut: false,
      summary: "the last epoch's checkpoint (no selection)",
    },
  ],
  [
    Selection.SELECTION_EXTRA_LABELED,
    {
      name: 'extra_labeled',
      tests: 'best',
      holdsOut: true,
      summary:
        'the checkpoint selected on a validation split of labeled images outside the budget (extra labels, counted in the header)',
    },
  ],
]);

export const DEFAULT_SELECTION = Selection.SELECTION_WITHIN_BUDGET;

export function selectionEntry(selection: Selection): SelectionEntry {
  const entry = SELECTIONS.get(selection || DEFAULT_SELECTION);
  if (!entry) throw new Error(`selection ${selection} is not in the catalog`);
  return entry;
}

/** Smallest budget within_budget can split: one image per class to select, one to train. */
export function withinBudgetMinimum(dataset: DatasetEntry): number {
  return dataset.numClasses * (WITHIN_BUDGET.minPerClass + 1);
}

/** Images within_budget holds out of a budget of `nLabels` on `numClasses` classes. */
export function withinBudgetSize(nLabels: number, numClasses: number): number {
  return Math.max(WITHIN_BUDGET.minPerClass * numClasses, Math.round(WITHIN_BUDGET.share * nLabels));
}

/**
 * Size of a selection split carved from `pool` images outside the budget (extra_labeled, the
 * full-set run, pretext runs): validation_fraction of the whole split (`total` images), capped
 * by validation_limit and by the pool.
 */
export function outsideSelectionSize(
  training: Pick<TrainingOptions, 'validationFraction' | 'validationLimit'>,
  total: number,
  pool: number,
): number {
  const bySize = Math.round(training.validationFraction * total);
  const capped = training.validationLimit > 0 ? Math.min(training.validationLimit, bySize) : bySize;
  return Math.max(0, Math.min(pool, capped));
}

/** The labels a resolved downstream config uses on `dataset`; the worker carves exactly this. */
export function labelsUsed(
  dataset: DatasetEntry,
  config: { nLabels: number; selection: Selection; training?: TrainingOptions },
): LabelsUsed {
  const training = config.training ?? { validationFraction: 0, validationLimit: 0 };
  const n = config.nLabels;
  switch (selectionEntry(config.selection).name) {
    case 'within_budget': {
      const selection = withinBudgetSize(n, dataset.numClasses);
      return { train: n - selection, selection, extra: 0, total: n };
    }
    case 'last_epoch':
      return { train: n, selection: 0, extra: 0, total: n };
    case 'extra_labeled': {
      const extra = outsideSelectionSize(training, dataset.train, dataset.train - n);
      return { train: n, selection: extra, extra, total: n + extra };
    }
  }
}

/** "100" when a run used exactly its budget, "100 (+500 extra = 600)" when it used more. */
export function formatLabelsUsed(nLabels: number, used: LabelsUsed | undefined): string {
  if (!used || used.total === nLabels) return `${nLabels}`;
  return `${nLabels} (+${used.total - nLabels} extra = ${used.total})`;
}

/** The labels a stored run config uses: downstream runs only (undefined otherwise). */
export function labelsUsedOf(
  config:
    | {
        $case: string;
        downstream?: { dataset: string; nLabels: number; selection: Selection; training?: TrainingOptions };
      }
    | undefined,
): LabelsUsed | undefined {
  const c = config?.$case === 'downstream' ? config.downstream : undefined;
  const dataset = c && datasetEntry(c.dataset);
  return c && dataset && c.nLabels > 0 ? labelsUsed(dataset, c) : undefined;
}
