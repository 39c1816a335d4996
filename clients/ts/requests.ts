// Request builders shared by the CLI and the dashboard. They only turn what a person typed into
// a request (numbers must be numbers, enum names must name an enum value): defaults, limits and
// every rule between fields belong to the daemon's contract, which answers with its verdict
// (`validate_only` for a dry run). Unset fields stay unset, so the daemon decides their defaults
// whichever client sent the request.
import {
  ContrastiveOptions,
  type DeepPartial,
  DownstreamConfig,
  EvaluateConfig,
  PretextConfig,
  TrainingOptions,
} from '../../gen/ts/pretext/v1/run.js';
import type {
  EvaluateRequest,
  StartDownstreamRequest,
  StartPretextRequest,
  StartStudyRequest,
} from '../../gen/ts/pretext/v1/service.js';
import { type StudyArm, StudyConfig } from '../../gen/ts/pretext/v1/study.js';
import {
  STUDY_ARMS as ARM_NAMES,
  CHECKPOINTS,
  PRECISIONS,
  PROTOCOLS,
  SUBSET_SCHEMES,
  typedNames,
} from '../../server/shared/contract/catalog.js';
import { SELECTIONS } from '../../server/shared/contract/selection.js';
import { CliError, ExitCode } from './exit-codes.js';

export type FieldType = 'int' | 'float' | 'enum' | 'bool' | 'text';

export interface FieldSpec {
  /** Key in the values record: the camelCase of the flag, which is commander's attribute name. */
  key: string;
  /** Long flag without the leading dashes. */
  flag: string;
  /** The request field it sets, below `config` (proto names): "training.epochs". */
  field: string;
  label: string;
  help: string;
  type: FieldType;
  /** Enum fields: the names a person types, and the proto value of each. */
  names?: Readonly<Record<string, number>>;
}

export type Values = Record<string, string | boolean | undefined>;

const spec = (
  key: string,
  flag: string,
  field: string,
  type: FieldType,
  label: string,
  help: string,
  names?: Record<string, number>,
): FieldSpec => ({ key, flag, field, type, label, help, names });

// The names people type for enum values come from the catalog's tables.
const CHECKPOINT_NAMES = typedNames(CHECKPOINTS);
export const SELECTION_NAMES = typedNames(new Map([...SELECTIONS].map(([value, e]) => [value, e.name])));
const SUBSET_SCHEME_NAMES = typedNames(new Map([...SUBSET_SCHEMES].map(([value, e]) => [value, e.name])));

export const TRAINING_FIELDS: readonly FieldSpec[] = [
  spec(
    'epochs',
    'epochs',
    'training.epochs',
    'int',
    'Epochs',
    'number of epochs (required; the reference: 200)',
  ),
  spec('batchSize', 'batch-size', 'training.batch_size', 'int', 'Batch size', 'mini-batch size'),
  spec('lr', 'lr', 'training.learning_rate', 'float', 'Learning rate', 'initial Adam learning rate'),
  spec(
    'lrSchedule',
    'lr-schedule',
    'training.lr_schedule',
    'text',
    'LR schedule',
    'reference (step decay scaled to epochs), constant or cosine',
  ),
  spec(
    'plateauPatience',
    'plateau-patience',
    'training.plateau_patience',
    'int',
    'Plateau patience',
    'reduce-on-plateau patience in epochs',
  ),
  spec(
    'disablePlateau',
    'disable-plateau',
    'training.disable_plateau',
    'bool',
    'Disable plateau',
    'switch reduce-on-plateau off',
  ),
  spec(
    'augment',
    'augment',
    'training.augment',
    'bool',
    'Augment',
    'reference augmentation: 10% shift + horizontal flip (--no-augment turns it off)',
  ),
  spec(
    'validationFraction',
    'validation-fraction',
    'training.validation_fraction',
    'float',
    'Validation fraction',
    'fraction of the training data held out for model selection',
  ),
  spec(
    'maxStepsPerEpoch',
    'max-steps-per-epoch',
    'training.max_steps_per_epoch',
    'int',
    'Max steps/epoch',
    'cap on steps per epoch (0 = full pass)',
  ),
  spec('seed', 'seed', 'training.seed', 'int', 'Seed', 'random seed (0 = pick one and record it)'),
  spec(
    'validationLimit',
    'validation-limit',
    'training.validation_limit',
    'int',
    'Validation limit',
    'cap on validation images (0 = all)',
  ),
  spec(
    'minSteps',
    'min-steps',
    'training.min_steps',
    'int',
    'Min steps',
    'downstream: raise epochs until the run takes this many steps (0 = off)',
  ),
  spec(
    'precision',
    'precision',
    'training.precision',
    'text',
    'Precision',
    `convolutions: ${PRECISIONS.join(' | ')} (bf16: native backend, AVX512-BF16 or AMX)`,
  ),
];

