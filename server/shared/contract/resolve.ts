// Requests → complete configs. Each resolver fills every default, checks every limit and
// cross-field rule, and either returns the config the registry stores (and the worker runs
// unchanged) or throws a ContractError listing every field that is wrong.
import {
  CheckpointChoice,
  ContrastiveOptions,
  type DownstreamConfig,
  type EvaluateConfig,
  type PretextConfig,
  Protocol,
  Selection,
  SubsetScheme,
} from '../../../gen/ts/pretext/v1/run.js';
import { StudyArm, type StudyConfig } from '../../../gen/ts/pretext/v1/study.js';
import {
  ARCHITECTURE,
  backboneSideProblem,
  CHECKPOINTS,
  DEFAULT_DATASET,
  DEFAULT_SUBSET_SCHEME,
  type DatasetEntry,
  datasetEntry,
  datasetNames,
  LIMITS,
  parseArchitecture,
  PROTOCOLS,
  SPLITS,
  STUDY_ARMS,
  SUBSET_SCHEMES,
} from './catalog.js';
import {
  type ContrastiveKey,
  DEFAULT_PRETEXT_METHOD,
  DOWNSTREAM_METHOD,
  type MethodEntry,
  methodEntry,
  methodNames,
  mustMethod,
} from './methods.js';
import { presetNames, studyPreset } from './presets.js';
import {
  DEFAULT_SELECTION,
  labelsUsed,
  SELECTIONS,
  selectionEntry,
  withinBudgetMinimum,
} from './selection.js';
import { resolveTraining } from './training.js';
import { choiceField, floatField, intField, quote, Verdict } from './verdict.js';

/** What a downstream run takes from its pretext run. */
export interface PretextFacts {
  dataset: string;
  architecture: string;
  depth: number;
}

export function pretextFacts(c: PretextConfig): PretextFacts {
  return { dataset: c.dataset, architecture: c.architecture, depth: c.depth };
}

function resolveDataset(v: Verdict, field: string, name: string): DatasetEntry {
  const d = datasetEntry(name || DEFAULT_DATASET);
  if (!d) {
    v.fail(field, `${quote(name)} is unknown; use one of: ${datasetNames().join(', ')}`);
    return datasetEntry(DEFAULT_DATASET) as DatasetEntry;
  }
  return d;
}

/** The backbone must take the dataset's image side (imported datasets have any side). */
function checkSide(
  v: Verdict,
  field: string,
  b: { architecture: string; depth: number },
  d: DatasetEntry,
): void {
  const parsed = parseArchitecture(b.architecture, b.depth);
  const problem = parsed && backboneSideProblem(parsed, d.side);
  if (problem) v.fail(field, problem);
}

/** Architecture name and depth; resnet's depth is 6n+2, small_conv has none. */
function resolveBackbone(
  v: Verdict,
  prefix: string,
  rawArchitecture: string,
  rawDepth: number,
): { architecture: string; depth: number } {
  const name = rawArchitecture || ARCHITECTURE.default;
  const parsed = parseArchitecture(name, rawDepth);
  if (!parsed) {
    const { minWidth, maxWidth } = ARCHITECTURE.smallConv;
    v.fail(
      `${prefix}.architecture`,
      `${quote(rawArchitecture)} is unknown; use resnet, resnet18, small_conv or small_conv_<width> (width ${minWidth}..${maxWidth})`,
    );
    return { architecture: ARCHITECTURE.default, depth: ARCHITECTURE.resnet.defaultDepth };
  }
  if (parsed.architecture !== 'resnet') {
    v.check(rawDepth === 0, `${prefix}.depth`, 'applies to the resnet architecture only; leave it 0');
    return { architecture: name, depth: 0 };
  }
  const { defaultDepth, minDepth, maxDepth } = ARCHITECTURE.resnet;
  const depth = rawDepth || defaultDepth;
  v.check(
    Number.isSafeInteger(depth) && depth >= minDepth && depth <= maxDepth && (depth - 2) % 6 === 0,
    `${prefix}.depth`,
    `${quote(rawDepth)} is not a ResNet v1 depth 6n+2 in ${minDepth}..${maxDepth} (20, 32, 44, 56 are the usual ones)`,
  );
  return { architecture: 'resnet', depth };
}

