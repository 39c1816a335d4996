// The catalog: every name a run setting can take, with its facts, defaults and limits, written
// once. It loads no tfjs, so the daemon resolves requests with it and the worker reads the same
// entries; clients get its verdict through the daemon (validate_only), never a copy.
import { CheckpointChoice, Protocol, SubsetScheme } from '../../../gen/ts/pretext/v1/run.js';
import { StudyArm } from '../../../gen/ts/pretext/v1/study.js';
import { BACKEND_NAMES } from '../backends/probe.js';

/** Numeric limits of the settings every run shares. */
export const LIMITS = {
  epochs: { min: 1, max: 10_000 },
  batchSize: { min: 1, max: 4096, default: 32 },
  learningRate: { min: 0, max: 10, default: 1e-3 },
  plateauPatience: { min: 1, max: 1000 },
  validationFraction: { min: 0, max: 0.5, default: 0.1 },
  maxStepsPerEpoch: { min: 0, max: 1_000_000_000 },
  minSteps: { min: 0, max: 10_000_000 },
  validationLimit: { min: 0, max: 1_000_000_000 },
  testLimit: { min: 0, max: 1_000_000_000 },
  /** Seeds fit a signed 32-bit integer (numpy/torch accept them); 0 = pick one and record it. */
  seed: { min: 0, max: 2 ** 31 - 1 },
  /** Fewer unlabeled images than this leave no room for a validation split. */
  unlabeledLimit: { min: 20, max: 1_000_000_000 },
  name: { maxLength: 200 },
  studyFolds: { min: 1, max: 50, default: 3 },
  studyBudgets: { max: 32 },
} as const;

export interface DatasetEntry {
  name: string;
  /** Images in the labeled training split. */
  train: number;
  numClasses: number;
  /** Image side in pixels (square images). */
  side: number;
  /** Whether the dataset ships official label folds (STL-10's fold_indices.txt). */
  officialFolds?: number;
  /** Set for datasets imported from a folder (contract/datasets.ts): their class sizes. */
  imported?: { classNames: string[]; trainPerClass: number[]; test: number; unlabeled: number };
}

const DATASET_LIST: readonly DatasetEntry[] = [
  { name: 'cifar10', train: 50_000, numClasses: 10, side: 32 },
  { name: 'stl10', train: 5_000, numClasses: 10, side: 96, officialFolds: 10 },
];
// A Map, not an object: a name like "__proto__" must be unknown, not a prototype.
const DATASETS = new Map(DATASET_LIST.map((d) => [d.name, d]));
/**
 * Datasets imported from folders, by name. The process that can see them fills this: the daemon
 * from its state dir at start and after each import or delete, a worker from the manifest of the
 * dataset it opens (shared/data/imported.ts).
 */
const IMPORTED = new Map<string, DatasetEntry>();

export const DEFAULT_DATASET = 'cifar10';

export function builtInDatasetNames(): string[] {
  return DATASET_LIST.map((d) => d.name);
}

export function datasetNames(): string[] {
  return [...builtInDatasetNames(), ...[...IMPORTED.keys()].sort()];
}

export function datasetEntry(name: string): DatasetEntry | undefined {
  return DATASETS.get(name) ?? IMPORTED.get(name);
}

/** Replaces the imported datasets the catalog knows (built-in names are never replaced). */
export function setImportedDatasets(entries: readonly DatasetEntry[]): void {
  IMPORTED.clear();
  for (const e of entries) addImportedDataset(e);
}

export function addImportedDataset(entry: DatasetEntry): void {
  if (!DATASETS.has(entry.name)) IMPORTED.set(entry.name, entry);
}

export function removeImportedDataset(name: string): void {
  IMPORTED.delete(name);
}

/**
 * Backbones: ResNet v1 (depth 6n+2), the reference's small STL-10 conv encoder, and ResNet-18
 * (torchvision's layout, 512 features) for images of 64–224 px.
 */
export const ARCHITECTURE = {
  default: 'resnet',
  resnet: { defaultDepth: 20, minDepth: 8, maxDepth: 110 },
  smallConv: { defaultWidth: 128, minWidth: 1, maxWidth: 1024 },
  resnet18: { minSide: 64, maxSide: 224 },
} as const;

export function architectureNames(): string[] {
  return ['resnet', 'small_conv', 'small_conv_<width>', 'resnet18'];
}

