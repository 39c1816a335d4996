// A checkpoint directory as one blob, so it can be addressed by its sha256 and moved in chunks:
//   "PTXB1\n" + JSON header {"files":[{"name","size"}]} + "\n" + the files' bytes in header order.
// Packing is deterministic (sorted names), so the same checkpoint always has the same sha256.
// A checkpoint is swapped in by two renames (`dir` → `dir.old`, `dir.tmp` → `dir`) while the
// worker trains on: pack re-reads state.json after the files and retries when it changed, so a
// blob never mixes two checkpoints. Unpacking stages the files and swaps them in the same way.
import { createHash, randomBytes } from 'node:crypto';
import {
  closeSync,
  fsyncSync,
  mkdirSync,
  openSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
  statSync,
  writeSync,
} from 'node:fs';
import path from 'node:path';

const MAGIC = 'PTXB1\n';
const MAX_FILES = 64;
const STATE_JSON = 'state.json';

export interface PackedCheckpoint {
  bytes: Buffer;
  sha256: string;
}

export function sha256Of(bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('hex');
}

function readAll(dir: string): { names: string[]; files: Buffer[] } {
  const names = readdirSync(dir)
    .filter((n) => statSync(path.join(dir, n)).isFile())
    .sort();
  return { names, files: names.map((n) => readFileSync(path.join(dir, n))) };
}

/** Packs a checkpoint directory (falling back to `dir.old` in the swap's gap); undefined when absent. */
export function packCheckpoint(dir: string): PackedCheckpoint | undefined {
  for (let tries = 0; tries < 20; tries++) {
    for (const d of [dir, `${dir}.old`]) {
      try {
        const before = readFileSync(path.join(d, STATE_JSON));
        const { names, files } = readAll(d);
        const after = readFileSync(path.join(d, STATE_JSON));
        if (!before.equals(after)) continue;
        return pack(names, files);
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
      }
    }
  }
  return undefined;
}

export function pack(names: string[], files: Buffer[]): PackedCheckpoint {
  const header = JSON.stringify({ files: names.map((name, i) => ({ name, size: files[i]!.length })) });
  const bytes = Buffer.concat([Buffer.from(`${MAGIC}${header}\n`), ...files]);
  return { bytes, sha256: sha256Of(bytes) };
}

export function unpack(bytes: Buffer): Array<{ name: string; data: Buffer }> {
  if (bytes.subarray(0, MAGIC.length).toString() !== MAGIC) throw new Error('not a packed checkpoint');
  const nl = bytes.indexOf(0x0a, MAGIC.length);
  if (nl < 0) throw new Error('packed checkpoint has no header');
  const header = JSON.parse(bytes.subarray(MAGIC.length, nl).toString()) as {
    files?: Array<{ name?: unknown; size?: unknown }>;
  };
  const list = header.files ?? [];
  if (!Array.isArray(list) || list.length > MAX_FILES)
    throw new Error('packed checkpoint header is malformed');
  let at = nl + 1;
  const out: Array<{ name: string; data: Buffer }> = [];
  for (const f of list) {
    const name = f.name;
    const size = f.size;
    // Names are plain file names: nothing can land outside the checkpoint directory.
    if (typeof name !== 'string' || !/^[A-Za-z0-9._-]{1,64}$/.test(name) || name.startsWith('.'))
      throw new Error('packed checkpoint names a file outside its directory');
    if (typeof size !== 'number' || !Number.isInteger(size) || size < 0 || at + size > bytes.length)
      throw new Error('packed checkpoint is truncated');
    out.push({ name, data: bytes.subarray(at, at + size) });
    at += size;
  }
  if (at !== bytes.length) throw new Error('packed checkpoint has trailing bytes');
  return out;
}

function writeSynced(file: string, data: Buffer): void {
  const fd = openSync(file, 'w');
  try {
    let done = 0;
    while (done < data.length) done += writeSync(fd, data, done, data.length - done);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

/** Writes the blob's files as the checkpoint `dir`, swapped in whole (readers see old or new). */
export function unpackCheckpoint(bytes: Buffer, dir: string): void {
  const files = unpack(bytes);
  const stage = `${dir}.tmp-${randomBytes(4).toString('hex')}`;
  mkdirSync(stage, { recursive: true });
  try {
    // state.json last: a directory holding it is complete.
    const ordered = [
      ...files.filter((f) => f.name !== STATE_JSON),
      ...files.filter((f) => f.name === STATE_JSON),
    ];
    for (const f of ordered) writeSynced(path.join(stage, f.name), f.data);
    const old = `${dir}.old`;
    rmSync(old, { recursive: true, force: true });
    try {
      renameSync(dir, old);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
    }
    renameSync(stage, dir);
    rmSync(old, { recursive: true, force: true });
  } finally {
    rmSync(stage, { recursive: true, force: true });
  }
}
