// A real JobContext for calling jobs in-process: it records what a job emits, and can cancel.
import os from 'node:os';
import path from 'node:path';
import { mkdtemp } from 'node:fs/promises';
import * as tf from '@tensorflow/tfjs';
import type { EpochMetrics, StepMetrics } from '../../gen/ts/pretext/v1/event.js';
import type { DownstreamConfig, EvaluateConfig, PretextConfig } from '../../gen/ts/pretext/v1/run.js';
import {
  pretextFacts,
  resolveDownstream,
  resolveEvaluate,
  resolvePretext,
} from '../../server/shared/contract/resolve.js';
import type { EventPayload, JobSpec } from '../../server/shared/worker-protocol.js';
import { CancelledError, type JobContext } from '../../server/worker/engine/worker-runtime.js';
import { SHARED_DATASETS } from '../helpers/paths.js';

export interface Recorded {
  ctx: JobContext;
  events: EventPayload[];
  metas: Array<{ backend?: string; dataChecksum?: string; threads?: number }>;
  /** tf.memory().numTensors when each epoch event was emitted. */
  tensorsAtEpoch: number[];
  abort: AbortController;
  epochs(): EpochMetrics[];
  steps(): StepMetrics[];
}

/** Backend of the engine tests: PRETEXT_TEST_BACKEND, else auto (wasm here, tensorflow where installed). */
export const TEST_BACKEND = process.env.PRETEXT_TEST_BACKEND ?? 'auto';

export function recordingContext(spec: JobSpec, onEvent?: (p: EventPayload, r: Recorded) => void): Recorded {
  const abort = new AbortController();
  const r: Recorded = {
    events: [],
    metas: [],
    tensorsAtEpoch: [],
    abort,
    epochs: () => r.events.flatMap((e) => (e.$case === 'epoch' ? [e.epoch] : [])),
    steps: () => r.events.flatMap((e) => (e.$case === 'step' ? [e.step] : [])),
    ctx: {
      spec,
      signal: abort.signal,
      throwIfCancelled() {
        if (abort.signal.aborted) throw new CancelledError();
      },
      emit(payload) {
        if (payload.$case === 'epoch') r.tensorsAtEpoch.push(tf.memory().numTensors);
        r.events.push(payload);
        onEvent?.(payload, r);
      },
      log(level, message) {
        r.events.push({ $case: 'log', log: { level, message } });
      },
      meta(meta) {
        r.metas.push(meta);
      },
    },
  };
  return r;
}

export async function tempRunDir(prefix = 'pretext-engine-'): Promise<string> {
  return mkdtemp(path.join(os.tmpdir(), prefix));
}

/**
 * A job spec as the daemon hands it to a worker: its config resolved by the contract (the
 * worker re-checks nothing and fills no default), the parent's too.
 */
export function baseSpec(
  partial: Pick<JobSpec, 'kind' | 'method' | 'config' | 'runDir'> & Partial<JobSpec>,
): JobSpec {
  const parent = partial.parent && {
    ...partial.parent,
    config: resolveAny(partial.parent.kind, partial.parent.config),
  };
  const facts = parent?.kind === 'pretext' ? pretextFacts(parent.config as PretextConfig) : undefined;
  return {
    runId: partial.runId ?? path.basename(partial.runDir),
    dataDir: SHARED_DATASETS,
    allowDownload: false,
    backend: TEST_BACKEND,
    seed: 1234,
    resume: false,
    ...partial,
    parent,
    config: resolveAny(partial.kind, partial.config, facts, parent?.method),
  };
}

function resolveAny(
  kind: JobSpec['kind'],
  config: JobSpec['config'],
  facts?: ReturnType<typeof pretextFacts>,
  targetMethod?: string,
): JobSpec['config'] {
  if (kind === 'pretext') return resolvePretext(config as PretextConfig);
  if (kind === 'downstream') return resolveDownstream(config as DownstreamConfig, facts);
  return resolveEvaluate(config as EvaluateConfig, targetMethod ? { method: targetMethod } : undefined);
}

/** Element-wise equality of two tensor lists (exact: the same bytes). */
export function assertTensorsEqual(a: tf.Tensor[], b: tf.Tensor[], label: string): void {
  if (a.length !== b.length) throw new Error(`${label}: ${a.length} vs ${b.length} tensors`);
  for (let i = 0; i < a.length; i++) {
    const x = a[i]!.dataSync();
    const y = b[i]!.dataSync();
    if (x.length !== y.length) throw new Error(`${label} #${i}: sizes ${x.length} vs ${y.length}`);
    for (let j = 0; j < x.length; j++) {
      if (x[j] !== y[j]) throw new Error(`${label} #${i}: element ${j} differs (${x[j]} vs ${y[j]})`);
    }
  }
}
