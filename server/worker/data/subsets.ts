// Index subsets of a split: label budgets, validation carving, unlabeled subsets. Every function
// is deterministic for its seed and returns sorted Int32Array indices into the split.
import { CUMULATIVE_FOLDS, type SubsetSchemeEntry } from '../../shared/contract/catalog.js';
import { Rng } from './rng.js';

function sorted(a: Int32Array): Int32Array {
  return a.sort();
}

/** Membership mask of `exclude` over `total` items. */
function excludedMask(total: number, exclude?: Int32Array): Uint8Array {
  const mask = new Uint8Array(total);
  if (exclude) {
    for (let i = 0; i < exclude.length; i++) {
      const v = exclude[i]!;
      if (v < 0 || v >= total) throw new RangeError(`exclude index ${v} outside 0..${total - 1}`);
      mask[v] = 1;
    }
  }
  return mask;
}

/** Indices 0..total-1 not in `exclude`, ascending. */
export function complement(total: number, exclude?: Int32Array): Int32Array {
  const mask = excludedMask(total, exclude);
  const out = new Int32Array(total - mask.reduce((a, b) => a + b, 0));
  let n = 0;
  for (let i = 0; i < total; i++) if (!mask[i]) out[n++] = i;
  return out;
}

/**
 * scikit-learn's StratifiedKFold(n_splits, shuffle=True) test folds, with this project's RNG:
 * labels are sorted, fold f receives the classes of sorted positions f, f+n, f+2n, ... (so
 * every class is spread as evenly as possible), and within each class the fold assignment is
 * shuffled. Folds are disjoint and cover every index; each is returned sorted.
 */
export function stratifiedKFold(labels: Uint8Array, nSplits: number, seed: number): Int32Array[] {
  const n = labels.length;
  if (!Number.isInteger(nSplits) || nSplits < 2 || nSplits > n) {
    throw new RangeError(`stratifiedKFold: n_splits must be an integer in 2..${n}, got ${nSplits}`);
  }
  const classCount = new Int32Array(256);
  for (let i = 0; i < n; i++) classCount[labels[i]!]!++;
  for (let c = 0; c < 256; c++) {
    if (classCount[c]! > 0 && classCount[c]! < nSplits) {
      // scikit-learn only warns here; a budget fold without some class is a silent bias.
      throw new RangeError(
        `stratifiedKFold: class ${c} has ${classCount[c]} members, fewer than n_splits=${nSplits}`,
      );
    }
  }
  // allocation[f][c] = number of class c among sorted positions f, f+n, ... (bincount(y_order[f::n])).
  const rng = new Rng(seed);
  const foldOf = new Int32Array(n);
  const members: Int32Array[] = [];
  const cursor = new Int32Array(256);
  for (let c = 0; c < 256; c++) members.push(new Int32Array(classCount[c]!));
  for (let i = 0; i < n; i++) {
    const c = labels[i]!;
    members[c]![cursor[c]!++] = i;
  }
  let start = 0;
  for (let c = 0; c < 256; c++) {
    const k = classCount[c]!;
    if (k === 0) continue;
    // Sorted positions start..start+k-1 belong to class c; position p goes to fold p mod nSplits.
    const assign = new Int32Array(k);
    for (let j = 0; j < k; j++) assign[j] = (start + j) % nSplits;
    assign.sort();
    rng.shuffle(assign);
    const idx = members[c]!;
    for (let j = 0; j < k; j++) foldOf[idx[j]!] = assign[j]!;
    start += k;
  }
  const sizes = new Int32Array(nSplits);
  for (let i = 0; i < n; i++) sizes[foldOf[i]!]!++;
  const folds = Array.from(sizes, (s) => new Int32Array(s));
  const fill = new Int32Array(nSplits);
  for (let i = 0; i < n; i++) {
    const f = foldOf[i]!;
    folds[f]![fill[f]!++] = i;
  }
  return folds;
}

export type SubsetScheme = SubsetSchemeEntry['name'];

export interface LabelBudgetOptions {
  labels: Uint8Array;
  nLabels: number;
  fold: number;
  scheme: SubsetScheme;
  seed: number;
  /** STL-10's official folds (DatasetHandle.folds()), for the stl10_fold scheme. */
  stl10Folds?: Int32Array[];
  /** Indices that may not be labeled (e.g. held out); the schemes then run on the rest. */
  exclude?: Int32Array;
  /**
   * Imported datasets (classes of any size): stratified_fold becomes the catalog's per-class
   * draw — nLabels / classes of every class, fold f the f-th disjoint slice of a seeded shuffle.
   */
  perClass?: boolean;
}

