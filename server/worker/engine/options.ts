// TrainingOptions with the proto's zero-means-default rule applied, so the loop never sees a 0
// that means "default".
import type { TrainingOptions } from '../../../gen/ts/pretext/v1/run.js';

export type LrScheduleName = 'reference' | 'constant' | 'cosine';

export interface ResolvedTraining {
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
}

/** The reference's defaults: batch 32, Adam 1e-3, 10% validation; patience 10 pretext / 5 downstream. */
export function resolveTraining(
  t: TrainingOptions | undefined,
  role: 'pretext' | 'downstream',
): ResolvedTraining {
  const epochs = t?.epochs ?? 0;
  if (!Number.isInteger(epochs) || epochs < 1 || epochs > 10000) {
    throw new Error(`training.epochs must be an integer in 1..10000, got ${epochs}`);
  }
  const schedule = t?.lrSchedule || 'reference';
  if (schedule !== 'reference' && schedule !== 'constant' && schedule !== 'cosine') {
    throw new Error(`unknown lr_schedule "${schedule}" (reference, constant or cosine)`);
  }
  const fraction = t?.validationFraction || 0.1;
  if (!(fraction > 0 && fraction < 1))
    throw new Error(`validation_fraction must be in (0, 1), got ${fraction}`);
  const lr = t?.learningRate || 1e-3;
  if (!(lr > 0)) throw new Error(`learning_rate must be positive, got ${lr}`);
  const defaultPatience = role === 'pretext' ? 10 : 5;
  return {
    epochs,
    batchSize: t?.batchSize || 32,
    learningRate: lr,
    lrSchedule: schedule,
    plateauPatience: t?.disablePlateau ? 0 : t?.plateauPatience || defaultPatience,
    augment: t?.augment ?? false,
    validationFraction: fraction,
    maxStepsPerEpoch: t?.maxStepsPerEpoch ?? 0,
    validationLimit: t?.validationLimit ?? 0,
  };
}
