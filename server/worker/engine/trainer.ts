// The training loop every method shares: Adam through a custom step, the lr schedule and
// reduce-on-plateau, validation, best/last checkpoints, throttled step metrics and epoch
// metrics, cancellation at every step, and resume from `checkpoints/last`.
import * as tf from '@tensorflow/tfjs';
import type { EpochMetrics, StepMetrics } from '../../../gen/ts/pretext/v1/event.js';
import { LogLevel } from '../../../gen/ts/pretext/v1/event.js';
import { Rng } from '../data/rng.js';
import { type Batch, deriveSeed, type Method, type MethodInfo } from '../methods/base.js';
import {
  assignWeights,
  disposeCheckpoint,
  findCheckpoint,
  loadCheckpoint,
  saveCheckpoint,
} from './checkpoint.js';
import { createAdam } from '../backend/fused-adam.js';
import { type CheckpointKind, checkpointDir } from './checkpoint-names.js';
import { learningRateAt, newPlateau, type PlateauState, stepPlateau } from './lr-schedule.js';
import type { TrainingSettings } from '../../shared/contract/training.js';
import type { JobContext } from './worker-runtime.js';

/** Everything the loop needs to continue a run exactly where it stopped. */
export interface TrainerState {
  /** Epochs finished. */
  epoch: number;
  /** Optimizer steps done. */
  step: number;
  /** Learning rate of the last finished epoch. */
  lr: number;
  plateau: PlateauState;
  /** The RNG of shuffling and augmentation, after the last finished epoch. */
  rng: number[];
  history: EpochMetrics[];
  bestEpoch: number;
  bestValAccuracy: number;
  trainSeconds: number;
}

/** The JSON part of every checkpoint. */
export interface CheckpointState {
  trainer: TrainerState;
  info: MethodInfo;
}

export interface TrainRun {
  runDir: string;
  seed: number;
  /** Continue from `checkpoints/last` when there is one. */
  resume: boolean;
}

/** Step metrics at most this often. */
const STEP_EVENT_MS = 333;

function setLearningRate(optimizer: tf.Optimizer, lr: number): void {
  // Adam reads `learningRate` at every step; tfjs only declares it protected.
  (optimizer as unknown as { learningRate: number }).learningRate = lr;
}

/** Lets IPC messages (a cancel) in between steps: tfjs' cpu/wasm reads resolve as microtasks. */
const yieldToEventLoop = () => new Promise<void>((resolve) => setImmediate(resolve));

function sameNetwork(a: MethodInfo, b: MethodInfo): boolean {
  return (
    JSON.stringify([a.method, a.network, a.dataset]) === JSON.stringify([b.method, b.network, b.dataset])
  );
}

async function save(
  kind: CheckpointKind,
  run: TrainRun,
  method: Method,
  optimizer: tf.Optimizer,
  state: TrainerState,
): Promise<string> {
  const dir = checkpointDir(run.runDir, kind);
  const slots = await optimizer.getWeights();
  try {
    await saveCheckpoint<CheckpointState>(dir, method.model, {
      state: { trainer: state, info: method.info },
      optimizer: slots,
      arrays: await method.arrays(),
    });
  } finally {
    // getWeights() hands out the live moment variables plus a fresh iteration scalar.
    for (const s of slots) if (!(s.tensor instanceof tf.Variable)) s.tensor.dispose();
  }
  return dir;
}

/** Restores weights, optimizer slots and loop state from `checkpoints/last`; undefined when absent. */
async function restore(
  ctx: JobContext,
  run: TrainRun,
  method: Method,
  optimizer: tf.Optimizer,
): Promise<TrainerState | undefined> {
  const dir = checkpointDir(run.runDir, 'last');
  if (!(await findCheckpoint(dir))) {
    ctx.log(
      LogLevel.LOG_LEVEL_WARN,
      'resume requested but there is no checkpoint yet; starting from epoch 1',
    );
    return undefined;
  }
  const ckpt = await loadCheckpoint<CheckpointState>(dir);
  try {
    if (!sameNetwork(ckpt.state.info, method.info)) {
      throw new Error(`checkpoint ${ckpt.dir} belongs to a different network or method; cannot resume`);
    }
    assignWeights(method.model, ckpt.weights);
    if (ckpt.optimizer.length > 0) await optimizer.setWeights(ckpt.optimizer);
  } finally {
    disposeCheckpoint(ckpt);
  }
  const s = ckpt.state.trainer;
  ctx.log(LogLevel.LOG_LEVEL_INFO, `resumed from ${ckpt.dir} after epoch ${s.epoch} (step ${s.step})`);
  reemitMissingEpochs(ctx, run, s);
  return s;
}