/**
 * The labeled subset of a downstream run, sorted.
 * - stratified_fold: StratifiedKFold(n_splits = floor(N / nLabels)) over the N eligible images,
 *   fold `fold` — class-balanced, exactly nLabels/classes per class when N/nSplits divides evenly
 *   (e.g. CIFAR-10: 100, 250, 1250, 2500, 5000; 625 gives 62 or 63 per class).
 * - cumulative: the notebook's variant — StratifiedKFold with 50 folds; the union of
 *   nLabels / (N/50) consecutive folds starting at `fold` (mod 50), so budgets grow by whole
 *   folds (1,000, 2,000, ... on CIFAR-10) and each is contained in the next.
 * - stl10_fold: the official fold `fold` (0..9); with nLabels smaller than the fold, a
 *   class-balanced seeded subset of it.
 */
export function labelBudget(opts: LabelBudgetOptions): Int32Array {
  const { labels, nLabels, fold, scheme, seed } = opts;
  if (!Number.isInteger(fold) || fold < 0)
    throw new RangeError(`fold must be a non-negative integer, got ${fold}`);
  if (scheme === 'stl10_fold') {
    const folds = opts.stl10Folds;
    if (!folds || folds.length === 0)
      throw new RangeError('stl10_fold needs the official folds (fold_indices.txt)');
    const f = folds[fold];
    if (!f) throw new RangeError(`stl10_fold: fold ${fold} outside 0..${folds.length - 1}`);
    let pool = Int32Array.from(f);
    if (opts.exclude) {
      const mask = excludedMask(labels.length, opts.exclude);
      pool = pool.filter((i) => !mask[i]);
    }
    if (nLabels === 0 || nLabels === pool.length) return sorted(pool);
    if (nLabels > pool.length)
      throw new RangeError(`stl10_fold: n_labels ${nLabels} exceeds the fold's ${pool.length}`);
    return balancedPick(labels, pool, nLabels, seed);
  }
  const pool = complement(labels.length, opts.exclude);
  if (!Number.isInteger(nLabels) || nLabels < 1 || nLabels > pool.length) {
    throw new RangeError(`n_labels must be an integer in 1..${pool.length}, got ${nLabels}`);
  }
  const poolLabels = new Uint8Array(pool.length);
  for (let i = 0; i < pool.length; i++) poolLabels[i] = labels[pool[i]!]!;
  if (scheme === 'stratified_fold' && opts.perClass)
    return perClassFold(poolLabels, pool, nLabels, fold, seed);
  if (nLabels === pool.length) return pool;
  if (scheme === 'stratified_fold') {
    const nSplits = Math.floor(pool.length / nLabels);
    if (fold >= nSplits)
      throw new RangeError(`fold ${fold} outside 0..${nSplits - 1} (n_splits = ${nSplits})`);
    const f = stratifiedKFold(poolLabels, nSplits, seed)[fold]!;
    return sorted(f.map((i) => pool[i]!));
  }
  if (scheme === 'cumulative') {
    const folds = stratifiedKFold(poolLabels, CUMULATIVE_FOLDS, seed);
    const foldSize = pool.length / CUMULATIVE_FOLDS;
    const k = nLabels / foldSize;
    if (!Number.isInteger(k)) {
      throw new RangeError(
        `cumulative: n_labels must be a multiple of ${foldSize} (N/${CUMULATIVE_FOLDS}), got ${nLabels}`,
      );
    }
    const parts: number[] = [];
    for (let j = 0; j < k; j++) for (const i of folds[(fold + j) % CUMULATIVE_FOLDS]!) parts.push(pool[i]!);
    return sorted(Int32Array.from(parts));
  }
  throw new RangeError(`unknown subset scheme "${scheme as string}"`);
}

/** The indices of `pool` grouped by label, in pool order. */
function byClass(labels: Uint8Array, pool: Int32Array): Map<number, number[]> {
  const groups = new Map<number, number[]>();
  for (const i of pool) {
    const c = labels[i]!;
    const g = groups.get(c);
    if (g) g.push(i);
    else groups.set(c, [i]);
  }
  return groups;
}

