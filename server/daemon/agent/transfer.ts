// Moving checkpoints between an agent and its coordinator: packed (bundle.ts), addressed by
// sha256, uploaded and downloaded in 1 MiB chunks, both resumable from the bytes already there.
import { createHash } from 'node:crypto';
import {
  closeSync,
  existsSync,
  mkdirSync,
  openSync,
  readFileSync,
  renameSync,
  rmSync,
  statSync,
  writeSync,
} from 'node:fs';
import path from 'node:path';
import type * as grpc from '@grpc/grpc-js';
import type {
  AgentServiceClient,
  DownloadBlobResponse,
  StatBlobResponse,
  UploadBlobResponse,
} from '../../../gen/ts/pretext/v1/agent.js';
import { packCheckpoint, unpackCheckpoint } from '../cluster/bundle.js';
import { CHUNK_BYTES } from '../cluster/blobs.js';

export type Md = () => grpc.Metadata;

/** Uploads a packed checkpoint unless the coordinator has it; resumes a partial upload. */
export async function uploadBlob(
  client: AgentServiceClient,
  md: Md,
  bytes: Buffer,
  sha256: string,
): Promise<void> {
  const stat = await new Promise<StatBlobResponse>((resolve, reject) =>
    client.statBlob({ sha256 }, md(), (err, res) => (err ? reject(err) : resolve(res))),
  );
  if (stat.complete) return;
  let offset = Number(stat.haveBytes);
  await new Promise<UploadBlobResponse>((resolve, reject) => {
    const call = client.uploadBlob(md(), (err, res) => (err ? reject(err) : resolve(res)));
    const first = { sha256, size: bytes.length, offset, data: bytes.subarray(offset, offset + CHUNK_BYTES) };
    call.write(first);
    offset += first.data.length;
    while (offset < bytes.length) {
      const data = bytes.subarray(offset, offset + CHUNK_BYTES);
      call.write({ sha256: '', size: 0, offset: 0, data });
      offset += data.length;
    }
    call.end();
  });
}

/** Packs and uploads a checkpoint directory; its sha256, or undefined when it holds none. */
export async function uploadCheckpoint(
  client: AgentServiceClient,
  md: Md,
  dir: string,
): Promise<string | undefined> {
  const packed = packCheckpoint(dir);
  if (!packed) return undefined;
  await uploadBlob(client, md, packed.bytes, packed.sha256);
  return packed.sha256;
}

/** Downloads a blob into `cacheDir/<sha>` (resuming `.part`) and checks its hash. */
export async function downloadBlob(
  client: AgentServiceClient,
  md: Md,
  sha256: string,
  cacheDir: string,
): Promise<Buffer> {
  mkdirSync(cacheDir, { recursive: true });
  const file = path.join(cacheDir, sha256);
  if (existsSync(file)) return readFileSync(file);
  const part = `${file}.part`;
  const offset = existsSync(part) ? statSync(part).size : 0;
  await new Promise<void>((resolve, reject) => {
    const fd = openSync(part, 'a');
    const call = client.downloadBlob({ sha256, offset }, md());
    call.on('data', (chunk: DownloadBlobResponse) => {
      let done = 0;
      while (done < chunk.data.length) done += writeSync(fd, chunk.data, done, chunk.data.length - done);
    });
    call.on('error', (err) => {
      closeSync(fd);
      reject(err);
    });
    call.on('end', () => {
      closeSync(fd);
      resolve();
    });
  });
  const bytes = readFileSync(part);
  if (createHash('sha256').update(bytes).digest('hex') !== sha256) {
    rmSync(part, { force: true });
    throw new Error(`download of ${sha256.slice(0, 12)}… does not match its hash`);
  }
  renameSync(part, file);
  return bytes;
}

/** Downloads a checkpoint blob and writes it as the checkpoint directory `dir`. */
export async function downloadCheckpoint(
  client: AgentServiceClient,
  md: Md,
  sha256: string,
  cacheDir: string,
  dir: string,
): Promise<void> {
  const bytes = await downloadBlob(client, md, sha256, cacheDir);
  mkdirSync(path.dirname(dir), { recursive: true });
  unpackCheckpoint(bytes, dir);
}
