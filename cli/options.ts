// Every option of the start commands, described once: commander builds its flags from these
// specs and the dashboard builds its forms from them, so both validate the same way before
// anything is sent. Form defaults are the reference study's settings.
import {
  CheckpointChoice,
  type DownstreamConfig,
  type EvaluateConfig,
  type PretextConfig,
  Protocol,
  SubsetScheme,
  type TrainingOptions,
} from '../gen/ts/pretext/v1/run.js';
import { CliError, ExitCode } from '../clients/ts/exit-codes.js';

export type FieldType = 'int' | 'float' | 'choice' | 'bool' | 'text';

export interface FieldSpec {
  /** Key in the values record (camelCase, also commander's attribute name). */
  key: string;
  /** Long flag without the leading dashes. */
  flag: string;
  label: string;
  help: string;
  type: FieldType;
  choices?: readonly string[];
  /** Further values a choice accepts (e.g. small_conv_<width>). */
  pattern?: RegExp;
  min?: number;
  max?: number;
  /** Value must be strictly greater than min. */
  exclusiveMin?: boolean;
  /** Extra rule on the parsed number; returns a message when broken. */
  check?: (v: number) => string | undefined;
  /** The reference's value, prefilled in forms ('' = leave empty, meaning the daemon's default). */
  formDefault: string;
  required?: boolean;
}

export type Values = Record<string, string | boolean | undefined>;

const int = (
  key: string,
  flag: string,
  label: string,
  help: string,
  min: number,
  max: number,
  formDefault = '',
  extra: Partial<FieldSpec> = {},
): FieldSpec => ({ key, flag, label, help, type: 'int', min, max, formDefault, ...extra });

/** The backbone field: 'resnet' (with a depth), 'small_conv' or 'small_conv_<width>'. */
const architecture = (help: string, formDefault: string): FieldSpec => ({
  key: 'architecture',
  flag: 'architecture',
  label: 'Architecture',
  help,
  type: 'choice',
  choices: ['resnet', 'small_conv'],
  pattern: /^small_conv_\d{1,4}$/,
  formDefault,
});

export const TRAINING_FIELDS: readonly FieldSpec[] = [
  int(
    'epochs',
    'epochs',
    'Epochs',
    'number of epochs, 1..10000 (required; the reference: 200)',
    1,
    10000,
    '200',
    {
      required: true,
    },
  ),
  int('batchSize', 'batch-size', 'Batch size', 'mini-batch size (default 32, the reference)', 1, 4096, '32'),
  {
    key: 'learningRate',
    flag: 'lr',
    label: 'Learning rate',
    help: 'initial Adam learning rate (default 1e-3)',
    type: 'float',
    min: 0,
    max: 10,
    exclusiveMin: true,
    formDefault: '0.001',
  },
  {
    key: 'lrSchedule',
    flag: 'lr-schedule',
    label: 'LR schedule',
    help: 'learning-rate schedule: reference (step decay scaled to epochs), constant, cosine',
    type: 'choice',
    choices: ['reference', 'constant', 'cosine'],
    formDefault: 'reference',
  },
  int(
    'plateauPatience',
    'plateau-patience',
    'Plateau patience',
    'reduce-on-plateau patience in epochs (default 10 pretext, 5 downstream)',
    0,
    1000,
  ),
  {
    key: 'disablePlateau',
    flag: 'disable-plateau',
    label: 'Disable plateau',
    help: 'switch reduce-on-plateau off',
    type: 'bool',
    formDefault: 'no',
  },
  {
    key: 'augment',
    flag: 'augment',
    label: 'Augment',
    help: 'reference augmentation: 10% shift + horizontal flip (default on; --no-augment turns it off)',
    type: 'bool',
    formDefault: 'yes',
  },
  {
    key: 'validationFraction',
    flag: 'validation-fraction',
    label: 'Validation fraction',
    help: 'fraction of training data held out for model selection, (0, 0.5] (default 0.1)',
    type: 'float',
    min: 0,
    max: 0.5,
    exclusiveMin: true,
    formDefault: '0.1',
  },
  int(
    'maxStepsPerEpoch',
    'max-steps-per-epoch',
    'Max steps/epoch',
    'cap on steps per epoch (0 = full pass)',
    0,
    1e9,
  ),
  int('seed', 'seed', 'Seed', 'random seed, 0..2147483647 (0 = pick one and record it)', 0, 2 ** 31 - 1),
  int(
    'validationLimit',
    'validation-limit',
    'Validation limit',
    'cap on validation images (0 = all)',
    0,
    1e9,
  ),
];