/** Fold `fold` of the per-class draw: k = nLabels / classes images of every class (see LabelBudgetOptions.perClass). */
function perClassFold(
  poolLabels: Uint8Array,
  pool: Int32Array,
  nLabels: number,
  fold: number,
  seed: number,
): Int32Array {
  const byClass = new Map<number, number[]>();
  for (let i = 0; i < pool.length; i++) {
    const c = poolLabels[i]!;
    const g = byClass.get(c);
    if (g) g.push(pool[i]!);
    else byClass.set(c, [pool[i]!]);
  }
  const classes = [...byClass.keys()].sort((a, b) => a - b);
  const k = nLabels / classes.length;
  if (!Number.isInteger(k))
    throw new RangeError(
      `per-class budget: n_labels ${nLabels} is not a multiple of ${classes.length} classes`,
    );
  const rng = new Rng(seed);
  const out: number[] = [];
  for (const c of classes) {
    const g = Int32Array.from(byClass.get(c)!);
    rng.shuffle(g);
    if ((fold + 1) * k > g.length)
      throw new RangeError(
        `per-class budget: class ${c} has ${g.length} images, fold ${fold} of ${k} each needs ${(fold + 1) * k}`,
      );
    out.push(...g.subarray(fold * k, (fold + 1) * k));
  }
  return sorted(Int32Array.from(out));
}

/**
 * A class-balanced, seeded subset of `pool` of `size` images: size/classes per class, the
 * remainder going one each to the classes of the lowest labels; a class with too few images
 * gives all it has and the rest is drawn from the other classes. Labels 255 (unlabeled) form
 * one group, so on unlabeled data this is a plain random subset.
 */
function balancedPick(labels: Uint8Array, pool: Int32Array, size: number, seed: number): Int32Array {
  const rng = new Rng(seed);
  const groups = byClass(labels, pool);
  const classes = [...groups.keys()].sort((a, b) => a - b);
  for (const c of classes) rng.shuffle(groups.get(c)!);
  const take = new Map<number, number>(classes.map((c) => [c, 0]));
  let left = size;
  // Water-filling: equal shares (remainder to the lowest labels), capped by each class's size.
  let open = classes;
  while (left > 0 && open.length > 0) {
    const share = Math.floor(left / open.length);
    const rem = left % open.length;
    const next: number[] = [];
    open.forEach((c, k) => {
      const avail = groups.get(c)!.length - take.get(c)!;
      const t = Math.min(avail, share + (k < rem ? 1 : 0));
      take.set(c, take.get(c)! + t);
      left -= t;
      if (avail > t) next.push(c);
    });
    open = next;
  }
  const out: number[] = [];
  for (const c of classes) out.push(...groups.get(c)!.slice(0, take.get(c) ?? 0));
  return sorted(Int32Array.from(out));
}

export interface CarveOptions {
  labels: Uint8Array;
  /** Fraction of the whole split (labels.length); default 0.1. Ignored when `size` is given. */
  fraction?: number;
  size?: number;
  seed: number;
  /** Indices that may not be used (the label budget): the split is carved from the rest. */
  exclude?: Int32Array;
}

/**
 * A validation split, class-balanced (see balancedPick), seeded, disjoint from `exclude`, sorted.
 * For downstream runs pass the label budget as `exclude`; for pretext runs pass the labels of the
 * unlabeled subset (all 255 → a random subset).
 */
export function carveValidation(opts: CarveOptions): Int32Array {
  const pool = complement(opts.labels.length, opts.exclude);
  const fraction = opts.fraction ?? 0.1;
  if (opts.size === undefined && !(fraction >= 0 && fraction < 1)) {
    throw new RangeError(`validation fraction must be in [0, 1), got ${fraction}`);
  }
  const size = Math.min(pool.length, opts.size ?? Math.round(fraction * opts.labels.length));
  if (size <= 0) return new Int32Array(0);
  // A seed distinct from the budget's, so equal seeds do not correlate the two draws.
  return balancedPick(opts.labels, pool, size, (opts.seed ^ 0x5eed7a1) >>> 0);
}

/**
 * within_budget selection: `size` images of the label budget held out, class-balanced and
 * seeded, the rest to train; every class keeps at least one training image. Nothing outside
 * `budget` is looked at.
 */
export function splitWithinBudget(
  labels: Uint8Array,
  budget: Int32Array,
  size: number,
  seed: number,
): { train: Int32Array; selection: Int32Array } {
  const rng = new Rng(seed);
  const groups = byClass(labels, budget);
  const reserved = new Set<number>();
  for (const c of [...groups.keys()].sort((a, b) => a - b)) {
    const g = Int32Array.from(groups.get(c)!);
    rng.shuffle(g);
    reserved.add(g[0]!);
  }
  const pool = Int32Array.from([...budget].filter((i) => !reserved.has(i)));
  const selection = balancedPick(labels, pool, Math.min(size, pool.length), (seed ^ 0x5e1ec7) >>> 0);
  const held = new Set(selection);
  return { train: sorted(Int32Array.from([...budget].filter((i) => !held.has(i)))), selection };
}