/**
 * The checkpoint is written before its epoch's event, so a daemon killed in between has the
 * epoch on disk but not in its log: send those epochs again, from the checkpoint's history,
 * with the checkpoint events that went missing with them.
 */
function reemitMissingEpochs(ctx: JobContext, run: TrainRun, s: TrainerState): void {
  // A caller that does not say what its log holds (a bare worker, not a daemon) gets nothing again.
  if (!ctx.spec.loggedEpochs) return;
  const logged = new Set(ctx.spec.loggedEpochs);
  const missing = s.history.filter((m) => !logged.has(m.epoch));
  if (missing.length === 0) return;
  ctx.log(
    LogLevel.LOG_LEVEL_INFO,
    `re-sending epoch ${missing.map((m) => m.epoch).join(', ')} from the checkpoint (not in the log)`,
  );
  for (const m of missing) ctx.emit({ $case: 'epoch', epoch: m });
  const last = s.history.at(-1);
  if (missing.some((m) => m.epoch === s.bestEpoch)) {
    emitCheckpoint(ctx, 'best', checkpointDir(run.runDir, 'best'), s.bestEpoch, s.bestValAccuracy);
  }
  emitCheckpoint(ctx, 'last', checkpointDir(run.runDir, 'last'), s.epoch, last?.valAccuracy ?? 0);
}

function emitCheckpoint(
  ctx: JobContext,
  name: CheckpointKind,
  dir: string,
  epoch: number,
  metric: number,
): void {
  ctx.emit({
    $case: 'checkpoint',
    checkpoint: {
      artifact: { name, kind: 'checkpoint', path: dir, epoch, createdAtUnixMs: Date.now(), metric },
    },
  });
}

/** One optimizer step inside tidy; returns the batch's loss and accuracy as numbers. */
async function trainStep(
  method: Method,
  optimizer: tf.Optimizer,
  vars: tf.Variable[],
  batch: Batch,
): Promise<{ loss: number; accuracy: number }> {
  let accuracy: tf.Scalar | undefined;
  const loss = tf.tidy(() => {
    const { value, grads } = tf.variableGrads(() => {
      const out = method.loss(batch);
      if (out.accuracy) accuracy = tf.keep(out.accuracy);
      return out.loss;
    }, vars);
    optimizer.applyGradients(grads);
    return value;
  });
  tf.dispose(batch.tensors);
  try {
    return { loss: (await loss.data())[0]!, accuracy: accuracy ? (await accuracy.data())[0]! : 0 };
  } finally {
    tf.dispose([loss, accuracy ?? []]);
  }
}

/** Means and throughput of the steps since the last step event. */
class StepWindow {
  private loss = 0;
  private accuracy = 0;
  private steps = 0;
  private images = 0;
  private start = performance.now();

  add(loss: number, accuracy: number, images: number): void {
    this.loss += loss;
    this.accuracy += accuracy;
    this.steps++;
    this.images += images;
  }

  due(): boolean {
    return performance.now() - this.start >= STEP_EVENT_MS;
  }

  flush(at: { epoch: number; step: number; totalSteps: number; learningRate: number }): StepMetrics {
    const now = performance.now();
    const seconds = (now - this.start) / 1000;
    const n = Math.max(1, this.steps);
    const m: StepMetrics = {
      ...at,
      loss: this.loss / n,
      accuracy: this.accuracy / n,
      imagesPerSecond: seconds > 0 ? this.images / seconds : 0,
      etaSeconds: Math.max(0, at.totalSteps - at.step) * (seconds / n),
      extra: {},
    };
    this.loss = 0;
    this.accuracy = 0;
    this.steps = 0;
    this.images = 0;
    this.start = now;
    return m;
  }
}

/**
 * Trains `method` for `opts.epochs` epochs (continuing a resumed run) and returns the final
 * loop state. The best checkpoint (highest validation accuracy) is on disk when it returns.
 */
