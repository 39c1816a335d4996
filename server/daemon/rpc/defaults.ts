// Request validation: every config is checked field by field and completed with the
// reference's defaults, so the registry always stores the exact configuration a run used.
import { randomInt } from 'node:crypto';
import {
  CheckpointChoice,
  type ContrastiveOptions,
  type DownstreamConfig,
  type EvaluateConfig,
  type PretextConfig,
  Protocol,
  SubsetScheme,
  type TrainingOptions,
} from '../../../gen/ts/pretext/v1/run.js';
import { invalidArgument } from './errors.js';

/** Pretext methods the engine implements (keys of the worker's job table). */
export const PRETEXT_METHODS = ['rotation', 'simclr', 'simsiam', 'nnclr'] as const;

export const DATASETS: Record<string, { train: number; numClasses: number; side: number }> = {
  cifar10: { train: 50_000, numClasses: 10, side: 32 },
  stl10: { train: 5_000, numClasses: 10, side: 96 },
};

const LR_SCHEDULES = ['reference', 'constant', 'cosine'];
const ARCHITECTURES = ['resnet', 'small_conv'];
const SPLITS = ['test', 'validation', 'train'];
const MAX_SEED = 2 ** 31 - 1;

function check(cond: boolean, msg: string): void {
  if (!cond) throw invalidArgument(msg);
}

function finite(x: number): boolean {
  return Number.isFinite(x);
}

export function pickSeed(seed: number): number {
  check(
    Number.isInteger(seed) && seed >= 0 && seed <= MAX_SEED,
    `seed must be an integer in 0..${MAX_SEED} (0 = pick one)`,
  );
  return seed === 0 ? randomInt(1, MAX_SEED) : seed;
}

function dataset(name: string): string {
  const d = name || 'cifar10';
  check(d in DATASETS, `dataset "${name}" is unknown; use one of: ${Object.keys(DATASETS).join(', ')}`);
  return d;
}

function resnetDepth(depth: number): number {
  const d = depth || 20;
  check(
    d >= 8 && d <= 110 && (d - 2) % 6 === 0,
    `depth ${depth} is not a ResNet v1 depth 6n+2 between 8 and 110 (20, 32, 44, 56 are the usual ones)`,
  );
  return d;
}

function architecture(name: string): string {
  const a = name || 'resnet';
  // small_conv_<width> picks the small encoder's width (default 128, the reference's).
  check(
    ARCHITECTURES.includes(a) || /^small_conv_\d{1,4}$/.test(a),
    `architecture "${name}" is unknown; use one of: ${ARCHITECTURES.join(', ')}, small_conv_<width>`,
  );
  return a;
}

export function completeTraining(
  t: TrainingOptions | undefined,
  what: 'pretext' | 'downstream',
): TrainingOptions {
  check(t !== undefined && t.epochs > 0, 'training.epochs is required (1..10000)');
  const o = t as TrainingOptions;
  check(o.epochs <= 10_000, `training.epochs ${o.epochs} is more than 10000`);
  check(o.batchSize <= 4096, `training.batch_size ${o.batchSize} is more than 4096`);
  check(
    finite(o.learningRate) && o.learningRate >= 0 && o.learningRate <= 10,
    'training.learning_rate must be in (0, 10] (0 = 1e-3)',
  );
  const schedule = o.lrSchedule || 'reference';
  check(
    LR_SCHEDULES.includes(schedule),
    `training.lr_schedule "${o.lrSchedule}" is unknown; use one of: ${LR_SCHEDULES.join(', ')}`,
  );
  check(
    finite(o.validationFraction) && o.validationFraction >= 0 && o.validationFraction <= 0.5,
    'training.validation_fraction must be in (0, 0.5] (0 = 0.1)',
  );
  check(o.plateauPatience <= 1000, 'training.plateau_patience must be at most 1000');
  return {
    ...o,
    batchSize: o.batchSize || 32,
    learningRate: o.learningRate || 1e-3,
    lrSchedule: schedule,
    plateauPatience: o.plateauPatience || (what === 'pretext' ? 10 : 5),
    validationFraction: o.validationFraction || 0.1,
    seed: pickSeed(o.seed),
  };
}

function completeContrastive(
  c: ContrastiveOptions | undefined,
  method: string,
): ContrastiveOptions | undefined {
  if (method === 'rotation') return c;
  const o: ContrastiveOptions = c ?? {
    temperature: 0,
    queueSize: 0,
    projectionDim: 0,
    hiddenDim: 0,
    predictorDim: 0,
    augmentStrength: 0,
    knnK: 0,
  };
  check(
    finite(o.temperature) && o.temperature >= 0 && o.temperature <= 10,
    'contrastive.temperature must be in (0, 10]',
  );
  check(
    finite(o.augmentStrength) && o.augmentStrength >= 0 && o.augmentStrength <= 2,
    'contrastive.augment_strength must be in (0, 2]',
  );
  check(o.queueSize <= 1_000_000, 'contrastive.queue_size must be at most 1000000');
  const projectionDim = o.projectionDim || (method === 'simsiam' ? 2048 : 128);
  return {
    temperature: o.temperature || 0.1,
    queueSize: o.queueSize || 10_000,
    projectionDim,
    hiddenDim: o.hiddenDim || projectionDim,
    predictorDim: o.predictorDim || 512,
    augmentStrength: o.augmentStrength || 1,
    knnK: o.knnK || 20,
  };
}