function resolveContrastive(
  raw: ContrastiveOptions | undefined,
  method: MethodEntry,
  v: Verdict,
  prefix: string,
): ContrastiveOptions | undefined {
  const spec = method.contrastive;
  if (!spec) {
    if (raw && Object.values(raw).some((x) => x !== 0)) {
      v.fail(prefix, `does not apply to the ${method.name} method; leave it unset`);
    }
    return undefined;
  }
  const o = raw ?? ContrastiveOptions.fromPartial({});
  const f = (snake: string) => `${prefix}.${snake}`;
  const uses = (k: ContrastiveKey) => spec.uses.includes(k);
  const unused: Array<[ContrastiveKey, string]> = [
    ['temperature', 'temperature'],
    ['queueSize', 'queue_size'],
    ['predictorDim', 'predictor_dim'],
  ];
  for (const [key, snake] of unused) {
    if (!uses(key) && o[key] !== 0) v.fail(f(snake), `does not apply to ${method.name}; leave it 0`);
  }
  const d = spec.defaults;
  const dim = { min: 1, max: 8192 };
  const projectionDim = intField(v, f('projection_dim'), o.projectionDim, {
    ...dim,
    default: d.projectionDim,
  });
  return {
    temperature: uses('temperature')
      ? floatField(v, f('temperature'), o.temperature, { min: 0, max: 10, default: d.temperature })
      : 0,
    queueSize: uses('queueSize')
      ? intField(v, f('queue_size'), o.queueSize, { min: 1, max: 1_000_000, default: d.queueSize })
      : 0,
    projectionDim,
    hiddenDim: intField(v, f('hidden_dim'), o.hiddenDim, { ...dim, default: projectionDim }),
    predictorDim: uses('predictorDim')
      ? intField(v, f('predictor_dim'), o.predictorDim, { ...dim, default: d.predictorDim })
      : 0,
    augmentStrength: floatField(v, f('augment_strength'), o.augmentStrength, {
      min: 0,
      max: 2,
      default: d.augmentStrength,
    }),
    knnK: intField(v, f('knn_k'), o.knnK, { min: 1, max: 1000, default: d.knnK }),
  };
}

function requireConfig<T>(v: Verdict, raw: T | undefined, field: string): raw is T {
  return v.check(raw !== undefined, field, 'is required');
}

/** Resolves a pretext config in place of the verdict `v` (errors under `prefix`). */
export function resolvePretextInto(
  v: Verdict,
  raw: PretextConfig | undefined,
  prefix: string,
): PretextConfig {
  if (!requireConfig(v, raw, prefix)) return {} as PretextConfig;
  const f = (snake: string) => `${prefix}.${snake}`;
  const pretextMethods = methodNames('pretext');
  const methodName = choiceField(v, f('method'), raw.method, pretextMethods, DEFAULT_PRETEXT_METHOD);
  const method = mustMethod(methodName);
  const dataset = resolveDataset(v, f('dataset'), raw.dataset);
  const backbone = resolveBackbone(v, prefix, raw.architecture, raw.depth);
  checkSide(v, f('architecture'), backbone, dataset);
  const limit = raw.unlabeledLimit;
  v.check(
    limit === 0 || (limit >= LIMITS.unlabeledLimit.min && limit <= LIMITS.unlabeledLimit.max),
    f('unlabeled_limit'),
    `must be 0 (all images) or at least ${LIMITS.unlabeledLimit.min}, got ${quote(limit)}`,
  );
  if (method.name !== 'rotation') {
    v.check(raw.rotationsPerImage === 0, f('rotations_per_image'), 'applies to the rotation method only');
  }
  method.check?.(raw, v, prefix);
  return {
    method: method.name,
    dataset: dataset.name,
    unlabeledLimit: limit,
    architecture: backbone.architecture,
    depth: backbone.depth,
    rotationsPerImage: method.name === 'rotation' ? raw.rotationsPerImage || 1 : 0,
    training: resolveTraining(raw.training, method, v, f('training')),
    contrastive: resolveContrastive(raw.contrastive, method, v, f('contrastive')),
  };
}

