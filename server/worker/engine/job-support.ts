// What every job does first: start the backend and open its dataset, recording both.
import { type DatasetHandle, resolveDataset } from '../../shared/data/registry.js';
import { type BackendChoice, initBackend, type Precision } from '../backend/index.js';
import type { JobContext } from './worker-runtime.js';

/** Starts the requested backend and records it (a forced backend that cannot start fails the run). */
export async function startBackend(ctx: JobContext): Promise<void> {
  // The run's training.precision (resolved by the daemon); evaluations compute in fp32 unless
  // PRETEXT_PRECISION says otherwise.
  const config = ctx.spec.config as { training?: { precision?: string } } | undefined;
  const precision = (config?.training?.precision || undefined) as Precision | undefined;
  // A worker runs one job; in-process callers (tests) run many on the backend started first.
  if (
    !started ||
    started.requested !== ctx.spec.backend ||
    (precision !== undefined && started.choice.precision !== precision)
  ) {
    started = { requested: ctx.spec.backend, choice: await initBackend(ctx.spec.backend, { precision }) };
  }
  const { name, threads, detail } = started.choice;
  ctx.meta({ backend: name, backendDetail: detail ?? '', threads });
}

let started: { requested: string; choice: BackendChoice } | undefined;

/** Resolves a dataset (downloading when allowed), forwarding progress and recording its checksum. */
export function datasetOpener(ctx: JobContext): (name: string) => Promise<DatasetHandle> {
  return async (name) => {
    const handle = await resolveDataset(name, {
      dataDir: ctx.spec.dataDir,
      datasetsDir: ctx.spec.datasetsDir,
      allowDownload: ctx.spec.allowDownload,
      onProgress: (download) => ctx.emit({ $case: 'download', download }),
      signal: ctx.signal,
    });
    ctx.meta({ dataChecksum: handle.checksum });
    return handle;
  };
}
