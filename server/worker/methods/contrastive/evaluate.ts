// kNN evaluation of a contrastive run's checkpoint in another process (the `evaluate` job): the
// backbone is rebuilt from the checkpoint's network spec and backbone weights, the bank and the
// validation queries are the ones the run monitored (arrays `knn_val`, `mean`).
import type * as tf from '@tensorflow/tfjs';
import type { EvalResult } from '../../../../gen/ts/pretext/v1/run.js';
import { mustMethod } from '../../../shared/contract/methods.js';
import type { DatasetHandle } from '../../../shared/data/registry.js';
import { complement } from '../../data/subsets.js';
import type { ArrayEntry } from '../../engine/checkpoint.js';
import type { MethodInfo } from '../base.js';
import { restoreBackbone } from '../restore.js';
import { knnEvalResult } from './knn.js';
import { knnLabeledLimit } from './method.js';

export interface KnnEvaluationInput {
  info: MethodInfo;
  /** The checkpoint's weights (`model.weights` order); only the backbone's are read, none disposed. */
  weights: tf.Tensor[];
  arrays: Record<string, ArrayEntry>;
  handle: DatasetHandle;
  split: 'validation' | 'test';
  /** Cap on query images (0 = all). */
  limit: number;
  checkpoint: string;
  signal?: AbortSignal;
}

export async function knnEvaluation(o: KnnEvaluationInput): Promise<EvalResult> {
  const { info, arrays } = o;
  const mean = arrays.mean;
  const queries = arrays.knn_val;
  if (!(mean instanceof Float32Array) || !(queries instanceof Int32Array)) {
    throw new Error('the checkpoint has no kNN arrays (mean, knn_val)');
  }
  // The checkpoint records its k; checkpoints written before it did use the method's default.
  const k = info.knnK ?? mustMethod(info.method).contrastive?.defaults.knnK ?? 20;
  const backbone = restoreBackbone(info, o.weights);
  try {
    const labeled = await o.handle.load('train', { limit: knnLabeledLimit(info.trainLimit) });
    const bank = complement(labeled.count, queries);
    let querySet = labeled;
    let queryIdx = o.limit > 0 ? queries.subarray(0, o.limit) : queries;
    if (o.split === 'test') {
      querySet = await o.handle.load('test', { limit: o.limit || undefined });
      queryIdx = Int32Array.from({ length: querySet.count }, (_, i) => i);
    }
    return await knnEvalResult({
      backbone,
      labeled,
      bank,
      querySet,
      queries: queryIdx,
      mean,
      k,
      split: o.split,
      checkpoint: o.checkpoint,
      signal: o.signal,
    });
  } finally {
    backbone.dispose();
  }
}