export function resolvePretext(raw: PretextConfig | undefined): PretextConfig {
  const v = new Verdict();
  const config = resolvePretextInto(v, raw, 'config');
  v.done();
  return config;
}

/** The label budget rule of a scheme on a dataset; returns the number of folds it has. */
export function checkBudget(
  v: Verdict,
  field: string,
  dataset: DatasetEntry,
  schemeEntry: ReturnType<typeof SUBSET_SCHEMES.get>,
  nLabels: number,
): number {
  if (!schemeEntry) return 0;
  if (!Number.isSafeInteger(nLabels) || nLabels < 1) {
    v.fail(
      field,
      `the label budget is required: a positive multiple of ${dataset.numClasses}, got ${quote(nLabels)}`,
    );
    return 0;
  }
  const folds = schemeEntry.folds(dataset, nLabels);
  if (typeof folds === 'string') {
    v.fail(field, folds);
    return 0;
  }
  return folds;
}

function enumField<E extends number>(
  v: Verdict,
  field: string,
  value: E,
  known: Map<E, string>,
  fallback: E,
  enumName: Record<number, string>,
): E {
  if ((value as number) === 0) return fallback;
  if (known.has(value)) return value;
  v.fail(
    field,
    `${quote(value)} is unknown; use one of: ${[...known.keys()].map((k) => enumName[k]).join(', ')}`,
  );
  return fallback;
}

/**
 * Resolves a downstream config. `parent` = the facts of its pretext run (SSL+SL), or undefined
 * for SL from scratch.
 */
