// The `evaluate` job: a run's best or last checkpoint on a split of its dataset. Everything it
// needs (network, mean image, validation indices, rotation labels) comes from the checkpoint.
import { LogLevel } from '../../../gen/ts/pretext/v1/event.js';
import type { EvalResult, EvaluateConfig, RunResult } from '../../../gen/ts/pretext/v1/run.js';
import type { SplitName } from '../../shared/contract/catalog.js';
import { type EvaluationKind, mustMethod } from '../../shared/contract/methods.js';
import { disposeCheckpoint, type LoadedCheckpoint, loadCheckpoint } from '../engine/checkpoint.js';
import { checkpointDir, checkpointName } from '../engine/checkpoint-names.js';
import type { ImageSet } from '../../shared/data/types.js';
import { identityIndices, openSplit } from '../data/source.js';
import { datasetOpener, startBackend } from '../engine/job-support.js';
import type { CheckpointState } from '../engine/trainer.js';
import type { JobFn } from '../engine/worker-runtime.js';
import { knnEvaluation } from '../methods/contrastive/evaluate.js';
import { restoreNetwork } from '../methods/restore.js';
import { rotationEvalLabels, testRotations } from '../methods/rotation.js';
import {
  classificationSource,
  countPredictions,
  type EvalSource,
  rotationSource,
  toEvalResult,
} from './classify.js';

/** An evaluation's RunResult: validation goes in `validation`, test and train in `test`. */
function evaluationResult(
  split: string,
  evalResult: EvalResult,
  trainer: CheckpointState['trainer'],
  extra: Record<string, number> = {},
): RunResult {
  return {
    test: split === 'validation' ? undefined : evalResult,
    validation: split === 'validation' ? evalResult : undefined,
    bestEpoch: trainer.bestEpoch,
    bestValAccuracy: trainer.bestValAccuracy,
    epochsTrained: 0,
    trainSeconds: 0,
    extra: { checkpoint_epoch: trainer.epoch, ...extra },
  };
}

/** What every evaluation gets: the loaded checkpoint, the split, and how to open the data. */
interface EvaluationInput {
  ctx: Parameters<JobFn>[0];
  config: EvaluateConfig;
  ckpt: LoadedCheckpoint<CheckpointState>;
  split: SplitName;
  which: string;
}

type Evaluator = (input: EvaluationInput) => Promise<{ result: EvalResult; extra?: Record<string, number> }>;

/** kNN on backbone features (the contrastive methods have no classifier head). */
const knn: Evaluator = async ({ ctx, config, ckpt, split, which }) => {
  const handle = await datasetOpener(ctx)(ckpt.state.info.dataset);
  const result = await knnEvaluation({
    info: ckpt.state.info,
    weights: ckpt.weights,
    arrays: ckpt.arrays,
    handle,
    // The contract refuses `train` for kNN methods (it is the bank).
    split: split as 'validation' | 'test',
    limit: config.limit,
    checkpoint: which,
    signal: ctx.signal,
  });
  return { result, extra: { knn_accuracy: result.accuracy } };
};

/** The network's own head on the split: classification, or the 4-way rotation task. */
const head: Evaluator = async ({ ctx, config, ckpt, split, which }) => {
  const { info } = ckpt.state;
  const net = restoreNetwork(info, ckpt.weights);
  try {
    const mean = ckpt.arrays.mean;
    if (!(mean instanceof Float32Array)) throw new Error(`checkpoint ${ckpt.dir} has no mean image`);
    const handle = await datasetOpener(ctx)(info.dataset);
    const limit = config.limit > 0 ? config.limit : Number.POSITIVE_INFINITY;
    const rotation = info.task === 'rotation';
    let source: EvalSource;
    if (split === 'test') {
      const set = await handle.load('test', { limit: config.limit || undefined });
      const all = Int32Array.from({ length: set.count }, (_, i) => i);
      source = rotation
        ? rotationSource(set, all, mean, testRotations(info, set.count))
        : classificationSource(set, all, mean);
    } else {
      const stored = ckpt.arrays[split === 'validation' ? 'val' : 'train'];
      if (!(stored instanceof Int32Array)) throw new Error(`checkpoint ${ckpt.dir} has no ${split} indices`);
      const indices = stored.subarray(0, Math.min(stored.length, limit));
      const ks = ckpt.arrays.rotations;
      const labels = rotationEvalLabels(info, indices, ks instanceof Int32Array ? ks : undefined);
      // Only the evaluated images, not the whole training split (streamed from an imported
      // dataset's shards): image k of `set` is indices[k].
      const stream = await openSplit(handle, info.trainSplit, { limit: info.trainLimit || undefined });
      let set: ImageSet;
      try {
        set = stream.gather(indices);
      } finally {
        stream.close();
      }
      const compact = identityIndices(indices.length);
      source = rotation
        ? rotationSource(set, compact, mean, labels)
        : classificationSource(set, compact, mean);
    }
    ctx.throwIfCancelled();
    const counts = await countPredictions(net.model, info.network.headUnits, source, { signal: ctx.signal });
    return {
      result: toEvalResult(counts, {
        split,
        classNames: info.classNames,
        checkpoint: which,
        task: info.task,
      }),
    };
  } finally {
    net.model.dispose();
  }
};

/** Each method's catalog entry names how its checkpoints are evaluated. */
const EVALUATORS: Record<EvaluationKind, Evaluator> = { knn, rotation: head, classification: head };

export const evaluateJob: JobFn = async (ctx) => {
  const config = ctx.spec.config as EvaluateConfig;
  const parent = ctx.spec.parent;
  if (!parent) throw new Error('evaluate needs the target run (spec.parent)');
  const split = config.split as SplitName;
  const which = checkpointName(config.checkpoint);
  await startBackend(ctx);
  const ckpt = await loadCheckpoint<CheckpointState>(checkpointDir(parent.runDir, which));
  try {
    const evaluate = EVALUATORS[mustMethod(ckpt.state.info.method).evaluation];
    const { result, extra } = await evaluate({ ctx, config, ckpt, split, which });
    const { trainer } = ckpt.state;
    ctx.log(
      LogLevel.LOG_LEVEL_INFO,
      `${which} checkpoint of ${parent.runId} (epoch ${trainer.epoch}) on ${split}: ` +
        `accuracy ${(result.accuracy * 100).toFixed(2)}% over ${result.numExamples} examples`,
    );
    return evaluationResult(split, result, trainer, extra);
  } finally {
    disposeCheckpoint(ckpt);
  }
};
