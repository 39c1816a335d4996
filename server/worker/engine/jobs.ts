// The production job table of the worker: one training job per registered method and the
// evaluation job. Each job starts the backend, runs, and returns the proto's RunResult.
import type { DownstreamConfig, PretextConfig, RunResult } from '../../../gen/ts/pretext/v1/run.js';
import { evaluateJob } from '../eval/evaluate-job.js';
import { getMethod, methodNames } from '../methods/registry.js';
import { assignWeights, disposeCheckpoint, loadCheckpoint } from './checkpoint.js';
import { checkpointDir } from './checkpoint-names.js';
import { datasetOpener, startBackend } from './job-support.js';
import { resolveTraining } from './options.js';
import { type CheckpointState, train } from './trainer.js';
import type { JobFn, JobTable } from './worker-runtime.js';

/** Trains with the method named by the spec, then evaluates the selected (best) checkpoint. */
export const trainJob: JobFn = async (ctx) => {
  const { spec } = ctx;
  const entry = getMethod(spec.method);
  if (entry.role !== spec.kind)
    throw new Error(`method "${spec.method}" is a ${entry.role} method, not ${spec.kind}`);
  const config = spec.config as PretextConfig | DownstreamConfig;
  const training = resolveTraining(config.training, entry.role);
  await startBackend(ctx);
  const method = await entry.create({ ctx, training, seed: spec.seed, openDataset: datasetOpener(ctx) });
  try {
    const state = await train(ctx, method, training, {
      runDir: spec.runDir,
      seed: spec.seed,
      resume: spec.resume,
    });
    ctx.throwIfCancelled();
    // The selected model is the best-validation checkpoint.
    const best = await loadCheckpoint<CheckpointState>(checkpointDir(spec.runDir, 'best'));
    try {
      assignWeights(method.model, best.weights);
    } finally {
      disposeCheckpoint(best);
    }
    const final = await method.finalEvaluation('best');
    const result: RunResult = {
      test: final.test,
      validation: final.validation,
      bestEpoch: state.bestEpoch,
      bestValAccuracy: state.bestValAccuracy,
      epochsTrained: state.epoch,
      trainSeconds: state.trainSeconds,
      extra: final.extra ?? {},
    };
    return result;
  } finally {
    method.dispose();
  }
};

/**
 * Keys per registered method, plus `${kind}:*` fallbacks so that methods registered later
 * (the contrastive ones) are found too; `trainJob` rejects names the registry does not know.
 */
export function buildJobTable(): JobTable {
  const table: JobTable = { 'pretext:*': trainJob, 'downstream:*': trainJob, 'evaluate:*': evaluateJob };
  for (const name of methodNames('pretext')) table[`pretext:${name}`] = trainJob;
  for (const name of methodNames('downstream')) table[`downstream:${name}`] = trainJob;
  return table;
}

export const JOBS: JobTable = buildJobTable();
