// The method registry of the contract: one entry per method, owning its defaults, the options
// that apply to it, its cross-field checks and how its checkpoints are evaluated. The worker
// implements a method in server/worker/methods/<name>.ts; a new method is that file plus one
// entry here.
import type { ContrastiveOptions, PretextConfig } from '../../../gen/ts/pretext/v1/run.js';
import { quote, type Verdict } from './verdict.js';

export type MethodRole = 'pretext' | 'downstream';
/** How a checkpoint of the method is evaluated (Evaluate, the final figures). */
export type EvaluationKind = 'rotation' | 'classification' | 'knn';
export type ContrastiveKey = keyof ContrastiveOptions;

export interface ContrastiveDefaults {
  /** Options this method reads; the others must stay unset. */
  uses: readonly ContrastiveKey[];
  defaults: Required<Omit<ContrastiveOptions, 'hiddenDim'>>;
}

export interface MethodEntry {
  name: string;
  role: MethodRole;
  summary: string;
  evaluation: EvaluationKind;
  /** What its best checkpoint is selected by. */
  selectionMetric: string;
  /** Reduce-on-plateau patience when the request leaves it 0. */
  plateauPatience: number;
  /** Whether training.augment (shift + flip) applies, and its default. */
  augment: { applies: boolean; default: boolean };
  /** Smallest batch the method's loss is defined for. */
  minBatchSize: number;
  contrastive?: ContrastiveDefaults;
  /** Method-specific cross-field rules on a pretext config (fields under `prefix`). */
  check?(config: PretextConfig, v: Verdict, prefix: string): void;
}

const COMMON_CONTRASTIVE: readonly ContrastiveKey[] = [
  'projectionDim',
  'hiddenDim',
  'augmentStrength',
  'knnK',
];

function contrastiveDefaults(uses: readonly ContrastiveKey[], projectionDim: number): ContrastiveDefaults {
  return {
    uses: [...COMMON_CONTRASTIVE, ...uses],
    defaults: {
      temperature: uses.includes('temperature') ? 0.1 : 0,
      queueSize: uses.includes('queueSize') ? 10_000 : 0,
      projectionDim,
      predictorDim: uses.includes('predictorDim') ? 512 : 0,
      augmentStrength: 1,
      knnK: 20,
    },
  };
}

const contrastive = (
  name: string,
  summary: string,
  uses: readonly ContrastiveKey[],
  projectionDim: number,
): MethodEntry => ({
  name,
  role: 'pretext',
  summary,
  evaluation: 'knn',
  selectionMetric: 'kNN accuracy on backbone features',
  plateauPatience: 10,
  // The two augmented views are the method itself (contrastive.augment_strength scales them).
  augment: { applies: false, default: false },
  minBatchSize: 2,
  contrastive: contrastiveDefaults(uses, projectionDim),
});

const METHOD_LIST: readonly MethodEntry[] = [
  {
    name: 'rotation',
    role: 'pretext',
    summary: '4-way rotation prediction; 1 random rotation per image (the reference) or all 4 (RotNet)',
    evaluation: 'rotation',
    selectionMetric: 'validation rotation accuracy',
    plateauPatience: 10,
    augment: { applies: true, default: true },
    minBatchSize: 1,
    check(config, v, prefix) {
      const r = config.rotationsPerImage;
      v.check(
        r === 0 || r === 1 || r === 4,
        `${prefix}.rotations_per_image`,
        `must be 1 (the reference: one random rotation per image) or 4 (RotNet), got ${quote(r)}`,
      );
    },
  },
  contrastive('simclr', 'NT-Xent between two augmented views', ['temperature'], 128),
  contrastive('simsiam', 'negative cosine with a predictor and stop-gradient', ['predictorDim'], 2048),
  contrastive(
    'nnclr',
    'SimCLR with the nearest neighbour from a support queue',
    ['temperature', 'queueSize'],
    128,
  ),
  {
    name: 'supervised',
    role: 'downstream',
    summary: 'a fresh classifier on a label budget: fine-tune, or a linear probe on the frozen backbone',
    evaluation: 'classification',
    selectionMetric: 'validation accuracy',
    plateauPatience: 5,
    augment: { applies: true, default: true },
    minBatchSize: 1,
  },
];

const METHODS = new Map(METHOD_LIST.map((m) => [m.name, m]));

export const DEFAULT_PRETEXT_METHOD = 'rotation';
export const DOWNSTREAM_METHOD = 'supervised';

export function methodEntry(name: string): MethodEntry | undefined {
  return METHODS.get(name);
}

export function methodNames(role?: MethodRole): string[] {
  return METHOD_LIST.filter((m) => !role || m.role === role).map((m) => m.name);
}

/** The entry of a stored (already resolved) method name; throws for a name the catalog lacks. */
export function mustMethod(name: string): MethodEntry {
  const m = METHODS.get(name);
  if (!m) throw new Error(`method ${quote(name)} is not in the catalog (${methodNames().join(', ')})`);
  return m;
}
