// Models out, client side (CLI and TUI): download an export (resuming a broken transfer from
// where it stopped, checking the sha256), unpack it, collect embeddings, write .npy files.
import { createHash } from 'node:crypto';
import { createReadStream, existsSync } from 'node:fs';
import { appendFile, mkdir, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { type Metadata, status } from '@grpc/grpc-js';
import tar from 'tar-stream';
import type { EmbedInfo, ExportInfo } from '../../gen/ts/pretext/v1/models.js';
import { CheckpointChoice } from '../../gen/ts/pretext/v1/run.js';
import {
  EmbedRequest,
  type EmbedResponse,
  ExportModelRequest,
  type PretextServiceClient,
} from '../../gen/ts/pretext/v1/service.js';
import { type Connection, isServiceError, isTransient } from './connection.js';

export function checkpointChoice(name: string | undefined): CheckpointChoice {
  if (!name || name === 'best') return CheckpointChoice.CHECKPOINT_CHOICE_BEST;
  if (name === 'last') return CheckpointChoice.CHECKPOINT_CHOICE_LAST;
  throw new Error(`--checkpoint must be best or last, got "${name.slice(0, 40)}"`);
}

async function sha256File(file: string): Promise<string> {
  const h = createHash('sha256');
  for await (const chunk of createReadStream(file)) h.update(chunk as Buffer);
  return h.digest('hex');
}

export interface DownloadResult {
  info: ExportInfo;
  /** The archive on disk. */
  file: string;
  /** Times the transfer was resumed after a transient error. */
  resumed: number;
}

/**
 * Downloads an export archive to `file`. Bytes land in `<file>.part` (with the archive's sha256
 * in `<file>.part.sha256`), so a broken transfer — or a later call after a crash — resumes from
 * where it stopped; the result is checked against the sha256 before it is renamed into place.
 */
export async function downloadExport(
  conn: Connection,
  req: { runId: string; format: string; checkpoint: CheckpointChoice },
  file: string,
  opts: { retries?: number; onProgress?: (done: number, total: number) => void } = {},
): Promise<DownloadResult> {
  const part = `${file}.part`;
  const shaFile = `${part}.sha256`;
  await mkdir(path.dirname(path.resolve(file)), { recursive: true });
  let resumed = 0;
  for (let attempt = 0; ; attempt++) {
    let offset = 0;
    let expected = '';
    if (existsSync(part) && existsSync(shaFile)) {
      offset = (await stat(part)).size;
      expected = (await readFile(shaFile, 'utf8')).trim();
    } else {
      await rm(part, { force: true });
    }
    try {
      const info = await receive(
        conn,
        { ...req, offset, expectedSha256: expected },
        part,
        shaFile,
        opts.onProgress,
      );
      const got = await sha256File(part);
      if (got !== info.sha256) {
        await rm(part, { force: true });
        await rm(shaFile, { force: true });
        throw new Error(
          `the download's sha256 ${got.slice(0, 12)}… differs from the daemon's ${info.sha256.slice(0, 12)}…`,
        );
      }
      await rename(part, file);
      await rm(shaFile, { force: true });
      return { info, file, resumed };
    } catch (err) {
      // The export changed under a resume: start over once from zero.
      if (isServiceError(err) && err.code === status.FAILED_PRECONDITION && expected) {
        await rm(part, { force: true });
        await rm(shaFile, { force: true });
        if (attempt < (opts.retries ?? 5)) continue;
      }
      if (isTransient(err) && attempt < (opts.retries ?? 5)) {
        resumed++;
        await new Promise((r) => setTimeout(r, Math.min(2000, 200 * 2 ** attempt)));
        continue;
      }
      throw err;
    }
  }
}

function receive(
  conn: Connection,
  req: {
    runId: string;
    format: string;
    checkpoint: CheckpointChoice;
    offset: number;
    expectedSha256: string;
  },
  part: string,
  shaFile: string,
  onProgress?: (done: number, total: number) => void,
): Promise<ExportInfo> {
  return new Promise((resolve, reject) => {
    const call = conn.client.exportModel(ExportModelRequest.fromPartial(req), conn.metadata());
    let info: ExportInfo | undefined;
    // Writes are chained so chunks land in order; the stream pauses while one is written.
    let chain: Promise<void> = Promise.resolve();
    let failure: unknown;
    const step = (fn: () => Promise<void>) => {
      chain = chain.then(async () => {
        if (failure) return;
        try {
          await fn();
        } catch (err) {
          failure = err;
          call.cancel();
        }
      });
    };
    call.on('data', (msg: { info?: ExportInfo; offset: number; data: Buffer }) => {
      if (msg.info) {
        const header = msg.info;
        info = header;
        step(() => writeFile(shaFile, header.sha256));
      }
      if (msg.data.byteLength === 0) return;
      call.pause();
      step(async () => {
        await appendFile(part, msg.data);
        if (info) onProgress?.(msg.offset + msg.data.byteLength, info.totalBytes);
        call.resume();
      });
    });
    call.on('error', (err) => {
      void chain.then(() => reject(failure ?? err));
    });
    call.on('end', () => {
      void chain.then(() => {
        if (failure) reject(failure);
        else if (!info) reject(new Error('the daemon ended the export without a header'));
        else resolve(info);
      });
    });
  });
}

/** Unpacks a tar archive into `dir`; returns the file names. Refuses paths that leave `dir`. */
export async function extractArchive(file: string, dir: string): Promise<string[]> {
  await mkdir(dir, { recursive: true });
  const names: string[] = [];
  const ex = tar.extract();
  const done = new Promise<void>((resolve, reject) => {
    ex.on('entry', (h, stream, next) => {
      const target = path.resolve(dir, h.name);
      if (!target.startsWith(path.resolve(dir) + path.sep) || h.type !== 'file') {
        stream.resume();
        next(new Error(`unexpected entry ${h.name} in the export archive`));
        return;
      }
      const parts: Buffer[] = [];
      stream.on('data', (c) => parts.push(c as Buffer));
      stream.on('end', () => {
        writeFile(target, Buffer.concat(parts)).then(() => {
          names.push(h.name);
          next();
        }, next);
      });
    });
    ex.on('finish', resolve);
    ex.on('error', reject);
  });
  createReadStream(file).pipe(ex);
  await done;
  return names;
}

export interface Embeddings {
  info: EmbedInfo;
  dim: number;
  indices: Int32Array;
  labels: Int32Array;
  /** count × dim, row-major. */
  embeddings: Float32Array;
}

/** Runs Embed and gathers the whole stream. */
export function collectEmbeddings(conn: Connection, req: Partial<EmbedRequest>): Promise<Embeddings> {
  return embedWith(conn.client, conn.metadata(), req);
}

/** Embed through a bare client (the study report's collector has no Connection). */
export function embedWith(
  client: PretextServiceClient,
  md: Metadata,
  req: Partial<EmbedRequest>,
): Promise<Embeddings> {
  return new Promise((resolve, reject) => {
    const call = client.embed(EmbedRequest.fromPartial(req), md);
    let info: EmbedInfo | undefined;
    let at = 0;
    let out: Embeddings | undefined;
    call.on('data', (msg: EmbedResponse) => {
      if (msg.info) {
        info = msg.info;
        const n = info.count;
        out = {
          info,
          dim: info.dim,
          indices: new Int32Array(n),
          labels: new Int32Array(n),
          embeddings: new Float32Array(n * info.dim),
        };
      }
      if (msg.rows && out) {
        const r = msg.rows;
        const bytes = r.embeddings;
        const f = new Float32Array(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength));
        out.indices.set(r.indices, at);
        out.labels.set(r.labels, at);
        out.embeddings.set(f, at * out.dim);
        at += r.indices.length;
      }
    });
    call.on('error', reject);
    call.on('end', () => {
      if (!out) reject(new Error('the daemon ended Embed without a header'));
      else if (at !== out.info.count) reject(new Error(`Embed sent ${at} of ${out.info.count} rows`));
      else resolve(out);
    });
  });
}