export function resolveDownstreamInto(
  v: Verdict,
  raw: DownstreamConfig | undefined,
  parent: PretextFacts | undefined,
  prefix: string,
): DownstreamConfig {
  if (!requireConfig(v, raw, prefix)) return {} as DownstreamConfig;
  const f = (snake: string) => `${prefix}.${snake}`;
  const method = mustMethod(DOWNSTREAM_METHOD);
  const dataset = resolveDataset(v, f('dataset'), raw.dataset || parent?.dataset || '');
  if (parent && dataset.name !== parent.dataset) {
    v.fail(
      f('dataset'),
      `${quote(raw.dataset)} differs from the pretext run's dataset "${parent.dataset}"; leave it empty`,
    );
  }
  const scheme = enumField(
    v,
    f('subset_scheme'),
    raw.subsetScheme,
    new Map([...SUBSET_SCHEMES].map(([k, e]) => [k, e.name])),
    DEFAULT_SUBSET_SCHEME,
    SubsetScheme,
  );
  const schemeEntry = SUBSET_SCHEMES.get(scheme);
  const nLabels = raw.nLabels || schemeEntry?.defaultBudget?.(dataset) || 0;
  const folds = checkBudget(v, f('n_labels'), dataset, schemeEntry, nLabels);
  if (folds > 0) {
    v.check(
      Number.isSafeInteger(raw.fold) && raw.fold >= 0 && raw.fold < folds,
      f('fold'),
      `${quote(raw.fold)} is out of range: ${schemeEntry?.name} has folds 0..${folds - 1} for ${nLabels} labels on ${dataset.name}`,
    );
  }
  const protocol = enumField(
    v,
    f('protocol'),
    raw.protocol,
    PROTOCOLS,
    Protocol.PROTOCOL_FINE_TUNE,
    Protocol,
  );
  let checkpoint = CheckpointChoice.CHECKPOINT_CHOICE_UNSPECIFIED;
  let backbone: { architecture: string; depth: number };
  if (parent) {
    checkpoint = enumField(
      v,
      f('checkpoint'),
      raw.checkpoint,
      CHECKPOINTS,
      CheckpointChoice.CHECKPOINT_CHOICE_BEST,
      CheckpointChoice,
    );
    v.check(
      raw.architecture === '' || raw.architecture === parent.architecture,
      f('architecture'),
      'comes from the pretext run (its backbone transfers); leave it empty',
    );
    v.check(
      raw.depth === 0 || raw.depth === parent.depth,
      f('depth'),
      'comes from the pretext run; leave it 0',
    );
    backbone = { architecture: parent.architecture, depth: parent.depth };
  } else {
    v.check(
      raw.checkpoint === 0,
      f('checkpoint'),
      'applies to runs from a pretext run (pretext_run_id) only',
    );
    v.check(
      protocol !== Protocol.PROTOCOL_LINEAR_PROBE,
      f('protocol'),
      'a linear probe needs a pretrained backbone: set pretext_run_id',
    );
    backbone = resolveBackbone(v, prefix, raw.architecture, raw.depth);
    checkSide(v, f('architecture'), backbone, dataset);
  }
  const testLimit = intField(v, f('test_limit'), raw.testLimit, LIMITS.testLimit);
  const selection = enumField(
    v,
    f('selection'),
    raw.selection,
    new Map([...SELECTIONS].map(([k, e]) => [k, e.name])),
    DEFAULT_SELECTION,
    Selection,
  );
  const training = resolveTraining(raw.training, method, v, f('training'));
  const selectionName = SELECTIONS.get(selection)?.name;
  if (selectionName === 'within_budget' && folds > 0 && nLabels < withinBudgetMinimum(dataset)) {
    v.fail(
      f('selection'),
      `within_budget needs at least ${withinBudgetMinimum(dataset)} labels (one to select and one to train per class); use last_epoch`,
    );
  }
  if (selectionName === 'last_epoch') {
    // Plateau reduction watches the selection split, and last_epoch has none.
    v.check(
      !raw.training?.plateauPatience || raw.training.disablePlateau,
      f('training.plateau_patience'),
      'needs a selection split to watch; last_epoch has none: set disable_plateau',
    );
    training.disablePlateau = true;
    training.plateauPatience = 0;
  }
  if (training.minSteps > 0 && nLabels > 0 && !v.has(f('training'))) {
    // The step floor becomes epochs here, so the stored config says what the worker runs.
    const trainImages = labelsUsed(dataset, { nLabels, selection, training }).train;
    const stepsPerEpoch = Math.max(1, Math.ceil(trainImages / training.batchSize));
    const epochs = Math.max(training.epochs, Math.ceil(training.minSteps / stepsPerEpoch));
    v.check(
      epochs <= LIMITS.epochs.max,
      f('training.min_steps'),
      `needs ${epochs} epochs on ${trainImages} training images, over the ${LIMITS.epochs.max} limit`,
    );
    training.epochs = Math.min(epochs, LIMITS.epochs.max);
  }
  return {
    pretextRunId: raw.pretextRunId,
    checkpoint,
    protocol,
    dataset: dataset.name,
    nLabels,
    fold: raw.fold,
    subsetScheme: scheme,
    architecture: backbone.architecture,
    depth: backbone.depth,
    training,
    testLimit,
    selection,
  };
}

export function resolveDownstream(
  raw: DownstreamConfig | undefined,
  parent: PretextFacts | undefined,
): DownstreamConfig {
  const v = new Verdict();
  const config = resolveDownstreamInto(v, raw, parent, 'config');
  v.done();
  return config;
}

/** What an evaluation needs to know of its target run. */
export interface TargetFacts {
  method: string;
  /** A downstream target's selection (what its validation split is, if it has one). */
  selection?: Selection;
}