export function completePretext(c: PretextConfig | undefined, methods: readonly string[]): PretextConfig {
  check(c !== undefined, 'config is required');
  const cfg = c as PretextConfig;
  const method = cfg.method || 'rotation';
  check(
    methods.includes(method),
    `method "${cfg.method}" is unknown; this daemon knows: ${methods.join(', ')}`,
  );
  const ds = dataset(cfg.dataset);
  const arch = architecture(cfg.architecture);
  const rotations = cfg.rotationsPerImage || 1;
  check(rotations === 1 || rotations === 4, 'rotations_per_image must be 1 (the reference) or 4 (RotNet)');
  const limit = cfg.unlabeledLimit;
  check(limit === 0 || limit >= 20, 'unlabeled_limit must be 0 (all images) or at least 20');
  return {
    ...cfg,
    method,
    dataset: ds,
    architecture: arch,
    depth: arch === 'resnet' ? resnetDepth(cfg.depth) : 0,
    rotationsPerImage: method === 'rotation' ? rotations : 0,
    training: completeTraining(cfg.training, 'pretext'),
    contrastive: completeContrastive(cfg.contrastive, method),
  };
}

/** The facts of the pretext run a downstream config builds on. */
export interface ParentFacts {
  dataset: string;
  architecture: string;
  depth: number;
}

export function completeDownstream(
  c: DownstreamConfig | undefined,
  parent: ParentFacts | undefined,
): DownstreamConfig {
  check(c !== undefined, 'config is required');
  const cfg = c as DownstreamConfig;
  const ds = dataset(cfg.dataset || parent?.dataset || '');
  if (parent) {
    check(
      ds === parent.dataset,
      `dataset "${ds}" differs from the pretext run's dataset "${parent.dataset}"`,
    );
  }
  const info = DATASETS[ds]!;
  const scheme = cfg.subsetScheme || SubsetScheme.SUBSET_SCHEME_STRATIFIED_FOLD;
  check(
    Object.values(SubsetScheme).includes(scheme) && scheme > 0,
    `subset_scheme ${cfg.subsetScheme} is unknown`,
  );
  let nLabels = cfg.nLabels;
  if (scheme === SubsetScheme.SUBSET_SCHEME_STL10_FOLD) {
    check(ds === 'stl10', 'subset_scheme STL10_FOLD needs dataset "stl10"');
    check(
      nLabels === 0 || nLabels === 1000,
      'STL-10 folds have 1000 images each; leave n_labels 0 or set 1000',
    );
    check(cfg.fold < 10, `fold ${cfg.fold} is out of range: STL-10 has folds 0..9`);
    nLabels = 1000;
  } else {
    check(nLabels > 0, 'n_labels (the label budget) is required');
    check(
      nLabels % info.numClasses === 0,
      `n_labels ${nLabels} is not a multiple of ${info.numClasses} (the class count), so the subset cannot be class-balanced`,
    );
    const nSplits = Math.floor(info.train / nLabels);
    check(
      nSplits >= 2,
      `n_labels ${nLabels} is too large: at most ${info.train / 2} of the ${info.train} training images`,
    );
    const maxFold = scheme === SubsetScheme.SUBSET_SCHEME_CUMULATIVE ? nSplits - 1 : nSplits;
    check(
      cfg.fold < maxFold,
      `fold ${cfg.fold} is out of range: ${maxFold} folds of ${nLabels} (0..${maxFold - 1})`,
    );
  }
  const checkpoint = cfg.checkpoint || CheckpointChoice.CHECKPOINT_CHOICE_BEST;
  check(checkpoint in CheckpointChoice && checkpoint > 0, `checkpoint ${cfg.checkpoint} is unknown`);
  const protocol = cfg.protocol || Protocol.PROTOCOL_FINE_TUNE;
  check(protocol in Protocol && protocol > 0, `protocol ${cfg.protocol} is unknown`);
  const arch = parent ? parent.architecture : architecture(cfg.architecture);
  return {
    ...cfg,
    dataset: ds,
    nLabels,
    subsetScheme: scheme,
    checkpoint,
    protocol,
    architecture: arch,
    depth: parent ? parent.depth : arch === 'resnet' ? resnetDepth(cfg.depth) : 0,
    training: completeTraining(cfg.training, 'downstream'),
  };
}

export function completeEvaluate(c: EvaluateConfig | undefined): EvaluateConfig {
  check(c !== undefined, 'config is required');
  const cfg = c as EvaluateConfig;
  check(cfg.targetRunId !== '', 'config.target_run_id is required');
  const split = cfg.split || 'test';
  check(SPLITS.includes(split), `split "${cfg.split}" is unknown; use one of: ${SPLITS.join(', ')}`);
  const checkpoint = cfg.checkpoint || CheckpointChoice.CHECKPOINT_CHOICE_BEST;
  check(checkpoint in CheckpointChoice && checkpoint > 0, `checkpoint ${cfg.checkpoint} is unknown`);
  return { ...cfg, split, checkpoint };
}
