// File hashing. Dataset folders are hashed on every resolve (the run's provenance records the
// result), so per-file SHA-256 sums are cached by (size, mtime) in memory and, where the folder is
// writable, in a sidecar file — hashing 2.7 GB of STL-10 once is enough.
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { realpathSync } from 'node:fs';
import fs from 'node:fs/promises';
import path from 'node:path';

export async function hashFile(
  file: string,
  algorithms: string[] = ['sha256'],
): Promise<Record<string, string>> {
  const hashes = algorithms.map((a) => createHash(a));
  for await (const chunk of createReadStream(file, { highWaterMark: 1 << 22 })) {
    for (const h of hashes) h.update(chunk as Buffer);
  }
  const out: Record<string, string> = {};
  algorithms.forEach((a, i) => {
    out[a] = hashes[i]!.digest('hex');
  });
  return out;
}

interface CacheEntry {
  size: number;
  mtimeMs: number;
  sha256: string;
}

export const SIDECAR = '.pretext-sha256.json';
const memory = new Map<string, CacheEntry>();

async function readSidecar(dir: string): Promise<Record<string, CacheEntry>> {
  try {
    return JSON.parse(await fs.readFile(path.join(dir, SIDECAR), 'utf8')) as Record<string, CacheEntry>;
  } catch {
    return {};
  }
}

/** SHA-256 of each named file of `dir` (cached by size and mtime). */
export async function folderDigests(dir: string, names: string[]): Promise<Map<string, string>> {
  const sidecar = await readSidecar(dir);
  const out = new Map<string, string>();
  let changed = false;
  for (const name of names) {
    const file = path.join(dir, name);
    const st = await fs.stat(file);
    const key = realpathSync(file);
    const hit = memory.get(key) ?? sidecar[name];
    if (hit && hit.size === st.size && hit.mtimeMs === st.mtimeMs) {
      out.set(name, hit.sha256);
      memory.set(key, hit);
      continue;
    }
    const { sha256 } = await hashFile(file);
    const entry = { size: st.size, mtimeMs: st.mtimeMs, sha256: sha256! };
    memory.set(key, entry);
    sidecar[name] = entry;
    changed = true;
    out.set(name, entry.sha256);
  }
  if (changed) {
    // Best effort: a read-only data dir simply re-hashes in the next process.
    const tmp = path.join(dir, `${SIDECAR}.${process.pid}.tmp`);
    await fs
      .writeFile(tmp, JSON.stringify(sidecar))
      .then(() => fs.rename(tmp, path.join(dir, SIDECAR)))
      .catch(() => fs.rm(tmp, { force: true }).catch(() => undefined));
  }
  return out;
}

/** One checksum for a set of files: SHA-256 over "sha256  name\n" lines in name order. */
export function combineDigests(digests: Map<string, string>): string {
  const h = createHash('sha256');
  for (const name of [...digests.keys()].sort()) h.update(`${digests.get(name)}  ${name}\n`);
  return h.digest('hex');
}