export const PRETEXT_FIELDS: readonly FieldSpec[] = [
  spec('method', 'method', 'method', 'text', 'Method', 'pretext method (`pretext info` lists them)'),
  spec('dataset', 'dataset', 'dataset', 'text', 'Dataset', 'dataset (`pretext info` lists them)'),
  spec(
    'unlabeledLimit',
    'unlabeled-limit',
    'unlabeled_limit',
    'int',
    'Unlabeled limit',
    'number of unlabeled images (0 = all)',
  ),
  spec(
    'architecture',
    'architecture',
    'architecture',
    'text',
    'Architecture',
    'backbone: resnet, small_conv or small_conv_<width>',
  ),
  spec('depth', 'depth', 'depth', 'int', 'Depth', 'ResNet depth 6n+2 (20 = ResNet20)'),
  spec(
    'rotationsPerImage',
    'rotations-per-image',
    'rotations_per_image',
    'int',
    'Rotations/image',
    'rotation: 1 (the reference) or 4 (RotNet)',
  ),
];

export const CONTRASTIVE_FIELDS: readonly FieldSpec[] = [
  spec(
    'temperature',
    'temperature',
    'contrastive.temperature',
    'float',
    'Temperature',
    'NT-Xent temperature (simclr, nnclr)',
  ),
  spec(
    'queueSize',
    'queue-size',
    'contrastive.queue_size',
    'int',
    'Queue size',
    'support-queue size (nnclr)',
  ),
  spec(
    'projectionDim',
    'projection-dim',
    'contrastive.projection_dim',
    'int',
    'Projection dim',
    'projection head output size',
  ),
  spec(
    'hiddenDim',
    'hidden-dim',
    'contrastive.hidden_dim',
    'int',
    'Hidden dim',
    'projection head hidden size',
  ),
  spec(
    'predictorDim',
    'predictor-dim',
    'contrastive.predictor_dim',
    'int',
    'Predictor dim',
    'predictor bottleneck (simsiam)',
  ),
  spec(
    'augmentStrength',
    'augment-strength',
    'contrastive.augment_strength',
    'float',
    'Augment strength',
    'augmentation strength multiplier',
  ),
  spec('knnK', 'knn-k', 'contrastive.knn_k', 'int', 'kNN k', 'k of the kNN monitor'),
];

export const DOWNSTREAM_FIELDS: readonly FieldSpec[] = [
  spec(
    'checkpoint',
    'checkpoint',
    'checkpoint',
    'enum',
    'Checkpoint',
    'which checkpoint of the pretext run (with --from)',
    CHECKPOINT_NAMES,
  ),
  spec(
    'protocol',
    'protocol',
    'protocol',
    'enum',
    'Protocol',
    'fine-tune every layer (the reference) or linear-probe the frozen backbone',
    typedNames(PROTOCOLS),
  ),
  spec('dataset', 'dataset', 'dataset', 'text', 'Dataset', "dataset (a pretext run's by default)"),
  spec(
    'nLabels',
    'n-labels',
    'n_labels',
    'int',
    'Labels',
    'label budget; it divides the training split (the reference: 100, 250, 625 .. 5000)',
  ),
  spec(
    'selection',
    'selection',
    'selection',
    'enum',
    'Selection',
    `how the tested checkpoint is chosen: ${Object.keys(SELECTION_NAMES).join(' | ')} (default within-budget)`,
    SELECTION_NAMES,
  ),
  spec('fold', 'fold', 'fold', 'int', 'Fold', 'which fold of the label subsets (0-based)'),
  spec(
    'subsetScheme',
    'subset-scheme',
    'subset_scheme',
    'enum',
    'Subset scheme',
    'how the labeled subset is drawn',
    SUBSET_SCHEME_NAMES,
  ),
  spec('architecture', 'architecture', 'architecture', 'text', 'Architecture', 'backbone for --scratch'),
  spec('depth', 'depth', 'depth', 'int', 'Depth', 'ResNet depth 6n+2 for --scratch'),
  spec(
    'testLimit',
    'test-limit',
    'test_limit',
    'int',
    'Test limit',
    'cap on test images for the final evaluation (0 = all)',
  ),
];