const isDepth = (v: number) =>
  v >= 8 && (v - 2) % 6 === 0 ? undefined : 'must be 6n+2 (8, 14, 20, 32, 44, 56, ...)';

export const PRETEXT_FIELDS: readonly FieldSpec[] = [
  {
    key: 'method',
    flag: 'method',
    label: 'Method',
    help: 'pretext method',
    type: 'choice',
    choices: ['rotation', 'simclr', 'simsiam', 'nnclr'],
    formDefault: 'rotation',
  },
  {
    key: 'dataset',
    flag: 'dataset',
    label: 'Dataset',
    help: 'dataset',
    type: 'choice',
    choices: ['cifar10', 'stl10'],
    formDefault: 'cifar10',
  },
  int(
    'unlabeledLimit',
    'unlabeled-limit',
    'Unlabeled limit',
    'number of unlabeled images (0 = all, else >= 20)',
    0,
    1e9,
    '',
    {
      check: (v) => (v === 0 || v >= 20 ? undefined : 'must be 0 (all) or at least 20'),
    },
  ),
  architecture('backbone; small_conv_<width> for a narrower small conv encoder', 'resnet'),
  int('depth', 'depth', 'Depth', 'ResNet depth 6n+2, 8..110 (default 20 = ResNet20)', 8, 110, '20', {
    check: isDepth,
  }),
  {
    key: 'rotationsPerImage',
    flag: 'rotations-per-image',
    label: 'Rotations/image',
    help: 'rotation: 1 (the reference: one random rotation per image) or 4 (RotNet)',
    type: 'choice',
    choices: ['1', '4'],
    formDefault: '1',
  },
];

export const CONTRASTIVE_FIELDS: readonly FieldSpec[] = [
  {
    key: 'temperature',
    flag: 'temperature',
    label: 'Temperature',
    help: 'NT-Xent temperature, simclr/nnclr (default 0.1)',
    type: 'float',
    min: 0,
    max: 10,
    exclusiveMin: true,
    formDefault: '',
  },
  int('queueSize', 'queue-size', 'Queue size', 'nnclr support-queue size (default 10000)', 1, 1e7),
  int('projectionDim', 'projection-dim', 'Projection dim', 'projection head output size', 1, 65536),
  int('hiddenDim', 'hidden-dim', 'Hidden dim', 'projection head hidden size', 1, 65536),
  int(
    'predictorDim',
    'predictor-dim',
    'Predictor dim',
    'simsiam predictor bottleneck (default 512)',
    1,
    65536,
  ),
  {
    key: 'augmentStrength',
    flag: 'augment-strength',
    label: 'Augment strength',
    help: 'augmentation strength multiplier, (0, 2] (default 1)',
    type: 'float',
    min: 0,
    max: 2,
    exclusiveMin: true,
    formDefault: '',
  },
  int('knnK', 'knn-k', 'kNN k', 'k of the kNN monitor (default 20)', 1, 10000),
];

