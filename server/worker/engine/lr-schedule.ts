// The reference's learning-rate policy: a step decay at 40/60/80/90% of the run (epochs
// 80/120/160/180 of 200) times whatever reduce-on-plateau has taken off. Both parts are plain
// data so that a checkpoint can store them and a resumed run continues the same curve.
import type { LrScheduleName } from '../../shared/contract/catalog.js';

/** Multiplier of the base lr for 1-based `epoch` of `epochs`. */
export function scheduleFactor(name: LrScheduleName, epoch: number, epochs: number): number {
  if (name === 'constant') return 1;
  if (name === 'cosine') return 0.5 * (1 + Math.cos((Math.PI * (epoch - 1)) / epochs));
  // Keras' lr_schedule(e) for 0-based e: "> 180" etc.; scaled, so 200 epochs gives exactly the reference.
  const done = (epoch - 1) / epochs;
  if (done > 0.9) return 0.5e-3;
  if (done > 0.8) return 1e-3;
  if (done > 0.6) return 1e-2;
  if (done > 0.4) return 1e-1;
  return 1;
}

export const PLATEAU_FACTOR = Math.sqrt(0.1);
export const PLATEAU_MIN_LR = 0.5e-6;
// Keras ReduceLROnPlateau defaults: monitor val_loss, mode min, min_delta 1e-4, cooldown 0.
const MIN_DELTA = 1e-4;

export interface PlateauState {
  /** Product of the reductions so far. */
  scale: number;
  best: number;
  /** Epochs since the last improvement. */
  wait: number;
}

export function newPlateau(): PlateauState {
  return { scale: 1, best: Number.POSITIVE_INFINITY, wait: 0 };
}

/** Feeds one epoch's validation loss; returns the next state (reduced after `patience` flat epochs). */
export function stepPlateau(
  s: PlateauState,
  valLoss: number,
  patience: number,
  currentLr: number,
): PlateauState {
  if (patience <= 0 || !Number.isFinite(valLoss)) return s;
  if (valLoss < s.best - MIN_DELTA) return { scale: s.scale, best: valLoss, wait: 0 };
  const wait = s.wait + 1;
  if (wait < patience) return { ...s, wait };
  // Like Keras: only reduce while the lr is above the floor, never below it.
  const reduced = Math.max(currentLr * PLATEAU_FACTOR, PLATEAU_MIN_LR);
  const scale = currentLr > PLATEAU_MIN_LR ? (s.scale * reduced) / currentLr : s.scale;
  return { scale, best: s.best, wait: 0 };
}

/** Learning rate of 1-based `epoch`. */
export function learningRateAt(
  base: number,
  name: LrScheduleName,
  epoch: number,
  epochs: number,
  plateau: PlateauState,
): number {
  return base * scheduleFactor(name, epoch, epochs) * plateau.scale;
}
