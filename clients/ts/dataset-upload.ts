// Uploading a folder as a dataset: a tar of the folder (regular files and folders, names
// relative to it) written to a temp file with its SHA-256, then UploadDataset from the offset
// UploadStatus reports, so a cut-off upload continues where the daemon stopped storing.
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { pipeline } from 'node:stream/promises';
import type { Metadata } from '@grpc/grpc-js';
import tar from 'tar-stream';
import type { Dataset, ImportOptions, UploadDatasetRequest } from '../../gen/ts/pretext/v1/datasets.js';
import type { PretextServiceClient } from '../../gen/ts/pretext/v1/service.js';
import { UPLOAD } from '../../server/shared/contract/datasets.js';

export interface Archive {
  file: string;
  bytes: number;
  sha256: string;
  /** Removes the temp file. */
  dispose(): void;
}

/** Tars `folder` (symlinks are followed only when they stay inside it; others are left out). */
export async function tarFolder(folder: string): Promise<Archive> {
  const root = fs.realpathSync(folder);
  if (!fs.statSync(root).isDirectory()) throw new Error(`${folder} is not a folder`);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'pretext-upload-'));
  const file = path.join(dir, 'dataset.tar');
  const pack = tar.pack();
  const hash = createHash('sha256');
  let bytes = 0;
  const out = fs.createWriteStream(file);
  pack.on('data', (chunk: unknown) => {
    hash.update(chunk as Buffer);
    bytes += (chunk as Buffer).length;
  });
  const written = pipeline(pack as unknown as NodeJS.ReadableStream, out);
  const walk = async (rel: string): Promise<void> => {
    for (const entry of fs.readdirSync(path.join(root, rel)).sort()) {
      const r = rel ? `${rel}/${entry}` : entry;
      const real = fs.realpathSync(path.join(root, r));
      const inside = path.relative(root, real);
      if (inside.startsWith('..') || path.isAbsolute(inside)) continue;
      const st = fs.statSync(real);
      if (st.isDirectory()) await walk(r);
      else if (st.isFile()) {
        await new Promise<void>((resolve, reject) => {
          const e = pack.entry({ name: r, size: st.size, mode: 0o644 }, (err) =>
            err ? reject(err) : resolve(),
          );
          fs.createReadStream(real).on('error', reject).pipe(e);
        });
      }
    }
  };
  try {
    await walk('');
    pack.finalize();
    await written;
  } catch (err) {
    pack.destroy();
    fs.rmSync(dir, { recursive: true, force: true });
    throw err;
  }
  return {
    file,
    bytes,
    sha256: hash.digest('hex'),
    dispose: () => fs.rmSync(dir, { recursive: true, force: true }),
  };
}

export interface UploadOptions {
  options?: Partial<ImportOptions>;
  metadata?: Metadata;
  /** Bytes sent so far (including those the daemon already held). */
  onProgress?(sent: number, total: number): void;
  /** For tests: stop sending after this many bytes of this call, wait a moment, and cancel it. */
  cutAfterBytes?: number;
  /** Bytes per chunk (default UPLOAD.chunkBytes). */
  chunkBytes?: number;
}

function unary<Req, Res>(
  client: PretextServiceClient,
  method: 'uploadStatus',
  req: Req,
  md: Metadata | undefined,
): Promise<Res> {
  return new Promise((resolve, reject) => {
    const fn = (client as unknown as Record<string, (...a: unknown[]) => unknown>)[method]!;
    const cb = (err: Error | null, res: Res) => (err ? reject(err) : resolve(res));
    if (md) fn.call(client, req, md, cb);
    else fn.call(client, req, cb);
  });
}

/** Sends an archive from the offset the daemon holds; resolves with the imported dataset. */
export async function uploadArchive(
  client: PretextServiceClient,
  name: string,
  archive: Archive,
  o: UploadOptions = {},
): Promise<Dataset> {
  const status = await unary<{ name: string; sha256: string }, { receivedBytes: number }>(
    client,
    'uploadStatus',
    { name, sha256: archive.sha256 },
    o.metadata,
  );
  let offset = Number(status.receivedBytes);
  return new Promise<Dataset>((resolve, reject) => {
    const cb = (err: Error | null, res?: { dataset?: Dataset }) =>
      err
        ? reject(err)
        : res?.dataset
          ? resolve(res.dataset)
          : reject(new Error('the daemon returned no dataset'));
    const call = o.metadata ? client.uploadDataset(o.metadata, cb) : client.uploadDataset(cb);
    const send = (m: UploadDatasetRequest) =>
      new Promise<void>((res) => {
        if (call.write(m)) res();
        else call.once('drain', () => res());
      });
    (async () => {
      await send({
        part: {
          $case: 'header',
          header: {
            name,
            totalBytes: archive.bytes,
            sha256: archive.sha256,
            options: { side: 0, seed: 0, testShare: 0, maxFailedShare: 0, architecture: '', ...o.options },
          },
        },
      });
      const fd = fs.openSync(archive.file, 'r');
      let sentThisCall = 0;
      try {
        const buf = Buffer.alloc(o.chunkBytes ?? UPLOAD.chunkBytes);
        while (offset < archive.bytes) {
          const n = fs.readSync(fd, buf, 0, Math.min(buf.length, archive.bytes - offset), offset);
          if (o.cutAfterBytes !== undefined && sentThisCall + n > o.cutAfterBytes) {
            await new Promise((r) => setTimeout(r, 500));
            call.cancel();
            return;
          }
          await send({ part: { $case: 'chunk', chunk: { offset, data: Buffer.from(buf.subarray(0, n)) } } });
          offset += n;
          sentThisCall += n;
          o.onProgress?.(offset, archive.bytes);
        }
      } finally {
        fs.closeSync(fd);
      }
      call.end();
    })().catch(reject);
  });
}

/** Tars `folder` and uploads it as dataset `name`. */
export async function uploadFolder(
  client: PretextServiceClient,
  name: string,
  folder: string,
  o: UploadOptions = {},
): Promise<Dataset> {
  const archive = await tarFolder(folder);
  try {
    return await uploadArchive(client, name, archive, o);
  } finally {
    archive.dispose();
  }
}