export function resolveEvaluate(
  raw: EvaluateConfig | undefined,
  target: TargetFacts | undefined,
): EvaluateConfig {
  const v = new Verdict();
  if (!requireConfig(v, raw, 'config')) v.done();
  const cfg = raw as EvaluateConfig;
  const split = choiceField(v, 'config.split', cfg.split, SPLITS, 'test');
  const checkpoint = enumField(
    v,
    'config.checkpoint',
    cfg.checkpoint,
    CHECKPOINTS,
    CheckpointChoice.CHECKPOINT_CHOICE_BEST,
    CheckpointChoice,
  );
  const limit = intField(v, 'config.limit', cfg.limit, LIMITS.testLimit);
  if (target && methodEntry(target.method)?.evaluation === 'knn') {
    v.check(
      split !== 'train',
      'config.split',
      `${target.method} runs are evaluated by kNN on backbone features; use validation or test (the train split is the kNN bank)`,
    );
  }
  if (target?.selection !== undefined && !selectionEntry(target.selection).holdsOut) {
    v.check(
      split !== 'validation',
      'config.split',
      `the target run used selection ${selectionEntry(target.selection).name} and holds out no validation images; use split test`,
    );
  }
  v.done();
  return { targetRunId: cfg.targetRunId, checkpoint, split, limit };
}

/** A study's child run, resolved. */
export interface StudyChild {
  arm: StudyArm;
  nLabels: number;
  fold: number;
  /** Complete config; `pretextRunId` is empty for SSL arms until the pretext run exists. */
  config: DownstreamConfig;
}

export interface ResolvedStudy {
  config: StudyConfig;
  /** The pretext run to start, when the study starts one. */
  pretext?: PretextConfig;
  children: StudyChild[];
}

export const DEFAULT_STUDY_BUDGETS = [100, 250, 625, 1250, 2500, 5000];
const DEFAULT_ARMS = [StudyArm.STUDY_ARM_SL, StudyArm.STUDY_ARM_SSL_FINE_TUNE];

/** Fields of `top` that are set (proto3: non-zero, non-empty) replace those of `base`, recursively. */
function overlay<T>(base: T, top: T): T {
  if (top === undefined || top === null) return base;
  if (base === undefined || base === null || typeof top !== 'object' || Array.isArray(top)) return top;
  const out: Record<string, unknown> = { ...(base as Record<string, unknown>) };
  for (const [k, value] of Object.entries(top as Record<string, unknown>)) {
    if (value === undefined || value === 0 || value === '' || value === false) {
      // `augment` is optional: an explicit false is a setting, not "unset".
      if (!(k === 'augment' && value === false)) continue;
    }
    if (Array.isArray(value) && value.length === 0) continue;
    out[k] = typeof value === 'object' && !Array.isArray(value) ? overlay(out[k], value) : value;
  }
  return out as T;
}

/** The preset named by `raw.preset`, overlaid with every field `raw` sets. */
export function expandPreset(v: Verdict, raw: StudyConfig): StudyConfig {
  if (!raw.preset) return raw;
  const preset = studyPreset(raw.preset);
  if (!preset) {
    v.fail('config.preset', `${quote(raw.preset)} is unknown; use one of: ${presetNames().join(', ')}`);
    return raw;
  }
  const base = structuredClone(preset);
  if (raw.pretextRunId) base.pretext = undefined;
  return overlay(base, raw);
}

/**
 * Resolves a study and every child run it will create — every arm, budget and fold — so a
 * study is either wholly valid or refused before anything exists. `existing` = the facts of
 * the existing pretext run named by pretext_run_id.
 */
