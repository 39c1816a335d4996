// Training options: resolved once at the RPC (every default filled in, every limit checked),
// then read by the worker as they are.
import { TrainingOptions } from '../../../gen/ts/pretext/v1/run.js';
import { LIMITS, LR_SCHEDULES, type LrScheduleName, PRECISIONS, type PrecisionName } from './catalog.js';
import type { MethodEntry } from './methods.js';
import { choiceField, floatField, intField, quote, type Verdict } from './verdict.js';
import { randomInt } from 'node:crypto';

/** The seed a request gets when it leaves 0: drawn once, then recorded in the stored config. */
export function drawSeed(): number {
  return randomInt(1, LIMITS.seed.max);
}

export function resolveTraining(
  raw: TrainingOptions | undefined,
  method: MethodEntry,
  v: Verdict,
  prefix: string,
): TrainingOptions {
  const f = (name: string) => `${prefix}.${name}`;
  if (!raw) {
    v.fail(prefix, `is required (at least training.epochs, ${LIMITS.epochs.min}..${LIMITS.epochs.max})`);
    // Go on with a placeholder so the other fields' errors are reported too.
    return resolveTraining(TrainingOptions.fromPartial({ epochs: 1 }), method, v, prefix);
  }
  const epochs = raw.epochs;
  if (epochs === 0)
    v.fail(f('epochs'), `is required: an integer in ${LIMITS.epochs.min}..${LIMITS.epochs.max}`);
  else intField(v, f('epochs'), epochs, LIMITS.epochs);
  const batchSize = intField(v, f('batch_size'), raw.batchSize, {
    ...LIMITS.batchSize,
    min: Math.max(LIMITS.batchSize.min, method.minBatchSize),
    hint:
      method.minBatchSize > 1
        ? `${method.name} compares images within a batch, so it needs at least ${method.minBatchSize}`
        : undefined,
  });
  const learningRate = floatField(v, f('learning_rate'), raw.learningRate, LIMITS.learningRate);
  const lrSchedule = choiceField(v, f('lr_schedule'), raw.lrSchedule, LR_SCHEDULES, 'reference');
  let plateauPatience = raw.plateauPatience;
  if (raw.disablePlateau) {
    v.check(plateauPatience === 0, f('plateau_patience'), 'contradicts disable_plateau; give one of them');
    plateauPatience = 0;
  } else {
    plateauPatience = intField(v, f('plateau_patience'), plateauPatience, {
      ...LIMITS.plateauPatience,
      default: method.plateauPatience,
    });
  }
  let augment = raw.augment ?? method.augment.default;
  if (raw.augment === true && !method.augment.applies) {
    v.fail(
      f('augment'),
      `does not apply to ${method.name}: its augmented views are the method (use contrastive.augment_strength)`,
    );
    augment = false;
  }
  const validationFraction = floatField(
    v,
    f('validation_fraction'),
    raw.validationFraction,
    LIMITS.validationFraction,
  );
  const maxStepsPerEpoch = intField(
    v,
    f('max_steps_per_epoch'),
    raw.maxStepsPerEpoch,
    LIMITS.maxStepsPerEpoch,
  );
  const validationLimit = intField(v, f('validation_limit'), raw.validationLimit, LIMITS.validationLimit);
  const minSteps = intField(v, f('min_steps'), raw.minSteps, LIMITS.minSteps);
  const precision = choiceField(v, f('precision'), raw.precision, PRECISIONS, 'fp32');
  v.check(
    minSteps === 0 || method.role === 'downstream',
    f('min_steps'),
    'applies to downstream runs only (their step count follows the label budget)',
  );
  let seed = raw.seed;
  if (!Number.isSafeInteger(seed) || seed < 0 || seed > LIMITS.seed.max) {
    v.fail(
      f('seed'),
      `must be an integer in 0..${LIMITS.seed.max} (0 = pick one and record it), got ${quote(seed)}`,
    );
    seed = 1;
  }
  return {
    epochs,
    batchSize,
    learningRate,
    lrSchedule,
    plateauPatience,
    disablePlateau: raw.disablePlateau,
    augment,
    validationFraction,
    maxStepsPerEpoch,
    seed: seed === 0 ? drawSeed() : seed,
    validationLimit,
    minSteps,
    precision,
  };
}

/** A resolved TrainingOptions, typed for the training loop. */
export interface TrainingSettings {
  epochs: number;
  batchSize: number;
  learningRate: number;
  lrSchedule: LrScheduleName;
  /** 0 = reduce-on-plateau switched off. */
  plateauPatience: number;
  augment: boolean;
  validationFraction: number;
  /** 0 = a full pass. */
  maxStepsPerEpoch: number;
  /** 0 = the whole validation split. */
  validationLimit: number;
  precision: PrecisionName;
}

/** The worker's view of a stored config's training options: no defaults, no checks (the RPC did both). */
export function trainingSettings(t: TrainingOptions | undefined): TrainingSettings {
  if (!t) throw new Error('the run config has no training options (it was not resolved by the daemon)');
  return {
    epochs: t.epochs,
    batchSize: t.batchSize,
    learningRate: t.learningRate,
    lrSchedule: t.lrSchedule as LrScheduleName,
    plateauPatience: t.disablePlateau ? 0 : t.plateauPatience,
    augment: t.augment === true,
    validationFraction: t.validationFraction,
    maxStepsPerEpoch: t.maxStepsPerEpoch,
    validationLimit: t.validationLimit,
    precision: (t.precision || 'fp32') as PrecisionName,
  };
}