/** A NumPy .npy file (format 1.0, little-endian) of a float32 or int32 array. */
export function npyBytes(data: Float32Array | Int32Array, shape: number[]): Uint8Array {
  const descr = data instanceof Float32Array ? '<f4' : '<i4';
  const shapeText = shape.length === 1 ? `(${shape[0]},)` : `(${shape.join(', ')})`;
  let header = `{'descr': '${descr}', 'fortran_order': False, 'shape': ${shapeText}, }`;
  // Magic (6) + version (2) + header length (2) + header, padded with spaces to 64 bytes, '\n'.
  const total = Math.ceil((10 + header.length + 1) / 64) * 64;
  header = header.padEnd(total - 10 - 1, ' ') + '\n';
  const out = new Uint8Array(total + data.byteLength);
  out.set([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59, 1, 0], 0);
  out[8] = header.length & 0xff;
  out[9] = header.length >> 8;
  out.set(new TextEncoder().encode(header), 10);
  out.set(new Uint8Array(data.buffer, data.byteOffset, data.byteLength), total);
  return out;
}

/** Writes `<out>` (embeddings), `<stem>.labels.npy` and `<stem>.indices.npy`; returns the paths. */
export async function writeEmbeddings(e: Embeddings, out: string): Promise<string[]> {
  const stem = out.endsWith('.npy') ? out.slice(0, -4) : out;
  const files = [out, `${stem}.labels.npy`, `${stem}.indices.npy`];
  await mkdir(path.dirname(path.resolve(out)), { recursive: true });
  await writeFile(files[0]!, npyBytes(e.embeddings, [e.indices.length, e.dim]));
  await writeFile(files[1]!, npyBytes(e.labels, [e.labels.length]));
  await writeFile(files[2]!, npyBytes(e.indices, [e.indices.length]));
  return files;
}
