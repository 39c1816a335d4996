// Messages between the daemon and an inference worker (export, embed, predict). Like training,
// inference never runs on the daemon's event loop: each call forks a worker
// (server/worker/inference/worker.ts), sends it one job, and relays what comes back.
// Rows travel in blocks; the worker sends the next block only when the daemon acknowledges one,
// so a client that reads slowly slows the worker instead of filling the daemon's memory.
import { createHash } from 'node:crypto';
import type { ExportFormat, ExportMetadata } from './contract/models-out.js';

export type CheckpointWhich = 'best' | 'last';

interface JobBase {
  /** The run's directory (`checkpoints/{best,last}` inside). */
  runDir: string;
  checkpoint: CheckpointWhich;
  /** Requested backend ("auto" or a name), as for training. */
  backend: string;
}

export type InferenceJob =
  | (JobBase & {
      kind: 'export';
      format: ExportFormat;
      /** Where the archive goes; the worker names the file by the checkpoint's stamp. */
      exportDir: string;
      /** Where the run's dataset is (a pretext run's metadata names the dataset's classes). */
      dataDir: string;
      /** Where imported datasets live (`<state-dir>/datasets`). */
      datasetsDir?: string;
      /** Facts only the daemon knows (the run's row); the worker adds what the checkpoint says. */
      metadata: Pick<
        ExportMetadata,
        'run_id' | 'run_state' | 'kind' | 'in_progress' | 'code_revision' | 'data_checksum'
      >;
    })
  | (JobBase & {
      kind: 'embed';
      dataDir: string;
      datasetsDir?: string;
      allowDownload: boolean;
      source:
        | { type: 'split'; dataset: string; split: string; offset: number; limit: number }
        | { type: 'images'; images: Uint8Array[] };
      rowsPerBlock: number;
    })
  | (JobBase & { kind: 'predict'; images: Uint8Array[]; topK: number });

export interface ModelFacts {
  checkpoint: CheckpointWhich;
  epoch: number;
  inputShape: [number, number, number];
  classNames: string[];
}

export interface ExportDone {
  file: string;
  bytes: number;
  sha256: string;
  epoch: number;
  files: string[];
}

export interface PredictDone {
  model: ModelFacts;
  /** Per image, the top-k classes (index, probability), most probable first. */
  top: Array<Array<{ index: number; probability: number }>>;
}

export type ToInference = { type: 'job'; job: InferenceJob } | { type: 'ack' };

export type FromInference =
  | { type: 'ready' }
  | { type: 'embedInfo'; model: ModelFacts; dim: number; count: number }
  | { type: 'rows'; indices: Int32Array; labels: Int32Array; embeddings: Float32Array }
  | { type: 'done'; export?: ExportDone; predict?: PredictDone }
  /** `badInput`: the client's images (INVALID_ARGUMENT); `precondition`: FAILED_PRECONDITION. */
  | { type: 'failed'; error: string; code: 'badInput' | 'precondition' | 'internal' };

/** An error the worker reports with a gRPC-worthy classification. */
export class InferenceInputError extends Error {
  constructor(
    message: string,
    readonly code: 'badInput' | 'precondition',
  ) {
    super(message);
    this.name = 'InferenceInputError';
  }
}

/**
 * The archive's file name in the run's exports/ folder: the checkpoint, the format, the
 * checkpoint's stamp and a hash of the daemon's facts (a run that finished since gets a new one).
 */
export function exportFileName(
  which: CheckpointWhich,
  format: ExportFormat,
  stampMs: number,
  metadata: Extract<InferenceJob, { kind: 'export' }>['metadata'],
): string {
  const facts = JSON.stringify([
    metadata.run_id,
    metadata.run_state,
    metadata.kind,
    metadata.in_progress,
    metadata.code_revision,
    metadata.data_checksum,
  ]);
  const tag = createHash('sha256').update(facts).digest('hex').slice(0, 10);
  return `${which}-${format}-${stampMs}-${tag}.tar`;
}
