// kNN monitor: weighted k-nearest-neighbour classification on L2-normalised backbone features
// (cosine similarity; each neighbour votes exp(sim / T), T = 0.07, as solo-learn's
// WeightedKNNClassifier and InstDisc). Training features are the bank, held-out images the queries.
import * as tf from '@tensorflow/tfjs';
import { fillBatch } from '../../data/batches.js';
import type { ImageSet } from '../../../shared/data/types.js';
import type { EvalResult } from '../../../../gen/ts/pretext/v1/run.js';
import { type ClassCounts, toEvalResult } from '../../eval/classify.js';
import { nativeInferencePlan } from '../../backend/native/inference.js';

export const KNN_TEMPERATURE = 0.07;
const FEATURE_BATCH = 256;
const QUERY_CHUNK = 512;

/** Features (inference mode) of images `indices` of `set`, each x/255 - mean; rows L2-normalised. */
export async function backboneFeatures(
  backbone: tf.LayersModel,
  set: ImageSet,
  indices: Int32Array,
  mean: Float32Array,
  signal?: AbortSignal,
): Promise<{ features: Float32Array; dim: number }> {
  const [h, w] = [set.height, set.width];
  const dim = backbone.outputs[0]?.shape[1];
  if (typeof dim !== 'number') throw new Error('the backbone output must be flat (N × d)');
  const features = new Float32Array(indices.length * dim);
  const plan = nativeInferencePlan(backbone);
  try {
    for (let start = 0; start < indices.length; start += FEATURE_BATCH) {
      if (signal?.aborted) throw new Error('feature extraction aborted');
      const idx = indices.subarray(start, Math.min(indices.length, start + FEATURE_BATCH));
      const x = new Float32Array(idx.length * h * w * 3);
      fillBatch(set, idx, mean, x);
      const f = tf.tidy(() => {
        const input = tf.tensor4d(x, [idx.length, h, w, 3]);
        const out = (plan ? plan.predict(input) : backbone.predict(input)) as tf.Tensor2D;
        return tf.div(out, tf.sqrt(tf.maximum(tf.sum(tf.square(out), -1, true), 1e-12)));
      });
      features.set(await f.data(), start * dim);
      f.dispose();
    }
  } finally {
    plan?.dispose();
  }
  return { features, dim };
}

export interface KnnInput {
  /** Bank rows (n × dim), L2-normalised, and their labels. */
  bank: Float32Array;
  bankLabels: ArrayLike<number>;
  queries: Float32Array;
  queryLabels: ArrayLike<number>;
  dim: number;
  k: number;
  numClasses: number;
  temperature?: number;
}

/** Predicted class of every query; ties go to the lower class index. */
export async function knnPredict(o: KnnInput): Promise<Int32Array> {
  const nBank = o.bank.length / o.dim;
  const nQuery = o.queries.length / o.dim;
  if (!Number.isInteger(nBank) || !Number.isInteger(nQuery))
    throw new RangeError('feature arrays are not n × dim');
  if (nBank < 1) throw new RangeError('the kNN bank is empty');
  const k = Math.min(o.k, nBank);
  const t = o.temperature ?? KNN_TEMPERATURE;
  const predicted = new Int32Array(nQuery);
  const bank = tf.tensor2d(o.bank, [nBank, o.dim]);
  const votes = new Float64Array(o.numClasses);
  try {
    for (let start = 0; start < nQuery; start += QUERY_CHUNK) {
      const n = Math.min(QUERY_CHUNK, nQuery - start);
      const { values, indices } = tf.tidy(() => {
        const q = tf.tensor2d(o.queries.subarray(start * o.dim, (start + n) * o.dim), [n, o.dim]);
        return tf.topk(tf.matMul(q, bank, false, true), k);
      });
      const [sims, idx] = await Promise.all([values.data(), indices.data()]);
      tf.dispose([values, indices]);
      for (let i = 0; i < n; i++) {
        votes.fill(0);
        for (let j = 0; j < k; j++) {
          const label = o.bankLabels[idx[i * k + j]!]!;
          votes[label] = votes[label]! + Math.exp(sims[i * k + j]! / t);
        }
        let best = 0;
        for (let c = 1; c < o.numClasses; c++) if (votes[c]! > votes[best]!) best = c;
        predicted[start + i] = best;
      }
    }
  } finally {
    bank.dispose();
  }
  return predicted;
}

/** Confusion counts of a kNN run (no loss: lossSum 0), for `toEvalResult`. */
export async function knnCounts(o: KnnInput): Promise<ClassCounts> {
  const predicted = await knnPredict(o);
  const confusion = new Uint32Array(o.numClasses * o.numClasses);
  for (let i = 0; i < predicted.length; i++) {
    const y = o.queryLabels[i]!;
    const idx = y * o.numClasses + predicted[i]!;
    confusion[idx] = confusion[idx]! + 1;
  }
  return { numClasses: o.numClasses, n: predicted.length, lossSum: 0, confusion };
}

export interface KnnSplitInput {
  backbone: tf.LayersModel;
  /** The labeled images; `bank` indexes into them. */
  labeled: ImageSet;
  bank: Int32Array;
  querySet: ImageSet;
  queries: Int32Array;
  mean: Float32Array;
  k: number;
  split: string;
  checkpoint: string;
  signal?: AbortSignal;
}

/** The kNN monitor as an EvalResult (task "knn"; loss 0: kNN has none). */
export async function knnEvalResult(o: KnnSplitInput): Promise<EvalResult> {
  const bank = await backboneFeatures(o.backbone, o.labeled, o.bank, o.mean, o.signal);
  const q = await backboneFeatures(o.backbone, o.querySet, o.queries, o.mean, o.signal);
  const counts = await knnCounts({
    bank: bank.features,
    bankLabels: Int32Array.from(o.bank, (i) => o.labeled.labels[i]!),
    queries: q.features,
    queryLabels: Int32Array.from(o.queries, (i) => o.querySet.labels[i]!),
    dim: bank.dim,
    k: o.k,
    numClasses: o.labeled.numClasses,
  });
  return toEvalResult(counts, {
    split: o.split,
    classNames: o.labeled.classNames,
    checkpoint: o.checkpoint,
    task: 'knn',
  });
}