export const EVAL_FIELDS: readonly FieldSpec[] = [
  spec('checkpoint', 'checkpoint', 'checkpoint', 'enum', 'Checkpoint', 'which checkpoint', CHECKPOINT_NAMES),
  spec('split', 'split', 'split', 'text', 'Split', 'split to evaluate: test, validation or train'),
  spec('limit', 'limit', 'limit', 'int', 'Limit', 'cap on images (0 = the whole split)'),
];

export const STUDY_ARMS: Readonly<Record<string, StudyArm>> = typedNames(ARM_NAMES);

export interface Parsed {
  value?: string | number | boolean;
  error?: string;
}

const TRUE = ['yes', 'y', 'true', 'on', '1'];
const FALSE = ['no', 'n', 'false', 'off', '0'];

/** Parses one raw value by its type alone; an empty string or undefined means "not given". */
export function parseField(s: FieldSpec, raw: string | boolean | undefined): Parsed {
  if (raw === undefined || raw === '') return {};
  const bad = (why: string): Parsed => ({
    error: `--${s.flag} ${JSON.stringify(String(raw).slice(0, 80))}: ${why}`,
  });
  switch (s.type) {
    case 'bool': {
      if (typeof raw === 'boolean') return { value: raw };
      const v = raw.toLowerCase();
      if (TRUE.includes(v)) return { value: true };
      if (FALSE.includes(v)) return { value: false };
      return bad('expected yes or no');
    }
    case 'enum': {
      const n = s.names?.[String(raw)];
      return n === undefined ? bad(`expected one of ${Object.keys(s.names ?? {}).join(', ')}`) : { value: n };
    }
    case 'text':
      return { value: String(raw) };
    case 'int':
    case 'float': {
      const t = String(raw).trim();
      const n = Number(t);
      if (t === '' || !Number.isFinite(n)) return bad('not a number');
      if (s.type === 'int' && !Number.isSafeInteger(n)) return bad('not an integer');
      return { value: n };
    }
  }
}

/** Parses a group of fields into a partial message (proto field names → camelCase keys). */
function parseGroup<T>(
  specs: readonly FieldSpec[],
  values: Values,
  errors: string[],
  prefix = '',
): DeepPartial<T> {
  const out: Record<string, unknown> = {};
  for (const s of specs) {
    if (prefix ? !s.field.startsWith(`${prefix}.`) : s.field.includes('.')) continue;
    const p = parseField(s, values[s.key]);
    if (p.error) errors.push(p.error);
    else if (p.value !== undefined) out[camel(s.field.slice(prefix ? prefix.length + 1 : 0))] = p.value;
  }
  // The keys are the message's own (the specs name its fields).
  return out as DeepPartial<T>;
}

function camel(snake: string): string {
  return snake.replace(/_([a-z])/g, (_, c: string) => c.toUpperCase());
}

function fail(errors: string[]): never {
  throw new CliError(errors.join('\n'), ExitCode.INVALID_ARGUMENT);
}

function training(values: Values, errors: string[]): TrainingOptions {
  return TrainingOptions.fromPartial(
    parseGroup<TrainingOptions>(TRAINING_FIELDS, values, errors, 'training'),
  );
}

export interface RequestFlags {
  name?: string;
  /** Ask for the daemon's verdict only (the CLI's --dry-run). */
  validateOnly?: boolean;
}

export function pretextRequest(values: Values & RequestFlags): StartPretextRequest {
  const errors: string[] = [];
  const p = parseGroup<PretextConfig>(PRETEXT_FIELDS, values, errors);
  const c = parseGroup<ContrastiveOptions>(CONTRASTIVE_FIELDS, values, errors, 'contrastive');
  const config = PretextConfig.fromPartial({
    ...p,
    training: training(values, errors),
    contrastive: Object.keys(c).length ? ContrastiveOptions.fromPartial(c) : undefined,
  });
  if (errors.length) fail(errors);
  return { config, name: values.name ?? '', validateOnly: values.validateOnly === true };
}

/** `from` = the pretext run (SSL+SL); `scratch` = random initialization (SL). Exactly one. */
export function downstreamRequest(
  values: Values & RequestFlags & { from?: string; scratch?: boolean },
): StartDownstreamRequest {
  const errors: string[] = [];
  if (values.from && values.scratch) errors.push('give either --from RUN or --scratch, not both');
  if (!values.from && !values.scratch)
    errors.push('give --from RUN (SSL+SL) or --scratch (SL from random init)');
  const d = parseGroup<DownstreamConfig>(DOWNSTREAM_FIELDS, values, errors);
  const config = DownstreamConfig.fromPartial({
    pretextRunId: values.from ?? '',
    ...d,
    training: training(values, errors),
  });
  if (errors.length) fail(errors);
  return { config, name: values.name ?? '', validateOnly: values.validateOnly === true };
}

