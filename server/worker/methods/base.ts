// What a method is: it supplies its network, its batches and its loss; the trainer owns the
// optimizer, the lr schedule, checkpoints, metrics and cancellation. A method keeps no
// training state of its own beyond what it rebuilds from its config and seed, so resume only
// needs the trainer's checkpoint.
import * as tf from '@tensorflow/tfjs';
import type { EvalResult } from '../../../gen/ts/pretext/v1/run.js';
import type { DatasetHandle } from '../../shared/data/registry.js';
import type { Rng } from '../data/rng.js';
import { carveValidation } from '../data/subsets.js';
import { outsideSelectionSize } from '../../shared/contract/selection.js';
import type { ArrayEntry } from '../engine/checkpoint.js';
import type { TrainingSettings } from '../../shared/contract/training.js';
import type { JobContext } from '../engine/worker-runtime.js';
import type { NetworkSpec } from './network.js';

/** Tensors of one step; the trainer disposes them after the step. */
export interface Batch {
  /** Images the step consumed (for img/s). */
  size: number;
  tensors: tf.Tensor[];
}

export interface LossOutput {
  loss: tf.Scalar;
  /** Training accuracy of the batch, when the method has one. */
  accuracy?: tf.Scalar;
}

export interface ValidationResult {
  loss: number;
  /** The model-selection metric (best checkpoint = highest). */
  accuracy: number;
  extra?: Record<string, number>;
}

/** JSON facts stored with every checkpoint: enough to rebuild the network and evaluate it later. */
export interface MethodInfo {
  method: string;
  /** What the head predicts: "rotation" (4-way) or "classification". */
  task: string;
  dataset: string;
  network: NetworkSpec;
  /** Names of the head's outputs, in label order. */
  classNames: string[];
  /** Indices into `model.weights` of the backbone's weights, in `backbone.weights` order. */
  backboneWeights: number[];
  /** Split the training and validation indices point into, and how many images were read. */
  trainSplit: 'train' | 'unlabeled';
  trainLimit: number;
  seed: number;
  /** Rotation runs: 1 (one fixed k per image) or 4 (RotNet). */
  rotationsPerImage?: number;
  /** Contrastive runs: k of the kNN evaluation (older checkpoints lack it: the catalog default). */
  knnK?: number;
}

export interface Method {
  readonly info: MethodInfo;
  /** The network that trains and is checkpointed. */
  readonly model: tf.LayersModel;
  /** The feature extractor inside `model` that downstream runs reuse. */
  readonly backbone: tf.LayersModel;
  /** Variables the optimizer updates. */
  trainableVariables(): tf.Variable[];
  /** Optimizer steps of one full pass over the training subset. */
  stepsPerEpoch(): number;
  /** Start of an epoch: reshuffle with the run's RNG. */
  beginEpoch(rng: Rng): void;
  /** The batch of step `i` of the current epoch (augmentation draws from `rng`). */
  batch(i: number, rng: Rng): Batch;
  /** Loss of a batch; runs under the gradient tape, inside tf.tidy. */
  loss(batch: Batch): LossOutput;
  validate(): Promise<ValidationResult>;
  /**
   * Which epoch's checkpoint becomes the selected ("best") one: the highest validation
   * accuracy (default), or simply the last (a run without a selection split).
   */
  readonly selects?: 'best' | 'last';
  /** After training, with the selected weights loaded: the figures of the RunResult. */
  finalEvaluation(
    checkpoint: string,
  ): Promise<{ validation?: EvalResult; test?: EvalResult; extra?: Record<string, number> }>;
  /**
   * Arrays a checkpoint keeps so that the run can be evaluated later (mean image, splits).
   * Async where they are read back from the backend (webgpu has no synchronous reads).
   */
  arrays(): Record<string, ArrayEntry> | Promise<Record<string, ArrayEntry>>;
  dispose(): void;
}

/** Everything a method factory gets. */
export interface MethodSetup {
  ctx: JobContext;
  training: TrainingSettings;
  seed: number;
  /** The dataset, resolved (downloaded when allowed) by the job. */
  openDataset(name: string): Promise<DatasetHandle>;
}

export type MethodFactory = (setup: MethodSetup) => Promise<Method>;

/** Sum of the layers' L2 penalties (Keras adds them to the loss; a custom loop must do it). */
export function regularizationLoss(model: tf.LayersModel): tf.Scalar | undefined {
  const losses = model.calculateLosses();
  return losses.length > 0 ? (tf.addN(losses) as tf.Scalar) : undefined;
}

/**
 * Categorical cross-entropy of softmax outputs (Keras' clipping at 1e-7) plus the L2 penalties of
 * `model` when given, and the batch accuracy.
 */
export function classificationLoss(
  model: tf.LayersModel | undefined,
  probs: tf.Tensor,
  labels: tf.Tensor1D,
): LossOutput {
  const numClasses = probs.shape[1] ?? 1;
  const oneHot = tf.oneHot(labels, numClasses);
  const clipped = tf.clipByValue(probs, 1e-7, 1 - 1e-7);
  let loss = tf.neg(tf.mean(tf.sum(tf.mul(oneHot, tf.log(clipped)), -1))) as tf.Scalar;
  const reg = model && regularizationLoss(model);
  if (reg) loss = tf.add(loss, reg);
  const accuracy = tf.mean(tf.cast(tf.equal(tf.argMax(probs, -1), labels), 'float32')) as tf.Scalar;
  return { loss, accuracy };
}

/**
 * The class-balanced selection split of a method's images, drawn with the run's seed under
 * `tag`: `validation_fraction` of them, capped at `validation_limit`, never from `exclude`.
 * Model selection only ever looks here, never at the test split.
 */
export function carveSelection(
  labels: Uint8Array,
  training: TrainingSettings,
  seed: number,
  tag: string,
  exclude?: Int32Array,
): Int32Array {
  const size = outsideSelectionSize(training, labels.length, labels.length - (exclude?.length ?? 0));
  return carveValidation({ labels, size, seed: deriveSeed(seed, tag), exclude });
}

/** A seed for one purpose ("val", "rotations", ...) derived from the run's seed, so streams never overlap. */
export function deriveSeed(seed: number, tag: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < tag.length; i++) h = Math.imul(h ^ tag.charCodeAt(i), 0x01000193) >>> 0;
  return (Math.imul(h ^ (seed >>> 0), 0x9e3779b1) ^ Math.floor(seed / 4294967296)) >>> 0;
}

/** Variables of the model's trainable weights (what a full fine-tune updates). */
export function variablesOf(weights: tf.LayerVariable[]): tf.Variable[] {
  return weights.map((w) => w.read() as tf.Variable);
}

/** Shuffled copy of `indices`, drawn from the run's RNG (one draw sequence per epoch). */
export function shuffled(indices: Int32Array, rng: Rng): Int32Array {
  const order = Int32Array.from(indices);
  rng.shuffle(order);
  return order;
}
