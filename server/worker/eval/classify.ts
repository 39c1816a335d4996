// Evaluation of a softmax classifier over a source of labelled inputs: loss, accuracy,
// per-class accuracy and the confusion matrix, counted on the CPU from the argmax of each batch.
import * as tf from '@tensorflow/tfjs';
import type { EvalResult } from '../../../gen/ts/pretext/v1/run.js';
import { allRotations, fillBatch, fillRotationBatch } from '../data/batches.js';
import type { ImageSet } from '../../shared/data/types.js';
import { CancelledError } from '../engine/worker-runtime.js';
import { nativeInferencePlan } from '../backend/native/inference.js';

/** `count` labelled examples; `fill` writes examples [start, end) as NHWC floats and labels. */
export interface EvalSource {
  count: number;
  inputShape: [number, number, number];
  fill(start: number, end: number, x: Float32Array, labels: Int32Array): void;
}

export interface ClassCounts {
  numClasses: number;
  n: number;
  lossSum: number;
  /** Row-major [true * numClasses + predicted]. */
  confusion: Uint32Array;
}

const EVAL_BATCH = 256;

export async function countPredictions(
  model: tf.LayersModel,
  numClasses: number,
  source: EvalSource,
  opts: { batchSize?: number; signal?: AbortSignal } = {},
): Promise<ClassCounts> {
  const bs = opts.batchSize ?? EVAL_BATCH;
  const [h, w, c] = source.inputShape;
  const pix = h * w * c;
  const confusion = new Uint32Array(numClasses * numClasses);
  let lossSum = 0;
  // On 'native': the whole network as one fused oneDNN chain (the weights do not change here).
  const plan = nativeInferencePlan(model);
  try {
    for (let start = 0; start < source.count; start += bs) {
      if (opts.signal?.aborted) throw new CancelledError();
      const end = Math.min(source.count, start + bs);
      const n = end - start;
      const x = new Float32Array(n * pix);
      const labels = new Int32Array(n);
      source.fill(start, end, x, labels);
      const [pred, loss] = tf.tidy(() => {
        const input = tf.tensor4d(x, [n, h, w, c]);
        const probs = (plan ? plan.predict(input) : model.predict(input)) as tf.Tensor2D;
        const y = tf.oneHot(tf.tensor1d(labels, 'int32'), numClasses);
        const p = tf.sum(tf.mul(probs, y), -1);
        return [tf.argMax(probs, -1), tf.neg(tf.log(tf.clipByValue(p, 1e-7, 1)))];
      });
      const [predicted, losses] = await Promise.all([pred.data(), loss.data()]);
      tf.dispose([pred, loss]);
      for (let i = 0; i < n; i++) {
        confusion[labels[i]! * numClasses + predicted[i]!]!++;
        lossSum += losses[i]!;
      }
    }
  } finally {
    plan?.dispose();
  }
  return { numClasses, n: source.count, lossSum, confusion };
}

export function accuracyOf(c: ClassCounts): number {
  let correct = 0;
  for (let k = 0; k < c.numClasses; k++) correct += c.confusion[k * c.numClasses + k]!;
  return c.n > 0 ? correct / c.n : 0;
}

export function toEvalResult(
  c: ClassCounts,
  meta: { split: string; classNames: string[]; checkpoint: string; task: string },
): EvalResult {
  const perClass: number[] = [];
  for (let t = 0; t < c.numClasses; t++) {
    let row = 0;
    for (let p = 0; p < c.numClasses; p++) row += c.confusion[t * c.numClasses + p]!;
    perClass.push(row > 0 ? c.confusion[t * c.numClasses + t]! / row : 0);
  }
  return {
    split: meta.split,
    numExamples: c.n,
    loss: c.n > 0 ? c.lossSum / c.n : 0,
    accuracy: accuracyOf(c),
    numClasses: c.numClasses,
    classNames: meta.classNames,
    perClassAccuracy: perClass,
    confusionMatrix: Array.from(c.confusion),
    checkpoint: meta.checkpoint,
    task: meta.task,
  };
}

function shapeOf(set: ImageSet): [number, number, number] {
  return [set.height, set.width, 3];
}

/** Images at `indices` with their class labels. */
export function classificationSource(set: ImageSet, indices: Int32Array, mean: Float32Array): EvalSource {
  return {
    count: indices.length,
    inputShape: shapeOf(set),
    fill(start, end, x, labels) {
      const idx = indices.subarray(start, end);
      fillBatch(set, idx, mean, x);
      for (let i = 0; i < idx.length; i++) labels[i] = set.labels[idx[i]!]!;
    },
  };
}

/** Images at `indices`, each rotated by its fixed k (`rotations`), or by all four when omitted. */
export function rotationSource(
  set: ImageSet,
  indices: Int32Array,
  mean: Float32Array,
  rotations?: Int32Array,
): EvalSource {
  let idx = indices;
  let rot = rotations;
  if (!rot) {
    idx = new Int32Array(indices.length * 4);
    rot = new Int32Array(indices.length * 4);
    allRotations(indices, idx, rot);
  }
  if (rot.length !== idx.length) throw new Error('rotationSource: one rotation per index');
  const r = rot;
  return {
    count: idx.length,
    inputShape: shapeOf(set),
    fill(start, end, x, labels) {
      const ks = r.subarray(start, end);
      fillRotationBatch(set, idx.subarray(start, end), mean, ks, x);
      labels.set(ks);
    },
  };
}