export interface ParsedArchitecture {
  architecture: 'resnet' | 'small_conv' | 'resnet18';
  /** ResNet depth (0 for small_conv). */
  depth: number;
  /** small_conv width (0 for resnet). */
  width: number;
}

/** The backbone a (resolved) architecture name and depth describe. */
export function parseArchitecture(name: string, depth: number): ParsedArchitecture | undefined {
  if (name === 'resnet') return { architecture: 'resnet', depth, width: 0 };
  if (name === 'resnet18') return { architecture: 'resnet18', depth: 0, width: 0 };
  const m = /^small_conv(?:_(\d{1,4}))?$/.exec(name);
  if (!m) return undefined;
  const width = m[1] ? Number(m[1]) : ARCHITECTURE.smallConv.defaultWidth;
  const { minWidth, maxWidth } = ARCHITECTURE.smallConv;
  return width >= minWidth && width <= maxWidth ? { architecture: 'small_conv', depth: 0, width } : undefined;
}

/** Why a backbone cannot take square images of `side` pixels (imported datasets choose their side), or undefined. */
export function backboneSideProblem(p: ParsedArchitecture, side: number): string | undefined {
  if (p.architecture === 'small_conv' && side < 31)
    return `small_conv's four valid stride-2 convolutions need images of at least 31 px; the dataset's are ${side} px`;
  const r18 = ARCHITECTURE.resnet18;
  if (p.architecture === 'resnet18' && (side < r18.minSide || side > r18.maxSide))
    return `ResNet-18 is for images of ${r18.minSide}–${r18.maxSide} px; the dataset's are ${side} px (import it with a side in that range)`;
  if (p.architecture === 'resnet' && side % 32 !== 0)
    return `ResNet v1 (two stride-2 stages, then an 8×8 average pool) needs a side that is a multiple of 32; the dataset's is ${side} px`;
  return undefined;
}

export const LR_SCHEDULES = ['reference', 'constant', 'cosine'] as const;
export type LrScheduleName = (typeof LR_SCHEDULES)[number];

/** Convolution precisions a run may ask for (bf16 also needs the host: see backends/cpu-features.ts). */
export const PRECISIONS = ['fp32', 'bf16'] as const;
export type PrecisionName = (typeof PRECISIONS)[number];

export const SPLITS = ['test', 'validation', 'train'] as const;
export type SplitName = (typeof SPLITS)[number];

/** Enum values a request may name, with the names people use for them. */
export const CHECKPOINTS = new Map<CheckpointChoice, string>([
  [CheckpointChoice.CHECKPOINT_CHOICE_BEST, 'best'],
  [CheckpointChoice.CHECKPOINT_CHOICE_LAST, 'last'],
]);
export const PROTOCOLS = new Map<Protocol, string>([
  [Protocol.PROTOCOL_FINE_TUNE, 'fine-tune'],
  [Protocol.PROTOCOL_LINEAR_PROBE, 'linear-probe'],
]);

/** The cumulative scheme's fold count (the reference notebook: 50 folds of 1,000 on CIFAR-10). */
export const CUMULATIVE_FOLDS = 50;

export interface SubsetSchemeEntry {
  name: 'stratified_fold' | 'cumulative' | 'stl10_fold';
  /** Folds a budget of `nLabels` has on `dataset`, or a reason it cannot be drawn. */
  folds(dataset: DatasetEntry, nLabels: number): number | string;
  /** The budget when the request leaves n_labels 0, if the scheme has one. */
  defaultBudget?(dataset: DatasetEntry): number;
}

/**
 * How a label budget is drawn (the worker's data/subsets.ts implements each; these are the
 * rules a request must meet). Every scheme leaves at least half the training split unlabeled,
 * where the selection split is carved.
 */