export const DOWNSTREAM_FIELDS: readonly FieldSpec[] = [
  {
    key: 'checkpoint',
    flag: 'checkpoint',
    label: 'Checkpoint',
    help: 'which checkpoint of the pretext run (with --from)',
    type: 'choice',
    choices: ['best', 'last'],
    formDefault: 'best',
  },
  {
    key: 'protocol',
    flag: 'protocol',
    label: 'Protocol',
    help: 'fine-tune every layer (the reference) or linear-probe the frozen backbone',
    type: 'choice',
    choices: ['fine-tune', 'linear-probe'],
    formDefault: 'fine-tune',
  },
  {
    key: 'dataset',
    flag: 'dataset',
    label: 'Dataset',
    help: "dataset (must match the pretext run's)",
    type: 'choice',
    choices: ['cifar10', 'stl10'],
    formDefault: 'cifar10',
  },
  int(
    'nLabels',
    'n-labels',
    'Labels',
    'label budget, a multiple of 10 (the reference: 100..5000; stl10-fold: 1000)',
    10,
    1e7,
    '1250',
    {
      check: (v) => (v % 10 === 0 ? undefined : 'must be a multiple of the class count (10)'),
    },
  ),
  int('fold', 'fold', 'Fold', 'which fold of the label subsets (0-based)', 0, 1e6, '0'),
  {
    key: 'subsetScheme',
    flag: 'subset-scheme',
    label: 'Subset scheme',
    help: 'stratified-fold (the reference), cumulative (the notebook variant), stl10-fold',
    type: 'choice',
    choices: ['stratified-fold', 'cumulative', 'stl10-fold'],
    formDefault: 'stratified-fold',
  },
  architecture('backbone for --scratch', ''),
  int('depth', 'depth', 'Depth', 'ResNet depth 6n+2 for --scratch, 8..110 (default 20)', 8, 110, '', {
    check: isDepth,
  }),
  int(
    'testLimit',
    'test-limit',
    'Test limit',
    'cap on test images for the final evaluation (0 = all)',
    0,
    1e9,
  ),
];

export const EVAL_FIELDS: readonly FieldSpec[] = [
  {
    key: 'checkpoint',
    flag: 'checkpoint',
    label: 'Checkpoint',
    help: 'which checkpoint',
    type: 'choice',
    choices: ['best', 'last'],
    formDefault: 'best',
  },
  {
    key: 'split',
    flag: 'split',
    label: 'Split',
    help: 'split to evaluate',
    type: 'choice',
    choices: ['test', 'validation', 'train'],
    formDefault: 'test',
  },
  int('limit', 'limit', 'Limit', 'cap on images (0 = the whole split)', 0, 1e9),
];

export interface Parsed {
  value?: string | number | boolean;
  error?: string;
}

const TRUE = ['yes', 'y', 'true', 'on', '1'];
const FALSE = ['no', 'n', 'false', 'off', '0'];

/** Parses one raw value; an empty string or undefined means "not given". */
export function parseField(spec: FieldSpec, raw: string | boolean | undefined): Parsed {
  if (raw === undefined || raw === '') {
    return spec.required ? { error: `--${spec.flag} is required` } : {};
  }
  const bad = (why: string): Parsed => ({ error: `--${spec.flag} ${JSON.stringify(raw)}: ${why}` });
  switch (spec.type) {
    case 'bool': {
      if (typeof raw === 'boolean') return { value: raw };
      const s = raw.toLowerCase();
      if (TRUE.includes(s)) return { value: true };
      if (FALSE.includes(s)) return { value: false };
      return bad('expected yes or no');
    }
    case 'choice': {
      const s = String(raw);
      return spec.choices?.includes(s) || spec.pattern?.test(s)
        ? { value: s }
        : bad(`expected one of ${spec.choices?.join(', ')}`);
    }
    case 'text':
      return { value: String(raw) };
    case 'int':
    case 'float': {
      const s = String(raw).trim();
      const n = Number(s);
      if (s === '' || !Number.isFinite(n)) return bad('not a number');
      if (spec.type === 'int' && !Number.isSafeInteger(n)) return bad('not an integer');
      if (spec.min !== undefined && (spec.exclusiveMin ? n <= spec.min : n < spec.min)) {
        return bad(`must be ${spec.exclusiveMin ? '>' : '>='} ${spec.min}`);
      }
      if (spec.max !== undefined && n > spec.max) return bad(`must be <= ${spec.max}`);
      const why = spec.check?.(n);
      return why ? bad(why) : { value: n };
    }
  }
}