export function evaluateRequest(
  target: string,
  values: Values & RequestFlags & { wait?: boolean },
): EvaluateRequest {
  const errors: string[] = [];
  const e = parseGroup<EvaluateConfig>(EVAL_FIELDS, values, errors);
  if (errors.length) fail(errors);
  const config = EvaluateConfig.fromPartial({ targetRunId: target, ...e });
  return {
    config,
    wait: values.wait === true,
    name: values.name ?? '',
    validateOnly: values.validateOnly === true,
  };
}

export interface StudyOptions extends RequestFlags {
  preset?: string;
  from?: string;
  budgets?: string[];
  folds?: string;
  arms?: string[];
  epochs?: string;
  pretextEpochs?: string;
  testLimit?: string;
  selection?: string;
  /** The dataset of the pretext run the study starts (an imported one, say). */
  dataset?: string;
}

/**
 * A StartStudy request: the preset's name plus the fields the options set; the daemon expands
 * the preset and resolves the whole study.
 */
export function studyRequest(opts: StudyOptions): StartStudyRequest {
  const errors: string[] = [];
  const int = (raw: string, flag: string): number => {
    const n = Number(raw);
    if (raw.trim() === '' || !Number.isSafeInteger(n))
      errors.push(`${flag} ${JSON.stringify(raw.slice(0, 80))}: not an integer`);
    return n;
  };
  const config = StudyConfig.fromPartial({ preset: opts.preset ?? 'cpu-quick' });
  if (opts.from) config.pretextRunId = opts.from;
  if (opts.budgets) config.labelBudgets = opts.budgets.map((b) => int(b, '--budgets'));
  if (opts.folds) config.folds = int(opts.folds, '--folds');
  if (opts.arms) {
    config.arms = opts.arms.map((a) => {
      const arm = STUDY_ARMS[a];
      if (arm === undefined)
        errors.push(`--arms ${JSON.stringify(a.slice(0, 80))}: use ${Object.keys(STUDY_ARMS).join(', ')}`);
      return arm ?? 0;
    });
  }
  // Unset fields stay zero: the daemon overlays only what is set on the preset.
  if (opts.epochs || opts.testLimit || opts.selection) {
    const selection = opts.selection ? SELECTION_NAMES[opts.selection] : 0;
    if (selection === undefined)
      errors.push(
        `--selection ${JSON.stringify(opts.selection?.slice(0, 80))}: use ${Object.keys(SELECTION_NAMES).join(', ')}`,
      );
    config.downstream = DownstreamConfig.fromPartial({
      testLimit: opts.testLimit ? int(opts.testLimit, '--test-limit') : 0,
      training: opts.epochs ? { epochs: int(opts.epochs, '--epochs') } : undefined,
      selection: selection ?? 0,
    });
  }
  if (opts.pretextEpochs || opts.dataset) {
    if (opts.from) errors.push('--pretext-epochs and --dataset need a pretext run to start (not --from)');
    config.pretext = PretextConfig.fromPartial({
      dataset: opts.dataset ?? '',
      training: opts.pretextEpochs ? { epochs: int(opts.pretextEpochs, '--pretext-epochs') } : undefined,
    });
  }
  if (errors.length) fail(errors);
  return { config, name: opts.name ?? '', validateOnly: opts.validateOnly === true };
}

/** Every field spec, to name the flag of a field the daemon refused. */
export const ALL_FIELDS: readonly FieldSpec[] = [
  ...TRAINING_FIELDS,
  ...PRETEXT_FIELDS,
  ...CONTRASTIVE_FIELDS,
  ...DOWNSTREAM_FIELDS,
  ...EVAL_FIELDS,
];

/** The CLI flag that sets a request field ("config.training.epochs" → "--epochs"), if any. */
export function flagOf(field: string): string | undefined {
  const path = field
    .replace(/^config\./, '')
    .replace(/^downstream\./, '')
    .replace(/^pretext\./, '');
  const s = ALL_FIELDS.find((f) => f.field === path);
  if (s) return `--${s.flag}`;
  if (field.startsWith('config.label_budgets')) return '--budgets';
  const study: Record<string, string> = {
    'config.folds': '--folds',
    'config.arms': '--arms',
    'config.preset': '--preset',
    'config.pretext_run_id': '--from',
  };
  return study[field];
}
