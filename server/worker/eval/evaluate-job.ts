// The `evaluate` job: a run's best or last checkpoint on a split of its dataset. Everything it
// needs (network, mean image, validation indices, rotation labels) comes from the checkpoint.
import { LogLevel } from '../../../gen/ts/pretext/v1/event.js';
import type { EvalResult, EvaluateConfig, PretextConfig, RunResult } from '../../../gen/ts/pretext/v1/run.js';
import { assignWeights, disposeCheckpoint, loadCheckpoint } from '../engine/checkpoint.js';
import { checkpointDir, checkpointName } from '../engine/checkpoint-names.js';
import { datasetOpener, startBackend } from '../engine/job-support.js';
import type { CheckpointState } from '../engine/trainer.js';
import type { JobFn } from '../engine/worker-runtime.js';
import { isKnnTask, knnEvaluation } from '../methods/contrastive/evaluate.js';
import { buildNetwork } from '../methods/network.js';
import { rotationEvalLabels, testRotations } from '../methods/rotation.js';
import {
  classificationSource,
  countPredictions,
  type EvalSource,
  rotationSource,
  toEvalResult,
} from './classify.js';

const SPLITS = ['test', 'validation', 'train'];

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

export const evaluateJob: JobFn = async (ctx) => {
  const config = ctx.spec.config as EvaluateConfig;
  const parent = ctx.spec.parent;
  if (!parent) throw new Error('evaluate needs the target run (spec.parent)');
  const split = config.split || 'test';
  if (!SPLITS.includes(split)) throw new Error(`unknown split "${split}" (test, validation or train)`);
  const which = checkpointName(config.checkpoint);
  await startBackend(ctx);
  const ckpt = await loadCheckpoint<CheckpointState>(checkpointDir(parent.runDir, which));
  const { info, trainer } = ckpt.state;
  if (isKnnTask(info)) {
    // Contrastive runs have no classifier head: they are evaluated by kNN on backbone features.
    if (split === 'train') {
      disposeCheckpoint(ckpt);
      throw new Error('contrastive runs are evaluated by kNN on the validation or test split, not on train');
    }
    try {
      const handle = await datasetOpener(ctx)(info.dataset);
      const evalResult = await knnEvaluation({
        info,
        weights: ckpt.weights,
        arrays: ckpt.arrays,
        contrastive: (parent.config as PretextConfig).contrastive,
        handle,
        split: split as 'validation' | 'test',
        limit: config.limit,
        checkpoint: which,
        signal: ctx.signal,
      });
      return evaluationResult(split, evalResult, trainer, { knn_accuracy: evalResult.accuracy });
    } finally {
      disposeCheckpoint(ckpt);
    }
  }
  const net = buildNetwork(info.network, info.seed);
  try {
    try {
      assignWeights(net.model, ckpt.weights);
    } finally {
      disposeCheckpoint(ckpt);
    }
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
      const set = await handle.load(info.trainSplit, { limit: info.trainLimit || undefined });
      const stored = ckpt.arrays[split === 'validation' ? 'val' : 'train'];
      if (!(stored instanceof Int32Array)) throw new Error(`checkpoint ${ckpt.dir} has no ${split} indices`);
      const indices = stored.subarray(0, Math.min(stored.length, limit));
      const ks = ckpt.arrays.rotations;
      source = rotation
        ? rotationSource(
            set,
            indices,
            mean,
            rotationEvalLabels(info, indices, ks instanceof Int32Array ? ks : undefined),
          )
        : classificationSource(set, indices, mean);
    }
    ctx.throwIfCancelled();
    const counts = await countPredictions(net.model, info.network.headUnits, source, { signal: ctx.signal });
    const evalResult = toEvalResult(counts, {
      split,
      classNames: info.classNames,
      checkpoint: which,
      task: info.task,
    });
    ctx.log(
      LogLevel.LOG_LEVEL_INFO,
      `${which} checkpoint of ${parent.runId} (epoch ${trainer.epoch}) on ${split}: ` +
        `accuracy ${(evalResult.accuracy * 100).toFixed(2)}% over ${evalResult.numExamples} examples`,
    );
    return evaluationResult(split, evalResult, trainer);
  } finally {
    net.model.dispose();
  }
};
