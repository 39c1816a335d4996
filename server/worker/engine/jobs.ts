// The production job table of the worker: one training job per registered method and the
// evaluation job. Each job starts the backend, runs, and returns the proto's RunResult.
import type { DownstreamConfig, PretextConfig, RunResult } from '../../../gen/ts/pretext/v1/run.js';
import { evaluateJob } from '../eval/evaluate-job.js';
import { methodNames, mustMethod } from '../../shared/contract/methods.js';
import { trainingSettings } from '../../shared/contract/training.js';
import { loadMethod } from '../methods/registry.js';
import { assignWeights, disposeCheckpoint, loadCheckpoint } from './checkpoint.js';
import { checkpointDir } from './checkpoint-names.js';
import { datasetOpener, startBackend } from './job-support.js';
import { type CheckpointState, train } from './trainer.js';
import type { JobFn, JobTable } from './worker-runtime.js';

/** Trains with the method named by the spec, then evaluates the selected (best) checkpoint. */
export const trainJob: JobFn = async (ctx) => {
  const { spec } = ctx;
  const entry = mustMethod(spec.method);
  if (entry.role !== spec.kind)
    throw new Error(`method "${spec.method}" is a ${entry.role} method, not ${spec.kind}`);
  // The daemon resolved the config at the RPC; the worker reads it as it is.
  const training = trainingSettings((spec.config as PretextConfig | DownstreamConfig).training);
  const create = await loadMethod(entry.name);
  await startBackend(ctx);
  const method = await create({ ctx, training, seed: spec.seed, openDataset: datasetOpener(ctx) });
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

/** One key per catalog method ("pretext:rotation", "downstream:supervised", ...) and the evaluation. */
export function buildJobTable(): JobTable {
  const table: JobTable = { 'evaluate:evaluate': evaluateJob };
  for (const name of methodNames()) table[`${mustMethod(name).role}:${name}`] = trainJob;
  return table;
}

export const JOBS: JobTable = buildJobTable();