export function resolveStudy(
  raw: StudyConfig | undefined,
  existing: PretextFacts | undefined,
): ResolvedStudy {
  const v = new Verdict();
  if (!requireConfig(v, raw, 'config')) v.done();
  const cfg = expandPreset(v, raw as StudyConfig);
  v.done();
  const hasRun = cfg.pretextRunId !== '';
  if (hasRun === (cfg.pretext !== undefined)) {
    v.fail(
      'config.pretext',
      'give exactly one of config.pretext_run_id (an existing pretext run) or config.pretext (a run to start)',
    );
    v.done();
  }
  const pretext = cfg.pretext ? resolvePretextInto(v, cfg.pretext, 'config.pretext') : undefined;
  const facts = pretext ? pretextFacts(pretext) : existing;
  if (!facts) {
    v.fail('config.pretext_run_id', 'the pretext run is unknown');
    v.done();
  }
  const parent = facts as PretextFacts;

  const budgets = cfg.labelBudgets.length ? [...cfg.labelBudgets] : [...DEFAULT_STUDY_BUDGETS];
  v.check(
    budgets.length <= LIMITS.studyBudgets.max,
    'config.label_budgets',
    `at most ${LIMITS.studyBudgets.max} budgets`,
  );
  v.check(new Set(budgets).size === budgets.length, 'config.label_budgets', 'has duplicates');
  budgets.sort((a, b) => a - b);
  const folds = intField(v, 'config.folds', cfg.folds, LIMITS.studyFolds);
  const arms = cfg.arms.length ? [...new Set(cfg.arms)] : [...DEFAULT_ARMS];
  for (const a of arms) {
    if (!STUDY_ARMS.has(a))
      v.fail('config.arms', `${quote(a)} is unknown; use: ${[...STUDY_ARMS.values()].join(', ')}`);
  }
  arms.sort((a, b) => a - b);

  // The child template: dataset and backbone come from the pretext run.
  const template = cfg.downstream ?? ({} as DownstreamConfig);
  const dataset = resolveDataset(v, 'config.downstream.dataset', template.dataset || parent.dataset);
  if (template.dataset && template.dataset !== parent.dataset) {
    v.fail(
      'config.downstream.dataset',
      `differs from the pretext run's dataset "${parent.dataset}"; leave it empty`,
    );
  }
  for (const key of ['pretextRunId', 'nLabels', 'fold', 'protocol'] as const) {
    if (template[key])
      v.fail(`config.downstream.${snake(key)}`, 'is set per child by the study; leave it unset');
  }
  const scheme = template.subsetScheme || DEFAULT_SUBSET_SCHEME;
  const schemeEntry = SUBSET_SCHEMES.get(scheme);
  budgets.forEach((n, i) => {
    const available = checkBudget(v, `config.label_budgets[${i}]`, dataset, schemeEntry, n);
    if (available > 0 && folds > available) {
      v.fail(
        'config.folds',
        `${folds} folds do not fit a budget of ${n} on ${dataset.name}: at most ${available}`,
      );
    }
  });
  if (v.has('config.label_budgets') || v.has('config.folds') || v.has('config.arms')) v.done();

  const children: StudyChild[] = [];
  for (const nLabels of budgets) {
    for (let fold = 0; fold < folds; fold++) {
      for (const arm of arms) {
        const ssl = arm !== StudyArm.STUDY_ARM_SL;
        const childRaw: DownstreamConfig = {
          ...template,
          dataset: dataset.name,
          nLabels,
          fold,
          pretextRunId: '',
          // SL trains the same backbone as the SSL arms, from random init.
          architecture: ssl ? '' : parent.architecture,
          depth: ssl ? 0 : parent.depth,
          checkpoint: ssl ? template.checkpoint : CheckpointChoice.CHECKPOINT_CHOICE_UNSPECIFIED,
          protocol:
            arm === StudyArm.STUDY_ARM_SSL_LINEAR_PROBE
              ? Protocol.PROTOCOL_LINEAR_PROBE
              : Protocol.PROTOCOL_FINE_TUNE,
          // Both arms of a fold share the seed: same labeled subset, same validation split.
          training: template.training
            ? { ...template.training, seed: template.training.seed || 1 + fold }
            : undefined,
        };
        const config = resolveDownstreamInto(v, childRaw, ssl ? parent : undefined, 'config.downstream');
        children.push({ arm, nLabels, fold, config });
      }
    }
  }
  v.done();
  return {
    config: {
      ...cfg,
      pretext,
      labelBudgets: budgets,
      folds,
      arms,
      downstream: { ...template, dataset: dataset.name, subsetScheme: scheme },
    },
    pretext,
    children,
  };
}

function snake(camel: string): string {
  return camel.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`);
}
