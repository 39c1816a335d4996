// ExportModel, Embed and Predict: validated here, run in inference workers through the slot.
// The daemon only reads files and relays blocks; it never loads a network.
import { createReadStream, existsSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { type ServerUnaryCall, type ServerWritableStream, type sendUnaryData, status } from '@grpc/grpc-js';
import { CheckpointChoice, type Run, RunKind, RunState } from '../../../gen/ts/pretext/v1/run.js';
import type {
  EmbedRequest,
  EmbedResponse,
  ExportModelRequest,
  ExportModelResponse,
  PredictRequest,
  PredictResponse,
} from '../../../gen/ts/pretext/v1/service.js';
import {
  DEFAULT_TOP_K,
  EMBED_ROWS_PER_CHUNK,
  EMBED_SPLITS,
  EXPORT_CHUNK_BYTES,
  EXPORT_FORMATS,
  IMAGE_FORMATS,
  isExportFormat,
  MAX_IMAGE_BYTES,
  MAX_IMAGE_BYTES_PER_CALL,
  MAX_IMAGES_PER_CALL,
  MAX_TOP_K,
  sniffImage,
  STALLED_STREAM_MS,
} from '../../shared/contract/models-out.js';
import { DATASET_NAMES } from '../../shared/data/registry.js';
import { type CheckpointWhich, exportFileName, type InferenceJob } from '../../shared/inference-protocol.js';
import type { Logger } from '../log.js';
import { checkpointStamp } from '../inference/checkpoint-files.js';
import type { InferenceOutcome, InferenceRunner } from '../inference/runner.js';
import { FINAL_STATES, type RunRegistry, stateName } from '../runs/registry.js';
import { runDir } from '../runs/scheduler.js';
import { failedPrecondition, invalidArgument, RpcError } from './errors.js';
import { datasetsDirOf } from '../../shared/data/imported.js';
import { mustGetRun } from './submit.js';

export interface ModelsOutDeps {
  registry: RunRegistry;
  inference: InferenceRunner;
  log: Logger;
  stateDir: string;
  dataDir: string;
  backend: string;
  allowDownload: boolean;
  /** A stream whose client takes nothing for this long is ended and its worker freed. */
  stalledStreamMs?: number;
  trackStream(end: () => void): () => void;
  toServiceError(name: string, err: unknown): { code: status; details: string };
}

const quote = (s: string) => JSON.stringify(s.length > 80 ? `${s.slice(0, 80)}…` : s);

interface Target {
  run: Run;
  which: CheckpointWhich;
  inProgress: boolean;
  dir: string;
  stamp: number;
}

/** The run and its checkpoint, or the precise reason there is none to use. */
function target(registry: RunRegistry, stateDir: string, runId: string, choice: CheckpointChoice): Target {
  const run = mustGetRun(registry, runId);
  if (!(choice in CheckpointChoice) || choice < 0)
    throw invalidArgument(`unknown checkpoint choice ${choice}`);
  if (run.kind === RunKind.RUN_KIND_EVALUATE) {
    throw invalidArgument(`run ${run.id} is an evaluation; use its target run ${run.parentRunId}`);
  }
  const which: CheckpointWhich = choice === CheckpointChoice.CHECKPOINT_CHOICE_LAST ? 'last' : 'best';
  const inProgress = !FINAL_STATES.has(run.state) || run.state === RunState.RUN_STATE_INTERRUPTED;
  if (inProgress && which === 'best') {
    throw failedPrecondition(
      `run ${run.id} is ${stateName(run.state)}: its best checkpoint may still change; ask for the last one (it is marked in progress) or wait until it ends`,
    );
  }
  const dir = runDir(stateDir, run.id);
  const stamp = checkpointStamp(dir, which);
  if (stamp === undefined) {
    throw failedPrecondition(
      `run ${run.id} (${stateName(run.state)}) has no ${which} checkpoint${run.state === RunState.RUN_STATE_QUEUED ? ' yet' : ''}`,
    );
  }
  return { run, which, inProgress, dir, stamp };
}

function checkImages(images: Uint8Array[]): void {
  if (images.length === 0) throw invalidArgument('images is empty: send at least one PNG or JPEG image');
  if (images.length > MAX_IMAGES_PER_CALL) {
    throw new RpcError(
      status.RESOURCE_EXHAUSTED,
      `${images.length} images in one call; at most ${MAX_IMAGES_PER_CALL} (split them over several calls)`,
    );
  }
  let total = 0;
  images.forEach((img, i) => {
    total += img.byteLength;
    if (img.byteLength > MAX_IMAGE_BYTES) {
      throw new RpcError(
        status.RESOURCE_EXHAUSTED,
        `image ${i} has ${img.byteLength} bytes; at most ${MAX_IMAGE_BYTES} per image`,
      );
    }
    if (!sniffImage(img)) {
      const head = Buffer.from(img.subarray(0, 8)).toString('hex');
      throw invalidArgument(
        `image ${i} is not an image (${IMAGE_FORMATS.join(', ')}): it starts with 0x${head || '(nothing)'}`,
      );
    }
  });
  if (total > MAX_IMAGE_BYTES_PER_CALL) {
    throw new RpcError(
      status.RESOURCE_EXHAUSTED,
      `the images hold ${total} bytes; at most ${MAX_IMAGE_BYTES_PER_CALL} per call`,
    );
  }
}

/** The worker's failure as the gRPC status the client should see. */
function outcomeError(o: Exclude<InferenceOutcome, { type: 'done' }>, log: Logger, rpc: string): RpcError {
  if (o.type === 'failed' && o.code === 'badInput') return invalidArgument(o.error);
  if (o.type === 'failed' && o.code === 'precondition') return failedPrecondition(o.error);
  log.error('inference worker failed', { rpc, error: o.error });
  const first = o.error.split('\n', 1)[0] ?? '';
  return new RpcError(status.INTERNAL, `${rpc} failed in its worker: ${first.slice(0, 300)}`);
}

/** Writes to a server stream, resolving when the client has room; rejects if it stays full too long. */
function writer<T>(call: ServerWritableStream<unknown, T>, stallMs: number) {
  return (msg: T): Promise<void> =>
    new Promise((resolve, reject) => {
      if (call.write(msg)) return resolve();
      const timer = setTimeout(() => {
        cleanup();
        reject(
          new RpcError(
            status.DEADLINE_EXCEEDED,
            `the client read nothing for ${Math.round(stallMs / 1000)} s; the call was ended and its worker freed`,
          ),
        );
      }, stallMs);
      const onDrain = () => {
        cleanup();
        resolve();
      };
      const onGone = () => {
        cleanup();
        reject(new RpcError(status.CANCELLED, 'the client cancelled the call'));
      };
      const cleanup = () => {
        clearTimeout(timer);
        call.off('drain', onDrain);
        call.off('cancelled', onGone);
      };
      call.on('drain', onDrain);
      call.on('cancelled', onGone);
    });
}

/** An AbortController that fires when the call is cancelled or the daemon shuts down. */
function callAbort(call: { on(ev: 'cancelled', f: () => void): unknown }, deps: ModelsOutDeps) {
  const ac = new AbortController();
  call.on('cancelled', () => ac.abort());
  const untrack = deps.trackStream(() => ac.abort());
  return { signal: ac.signal, abort: () => ac.abort(), done: untrack };
}

export function modelsOutHandlers(deps: ModelsOutDeps) {
  const { registry, log } = deps;
  const stallMs = deps.stalledStreamMs ?? STALLED_STREAM_MS;
  const base = (t: Target) => ({ runDir: t.dir, checkpoint: t.which, backend: deps.backend });

  /** Runs an export (or finds it cached) and returns the archive's path and hash. */
  const exportArchive = async (
    t: Target,
    format: (typeof EXPORT_FORMATS)[number],
    signal: AbortSignal,
  ): Promise<{ file: string; sha256: string; epoch: number; files: string[] } | undefined> => {
    const metadata = {
      run_id: t.run.id,
      run_state: stateName(t.run.state),
      kind: t.run.kind === RunKind.RUN_KIND_DOWNSTREAM ? 'downstream' : 'pretext',
      in_progress: t.inProgress,
      code_revision: t.run.codeRevision,
      data_checksum: t.run.dataChecksum,
    };
    const exportDir = path.join(t.dir, 'exports');
    const cached = path.join(exportDir, exportFileName(t.which, format, t.stamp, metadata));
    if (existsSync(cached) && existsSync(`${cached}.sha256`)) {
      const info = JSON.parse(readFileSync(`${cached}.json`, 'utf8')) as { epoch: number; files: string[] };
      return { file: cached, sha256: readFileSync(`${cached}.sha256`, 'utf8').trim(), ...info };
    }
    const job: InferenceJob = {
      kind: 'export',
      ...base(t),
      format,
      exportDir,
      dataDir: deps.dataDir,
      datasetsDir: datasetsDirOf(deps.stateDir),
      metadata,
    };
    const outcome = await deps.inference.run(job, () => {}, signal);
    if (!outcome || signal.aborted) return undefined;
    if (outcome.type !== 'done' || !outcome.export) {
      if (outcome.type === 'done') throw new Error('the export worker returned no archive');
      throw outcomeError(outcome, log, 'ExportModel');
    }
    return outcome.export;
  };

  const exportModel = (call: ServerWritableStream<ExportModelRequest, ExportModelResponse>) => {
    const req = call.request;
    const ctl = callAbort(call, deps);
    const fail = (err: unknown) => {
      if (call.cancelled) return;
      call.emit('error', deps.toServiceError('ExportModel', err));
    };
    (async () => {
      if (!isExportFormat(req.format)) {
        throw invalidArgument(
          `unknown format ${quote(req.format)}; use one of: ${EXPORT_FORMATS.join(', ')}`,
        );
      }
      if (req.expectedSha256 && !/^[0-9a-f]{64}$/.test(req.expectedSha256))
        throw invalidArgument('expected_sha256 must be 64 lower-case hex digits');
      const t = target(registry, deps.stateDir, req.runId, req.checkpoint);
      const archive = await exportArchive(t, req.format, ctl.signal);
      if (!archive) return;
      if (req.expectedSha256 && req.expectedSha256 !== archive.sha256) {
        throw failedPrecondition(
          `the export changed since the download began (sha256 ${archive.sha256.slice(0, 12)}…, expected ${req.expectedSha256.slice(0, 12)}…); start again from offset 0`,
        );
      }
      const total = statSync(archive.file).size;
      if (req.offset > total)
        throw invalidArgument(`offset ${req.offset} is past the archive's ${total} bytes`);
      const write = writer(call, stallMs);
      await write({
        info: {
          format: req.format,
          fileName: `${t.run.id}-${req.format}-${t.which}.tar`,
          totalBytes: total,
          sha256: archive.sha256,
          checkpoint: t.which,
          epoch: archive.epoch,
          inProgress: t.inProgress,
          files: archive.files,
        },
        offset: req.offset,
        data: Buffer.alloc(0),
      });
      let offset = req.offset;
      const stream = createReadStream(archive.file, { start: offset, highWaterMark: EXPORT_CHUNK_BYTES });
      try {
        for await (const chunk of stream) {
          if (ctl.signal.aborted) return;
          const data = chunk as Buffer;
          await write({ info: undefined, offset, data });
          offset += data.byteLength;
        }
      } finally {
        stream.destroy();
      }
      call.end();
    })()
      .catch(fail)
      .finally(ctl.done);
  };

  const embed = (call: ServerWritableStream<EmbedRequest, EmbedResponse>) => {
    const req = call.request;
    const ctl = callAbort(call, deps);
    (async () => {
      const t = target(registry, deps.stateDir, req.runId, req.checkpoint);
      const src = req.source;
      let source: Extract<InferenceJob, { kind: 'embed' }>['source'];
      if (src?.$case === 'split') {
        const s = src.split;
        if (!(EMBED_SPLITS as readonly string[]).includes(s.split))
          throw invalidArgument(`unknown split ${quote(s.split)}; use one of: ${EMBED_SPLITS.join(', ')}`);
        if (s.dataset && !DATASET_NAMES.includes(s.dataset))
          throw invalidArgument(
            `unknown dataset ${quote(s.dataset)}; use one of: ${DATASET_NAMES.join(', ')}`,
          );
        source = { type: 'split', dataset: s.dataset, split: s.split, offset: s.offset, limit: s.limit };
      } else if (src?.$case === 'images') {
        checkImages(src.images.images);
        source = { type: 'images', images: src.images.images };
      } else {
        throw invalidArgument('say what to embed: a dataset split (split) or images');
      }
      const write = writer(call, stallMs);
      // Blocks are written in order; each is acked once the client has room for more.
      let chain = Promise.resolve();
      let broken: unknown;
      const outcome = await deps.inference.run(
        {
          kind: 'embed',
          ...base(t),
          dataDir: deps.dataDir,
          datasetsDir: datasetsDirOf(deps.stateDir),
          allowDownload: deps.allowDownload,
          source,
          rowsPerBlock: EMBED_ROWS_PER_CHUNK,
        },
        (b, handle) => {
          chain = chain.then(async () => {
            if (broken) return;
            try {
              if (b.type === 'embedInfo') {
                await write({
                  info: {
                    model: { ...b.model, inProgress: t.inProgress },
                    dim: b.dim,
                    count: b.count,
                  },
                  rows: undefined,
                });
              } else {
                await write({
                  info: undefined,
                  rows: {
                    indices: Array.from(b.indices),
                    labels: Array.from(b.labels),
                    embeddings: Buffer.from(
                      b.embeddings.buffer,
                      b.embeddings.byteOffset,
                      b.embeddings.byteLength,
                    ),
                  },
                });
                handle.ack();
              }
            } catch (err) {
              broken = err;
              handle.kill();
            }
          });
        },
        ctl.signal,
      );
      await chain;
      if (broken) throw broken;
      // Ended by the client or by shutdown: the worker was killed on purpose.
      if (!outcome || ctl.signal.aborted) return;
      if (outcome.type !== 'done') throw outcomeError(outcome, log, 'Embed');
      call.end();
    })()
      .catch((err: unknown) => {
        if (!call.cancelled) call.emit('error', deps.toServiceError('Embed', err));
      })
      .finally(ctl.done);
  };

  const predict = (
    call: ServerUnaryCall<PredictRequest, PredictResponse>,
    callback: sendUnaryData<PredictResponse>,
  ) => {
    const req = call.request;
    const ctl = callAbort(call, deps);
    (async (): Promise<PredictResponse> => {
      const t = target(registry, deps.stateDir, req.runId, req.checkpoint);
      if (t.run.kind !== RunKind.RUN_KIND_DOWNSTREAM) {
        throw failedPrecondition(
          `run ${t.run.id} is a ${t.run.method} pretext run without a classifier; Predict needs a downstream run (Embed works on any run)`,
        );
      }
      if (req.topK > MAX_TOP_K) throw invalidArgument(`top_k ${req.topK} is more than ${MAX_TOP_K}`);
      checkImages(req.images);
      const outcome = await deps.inference.run(
        { kind: 'predict', ...base(t), images: req.images, topK: req.topK || DEFAULT_TOP_K },
        () => {},
        ctl.signal,
      );
      if (!outcome || ctl.signal.aborted)
        throw new RpcError(status.CANCELLED, 'the call ended before it finished');
      if (outcome.type !== 'done' || !outcome.predict) {
        if (outcome.type === 'done') throw new Error('the predict worker returned nothing');
        throw outcomeError(outcome, log, 'Predict');
      }
      const p = outcome.predict;
      return {
        model: { ...p.model, inProgress: t.inProgress },
        predictions: p.top.map((top) => ({
          top: top.map((c) => ({
            classIndex: c.index,
            className: p.model.classNames[c.index] ?? String(c.index),
            probability: c.probability,
          })),
        })),
      };
    })()
      .then(
        (res) => callback(null, res),
        (err: unknown) => callback(deps.toServiceError('Predict', err)),
      )
      .finally(ctl.done);
  };

  return { exportModel, embed, predict };
}