export async function train(
  ctx: JobContext,
  method: Method,
  opts: TrainingSettings,
  run: TrainRun,
): Promise<TrainerState> {
  const optimizer: tf.Optimizer = createAdam(opts.learningRate);
  try {
    let state: TrainerState = (run.resume ? await restore(ctx, run, method, optimizer) : undefined) ?? {
      epoch: 0,
      step: 0,
      lr: opts.learningRate,
      plateau: newPlateau(),
      rng: new Rng(deriveSeed(run.seed, 'train')).getState(),
      history: [],
      bestEpoch: 0,
      bestValAccuracy: -1,
      trainSeconds: 0,
    };
    const rng = Rng.fromState(state.rng);
    const vars = method.trainableVariables();
    const fullSteps = method.stepsPerEpoch();
    const stepsPerEpoch = opts.maxStepsPerEpoch > 0 ? Math.min(fullSteps, opts.maxStepsPerEpoch) : fullSteps;
    const totalSteps = stepsPerEpoch * opts.epochs;

    for (let epoch = state.epoch + 1; epoch <= opts.epochs; epoch++) {
      const epochStart = performance.now();
      const lr = learningRateAt(opts.learningRate, opts.lrSchedule, epoch, opts.epochs, state.plateau);
      setLearningRate(optimizer, lr);
      method.beginEpoch(rng);
      let step = state.step;
      let epochLoss = 0;
      let epochAcc = 0;
      let epochImages = 0;
      const meter = new StepWindow();

      for (let i = 0; i < stepsPerEpoch; i++) {
        ctx.throwIfCancelled();
        const batch = method.batch(i, rng);
        const { loss, accuracy } = await trainStep(method, optimizer, vars, batch);
        if (!Number.isFinite(loss))
          throw new Error(`training diverged: loss ${loss} at epoch ${epoch} step ${i + 1}`);
        step++;
        epochLoss += loss;
        epochAcc += accuracy;
        epochImages += batch.size;
        meter.add(loss, accuracy, batch.size);
        if (meter.due() || i === stepsPerEpoch - 1) {
          ctx.emit({ $case: 'step', step: meter.flush({ epoch, step, totalSteps, learningRate: lr }) });
        }
        await yieldToEventLoop();
      }

      const trainPhase = (performance.now() - epochStart) / 1000;
      ctx.throwIfCancelled();
      const v = await method.validate();
      const seconds = (performance.now() - epochStart) / 1000;
      // "best" is the selected checkpoint: every epoch's when the method selects the last.
      const selectsLast = method.selects === 'last';
      const improved = selectsLast || v.accuracy > state.bestValAccuracy;
      const selectedMetric = selectsLast ? 0 : v.accuracy;
      const metrics: EpochMetrics = {
        epoch,
        epochs: opts.epochs,
        trainLoss: epochLoss / stepsPerEpoch,
        trainAccuracy: epochAcc / stepsPerEpoch,
        valLoss: v.loss,
        valAccuracy: v.accuracy,
        learningRate: lr,
        seconds,
        extra: { ...v.extra, images_per_second: trainPhase > 0 ? epochImages / trainPhase : 0 },
      };
      state = {
        epoch,
        step,
        lr,
        plateau: stepPlateau(state.plateau, v.loss, opts.plateauPatience, lr),
        rng: rng.getState(),
        history: [...state.history, metrics],
        bestEpoch: improved ? epoch : state.bestEpoch,
        bestValAccuracy: improved ? selectedMetric : state.bestValAccuracy,
        trainSeconds: state.trainSeconds + seconds,
      };
      // Checkpoints first, then the events: an epoch the log reports is always on disk.
      const bestDir = improved ? await save('best', run, method, optimizer, state) : undefined;
      const lastDir = await save('last', run, method, optimizer, state);
      ctx.emit({ $case: 'epoch', epoch: metrics });
      if (bestDir) emitCheckpoint(ctx, 'best', bestDir, epoch, selectedMetric);
      emitCheckpoint(ctx, 'last', lastDir, epoch, Number.isFinite(v.accuracy) ? v.accuracy : 0);
    }
    return state;
  } finally {
    optimizer.dispose();
  }
}