/** Parses a group of fields; collects every error so the user fixes them in one go. */
export function parseFields(
  specs: readonly FieldSpec[],
  values: Values,
  errors: string[],
): Record<string, string | number | boolean> {
  const out: Record<string, string | number | boolean> = {};
  for (const spec of specs) {
    const p = parseField(spec, values[spec.key]);
    if (p.error) errors.push(p.error);
    else if (p.value !== undefined) out[spec.key] = p.value;
  }
  return out;
}

function fail(errors: string[]): never {
  throw new CliError(errors.join('\n'), ExitCode.INVALID_ARGUMENT);
}

function training(values: Values, errors: string[]): TrainingOptions {
  const t = parseFields(TRAINING_FIELDS, values, errors);
  if (t.disablePlateau === true && t.plateauPatience !== undefined) {
    errors.push('--plateau-patience and --disable-plateau contradict each other');
  }
  return {
    epochs: (t.epochs as number) ?? 0,
    batchSize: (t.batchSize as number) ?? 0,
    learningRate: (t.learningRate as number) ?? 0,
    lrSchedule: (t.lrSchedule as string) ?? '',
    plateauPatience: (t.plateauPatience as number) ?? 0,
    disablePlateau: (t.disablePlateau as boolean) ?? false,
    // The reference augments; only an explicit "no" turns it off.
    augment: (t.augment as boolean) ?? true,
    validationFraction: (t.validationFraction as number) ?? 0,
    maxStepsPerEpoch: (t.maxStepsPerEpoch as number) ?? 0,
    seed: (t.seed as number) ?? 0,
    validationLimit: (t.validationLimit as number) ?? 0,
  };
}

export function buildPretextConfig(values: Values): PretextConfig {
  const errors: string[] = [];
  const p = parseFields(PRETEXT_FIELDS, values, errors);
  const c = parseFields(CONTRASTIVE_FIELDS, values, errors);
  const t = training(values, errors);
  const method = (p.method as string) ?? 'rotation';
  if (method !== 'rotation' && p.rotationsPerImage === '4') {
    errors.push('--rotations-per-image applies to the rotation method only');
  }
  if (method === 'rotation' && Object.keys(c).length > 0) {
    errors.push(`contrastive options (${Object.keys(c).join(', ')}) do not apply to the rotation method`);
  }
  if (String(p.architecture ?? '').startsWith('small_conv') && p.depth !== undefined) {
    errors.push('--depth applies to the resnet architecture only');
  }
  if (errors.length) fail(errors);
  return {
    method,
    dataset: (p.dataset as string) ?? '',
    unlabeledLimit: (p.unlabeledLimit as number) ?? 0,
    architecture: (p.architecture as string) ?? '',
    depth: (p.depth as number) ?? 0,
    rotationsPerImage: p.rotationsPerImage === undefined ? 0 : Number(p.rotationsPerImage),
    training: t,
    contrastive: Object.keys(c).length
      ? {
          temperature: (c.temperature as number) ?? 0,
          queueSize: (c.queueSize as number) ?? 0,
          projectionDim: (c.projectionDim as number) ?? 0,
          hiddenDim: (c.hiddenDim as number) ?? 0,
          predictorDim: (c.predictorDim as number) ?? 0,
          augmentStrength: (c.augmentStrength as number) ?? 0,
          knnK: (c.knnK as number) ?? 0,
        }
      : undefined,
  };
}

// The daemon's rule for run ids.
const RUN_ID = /^[A-Za-z0-9._-]{1,64}$/;

export function checkRunId(id: string | undefined, what = 'run id'): string {
  if (!id || !RUN_ID.test(id)) fail([`invalid ${what} ${JSON.stringify(id ?? '')}`]);
  return id;
}

