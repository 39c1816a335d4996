// kNN evaluation of a contrastive run's checkpoint in another process (the `evaluate` job): the
// backbone is rebuilt from the checkpoint's network spec and backbone weights, the bank and the
// validation queries are the ones the run monitored (arrays `knn_val`, `mean`).
import type * as tf from '@tensorflow/tfjs';
import type { ContrastiveOptions, EvalResult } from '../../../../gen/ts/pretext/v1/run.js';
import type { DatasetHandle } from '../../../shared/data/registry.js';
import { complement } from '../../data/subsets.js';
import type { ArrayEntry } from '../../engine/checkpoint.js';
import type { MethodInfo } from '../base.js';
import { buildBackboneFor } from '../network.js';
import { knnEvalResult } from './knn.js';
import { knnLabeledLimit } from './method.js';
import { resolveContrastive, type ContrastiveName } from './options.js';

/** Whether a checkpoint's method is evaluated by kNN (the contrastive methods). */
export function isKnnTask(info: MethodInfo): boolean {
  return info.task === 'knn';
}

export interface KnnEvaluationInput {
  info: MethodInfo;
  /** The checkpoint's weights (`model.weights` order); only the backbone's are read, none disposed. */
  weights: tf.Tensor[];
  arrays: Record<string, ArrayEntry>;
  /** The run's options (for knn_k); the evaluate job has them as the parent's PretextConfig. */
  contrastive: ContrastiveOptions | undefined;
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
  const k = resolveContrastive(o.contrastive, info.method as ContrastiveName).knnK;
  const backbone = buildBackboneFor(info.network, info.seed);
  try {
    backbone.setWeights(
      info.backboneWeights.map((i) => {
        const t = o.weights[i];
        if (!t) throw new Error(`checkpoint has no weight #${i}`);
        return t;
      }),
    );
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
