// The coordinator's content-addressed store: `<state-dir>/blobs/<sha256>` for complete blobs,
// `<sha256>.part` for an upload in progress (resumed from its size). A blob is accepted only
// when its bytes hash to its name.
import { createHash } from 'node:crypto';
import {
  closeSync,
  existsSync,
  fstatSync,
  mkdirSync,
  openSync,
  readSync,
  renameSync,
  rmSync,
  statSync,
  writeFileSync,
  writeSync,
} from 'node:fs';
import path from 'node:path';
import { packCheckpoint, sha256Of } from './bundle.js';

/** Largest blob accepted (a ResNet checkpoint with Adam state is a few MB). */
export const MAX_BLOB_BYTES = 2 * 1024 ** 3;
export const CHUNK_BYTES = 1024 * 1024;

export function isSha256(s: string): boolean {
  return /^[0-9a-f]{64}$/.test(s);
}

export class BlobStore {
  readonly dir: string;

  constructor(stateDir: string) {
    this.dir = path.join(stateDir, 'blobs');
    mkdirSync(this.dir, { recursive: true });
  }

  file(sha: string): string {
    if (!isSha256(sha)) throw new Error('not a sha256');
    return path.join(this.dir, sha);
  }

  stat(sha: string): { complete: boolean; haveBytes: number; size: number } {
    const f = this.file(sha);
    if (existsSync(f)) {
      const size = statSync(f).size;
      return { complete: true, haveBytes: size, size };
    }
    const part = `${f}.part`;
    return { complete: false, haveBytes: existsSync(part) ? statSync(part).size : 0, size: 0 };
  }

  /** Appends `data` at `offset` of an upload; verifies and completes it at `size`. */
  append(
    sha: string,
    size: number,
    offset: number,
    data: Uint8Array,
  ): { complete: boolean; haveBytes: number } {
    const s = this.stat(sha);
    if (s.complete) return s;
    if (offset !== s.haveBytes)
      throw new Error(`upload of ${sha.slice(0, 12)} must continue at byte ${s.haveBytes}, not ${offset}`);
    if (size > MAX_BLOB_BYTES || offset + data.length > size)
      throw new Error('upload is larger than its declared size');
    const part = `${this.file(sha)}.part`;
    const fd = openSync(part, 'a');
    try {
      let done = 0;
      while (done < data.length) done += writeSync(fd, data, done, data.length - done);
    } finally {
      closeSync(fd);
    }
    const have = offset + data.length;
    if (have < size) return { complete: false, haveBytes: have };
    const hash = createHash('sha256');
    const rfd = openSync(part, 'r');
    try {
      const buf = Buffer.alloc(CHUNK_BYTES);
      for (;;) {
        const n = readSync(rfd, buf, 0, buf.length, null);
        if (n <= 0) break;
        hash.update(buf.subarray(0, n));
      }
    } finally {
      closeSync(rfd);
    }
    if (hash.digest('hex') !== sha) {
      rmSync(part, { force: true });
      throw new Error(`upload does not hash to ${sha.slice(0, 12)}…; it was dropped, upload it again`);
    }
    renameSync(part, this.file(sha));
    return { complete: true, haveBytes: have };
  }

  put(bytes: Buffer): string {
    const sha = sha256Of(bytes);
    const f = this.file(sha);
    if (!existsSync(f)) {
      writeFileSync(`${f}.tmp`, bytes);
      renameSync(`${f}.tmp`, f);
    }
    return sha;
  }

  /** Packs a checkpoint directory into the store; undefined when the directory holds none. */
  putCheckpoint(dir: string): { sha256: string; size: number } | undefined {
    const packed = packCheckpoint(dir);
    if (!packed) return undefined;
    this.put(packed.bytes);
    return { sha256: packed.sha256, size: packed.bytes.length };
  }

  read(sha: string, offset: number, length: number): { data: Buffer; size: number } {
    const fd = openSync(this.file(sha), 'r');
    try {
      const size = fstatSync(fd).size;
      const n = Math.max(0, Math.min(length, size - offset));
      const data = Buffer.alloc(n);
      let done = 0;
      while (done < n) {
        const got = readSync(fd, data, done, n - done, offset + done);
        if (got <= 0) break;
        done += got;
      }
      return { data, size };
    } finally {
      closeSync(fd);
    }
  }
}