/** `from` = the pretext run (SSL+SL); `scratch` = random initialization (SL). Exactly one. */
export function buildDownstreamConfig(
  values: Values,
  from: string | undefined,
  scratch: boolean,
): DownstreamConfig {
  const errors: string[] = [];
  if (from && scratch) errors.push('give either --from RUN or --scratch, not both');
  if (!from && !scratch) errors.push('give --from RUN (SSL+SL) or --scratch (SL from random init)');
  if (from && !RUN_ID.test(from)) errors.push(`invalid --from run id ${JSON.stringify(from)}`);
  const d = parseFields(DOWNSTREAM_FIELDS, values, errors);
  const t = training(values, errors);
  if (from && (d.architecture !== undefined || d.depth !== undefined)) {
    errors.push('--architecture/--depth apply to --scratch only (a pretext run brings its backbone)');
  }
  if (scratch && values.checkpoint === 'last') {
    errors.push('--checkpoint applies to --from only');
  }
  const fold = (d.fold as number) ?? 0;
  const nLabels = d.nLabels as number | undefined;
  if (d.subsetScheme === 'stl10-fold') {
    if (d.dataset !== 'stl10') errors.push('--subset-scheme stl10-fold needs --dataset stl10');
    if (fold > 9) errors.push('--fold must be 0..9 with stl10-fold');
    if (nLabels !== undefined && nLabels !== 1000)
      errors.push('--n-labels must be 1000 (or left out) with stl10-fold');
  } else if (nLabels === undefined) {
    errors.push('--n-labels is required (the label budget)');
  } else {
    // Same limits as the daemon: k = train / n_labels folds, at least 2.
    const train = d.dataset === 'stl10' ? 5_000 : 50_000;
    const nSplits = Math.floor(train / nLabels);
    const maxFold = d.subsetScheme === 'cumulative' ? nSplits - 1 : nSplits;
    if (nSplits < 2) errors.push(`--n-labels ${nLabels} is too large: at most ${train / 2}`);
    else if (fold >= maxFold)
      errors.push(`--fold ${fold} is out of range: ${maxFold} folds of ${nLabels} (0..${maxFold - 1})`);
  }
  if (d.protocol === 'linear-probe' && scratch)
    errors.push('--protocol linear-probe needs --from (a pretrained backbone)');
  if (errors.length) fail(errors);
  return {
    pretextRunId: from ?? '',
    checkpoint: scratch
      ? CheckpointChoice.CHECKPOINT_CHOICE_UNSPECIFIED
      : checkpointOf(d.checkpoint as string),
    protocol: d.protocol === 'linear-probe' ? Protocol.PROTOCOL_LINEAR_PROBE : Protocol.PROTOCOL_FINE_TUNE,
    dataset: (d.dataset as string) ?? '',
    nLabels: (d.nLabels as number) ?? 0,
    fold: (d.fold as number) ?? 0,
    subsetScheme:
      d.subsetScheme === 'cumulative'
        ? SubsetScheme.SUBSET_SCHEME_CUMULATIVE
        : d.subsetScheme === 'stl10-fold'
          ? SubsetScheme.SUBSET_SCHEME_STL10_FOLD
          : SubsetScheme.SUBSET_SCHEME_STRATIFIED_FOLD,
    architecture: (d.architecture as string) ?? '',
    depth: (d.depth as number) ?? 0,
    training: t,
    testLimit: (d.testLimit as number) ?? 0,
  };
}

function checkpointOf(s: string | undefined): CheckpointChoice {
  return s === 'last' ? CheckpointChoice.CHECKPOINT_CHOICE_LAST : CheckpointChoice.CHECKPOINT_CHOICE_BEST;
}

export function buildEvaluateConfig(target: string, values: Values): EvaluateConfig {
  const errors: string[] = [];
  if (!RUN_ID.test(target)) errors.push(`invalid run id ${JSON.stringify(target)}`);
  const e = parseFields(EVAL_FIELDS, values, errors);
  if (errors.length) fail(errors);
  return {
    targetRunId: target,
    checkpoint: checkpointOf(e.checkpoint as string),
    split: (e.split as string) ?? 'test',
    limit: (e.limit as number) ?? 0,
  };
}

/** Form defaults of a field group (the reference's settings). */
export function formDefaults(specs: readonly FieldSpec[]): Values {
  const v: Values = {};
  for (const s of specs) v[s.key] = s.formDefault;
  return v;
}