export const SUBSET_SCHEMES = new Map<SubsetScheme, SubsetSchemeEntry>([
  [
    SubsetScheme.SUBSET_SCHEME_STRATIFIED_FOLD,
    {
      name: 'stratified_fold',
      // StratifiedKFold(n_splits = N / n): each fold holds exactly n images only when n divides
      // N (625 on CIFAR-10 gives 62 or 63 per class, as in the reference).
      folds: (d, n) => {
        if (d.imported) return perClassFolds(d, d.imported, n);
        if (n < d.numClasses || d.train % n !== 0)
          return `${n} does not divide ${d.name}'s ${d.train} training images into equal stratified folds; use one of ${budgetExamples(d)}, ...`;
        const k = d.train / n;
        return k >= 2
          ? k
          : `${n} is too large: at most ${d.train / 2} of ${d.name}'s ${d.train} training images`;
      },
    },
  ],
  [
    SubsetScheme.SUBSET_SCHEME_CUMULATIVE,
    {
      name: 'cumulative',
      folds: (d, n) => {
        if (d.imported) return `${d.name} is imported; its budgets use the stratified_fold scheme`;
        const foldSize = d.train / CUMULATIVE_FOLDS;
        if (n % foldSize !== 0)
          return `the cumulative scheme grows by whole folds: use a multiple of ${foldSize} (${d.name}'s ${d.train} images / ${CUMULATIVE_FOLDS})`;
        if (n > d.train / 2) return `${n} is too large: at most ${d.train / 2} of ${d.name}'s ${d.train}`;
        return CUMULATIVE_FOLDS;
      },
    },
  ],
  [
    SubsetScheme.SUBSET_SCHEME_STL10_FOLD,
    {
      name: 'stl10_fold',
      folds: (d, n) => {
        if (!d.officialFolds) return `${d.name} has no official folds; use stratified_fold`;
        const foldSize = d.train / d.officialFolds;
        return n === foldSize
          ? d.officialFolds
          : `${d.name}'s official folds have ${foldSize} images each; leave n_labels 0 or set ${foldSize}`;
      },
      defaultBudget: (d) => (d.officialFolds ? d.train / d.officialFolds : 0),
    },
  ],
]);

/**
 * Budgets on imported datasets, whose classes may be of any size: a per-class-balanced draw.
 * A budget of n takes n / classes images of every class (n must be a multiple of the class
 * count); fold f is the f-th disjoint slice of a seeded shuffle of each class, so the folds a
 * budget has are as many as its smallest class can supply. A class too small for even one fold
 * refuses the budget. At most half the training split is labeled, as in every scheme.
 */
function perClassFolds(
  d: DatasetEntry,
  imported: NonNullable<DatasetEntry['imported']>,
  n: number,
): number | string {
  const c = d.numClasses;
  if (n < c || n % c !== 0)
    return `${d.name} draws the same number of labels from each of its ${c} classes: use a multiple of ${c}`;
  if (n > d.train / 2)
    return `${n} is too large: at most ${d.train / 2} of ${d.name}'s ${d.train} training images`;
  const k = n / c;
  const smallest = Math.min(...imported.trainPerClass);
  if (smallest < k) {
    const name = imported.classNames[imported.trainPerClass.indexOf(smallest)] ?? '?';
    return `class ${JSON.stringify(name.slice(0, 40))} of ${d.name} has ${smallest} training images; a budget of ${n} needs ${k} of each of the ${c} classes (at most ${smallest * c})`;
  }
  return Math.floor(smallest / k);
}

/** Budgets the stratified scheme accepts on `d`, for messages: divisors of N with ≥ 10 per class. */
function budgetExamples(d: DatasetEntry): string {
  const out: number[] = [];
  for (let n = d.numClasses * 10; n <= d.train / 2 && out.length < 6; n++) if (d.train % n === 0) out.push(n);
  return out.join(', ');
}

export const DEFAULT_SUBSET_SCHEME = SubsetScheme.SUBSET_SCHEME_STRATIFIED_FOLD;

/** The arms a study compares, by the names people type. */
export const STUDY_ARMS = new Map<StudyArm, string>([
  [StudyArm.STUDY_ARM_SL, 'sl'],
  [StudyArm.STUDY_ARM_SSL_FINE_TUNE, 'ssl-fine-tune'],
  [StudyArm.STUDY_ARM_SSL_LINEAR_PROBE, 'ssl-linear-probe'],
]);

/** A name → value table of one of the maps above, as a command line reads it ("stratified_fold" is typed "stratified-fold"). */
export function typedNames<E extends number>(names: Map<E, string>): Record<string, E> {
  return Object.fromEntries([...names].map(([value, name]) => [name.replaceAll('_', '-'), value]));
}

/** Backends pretextd can be told to use ("auto" picks the first available per run). */
export function backendNames(): string[] {
  return ['auto', ...BACKEND_NAMES];
}

export function isBackendName(name: string): boolean {
  return backendNames().includes(name);
}
