// Extraction of an official archive (tar.gz) into a hidden temporary folder, then one atomic
// rename into place, so an interrupted extraction never leaves a folder that looks whole.
// Only the expected members are written; a symlink, hard link, device or path-traversal entry
// anywhere in the archive rejects the whole archive.
import { createReadStream, createWriteStream } from 'node:fs';
import fs from 'node:fs/promises';
import path from 'node:path';
import { Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createGunzip } from 'node:zlib';
import tar from 'tar-stream';
import { DatasetCorruptError } from './errors.js';
import type { DatasetSource } from './sources.js';

export const TMP_PREFIX = '.extract-';

/** Normalizes a member name; throws for absolute paths and `..` segments. */
function memberPath(archive: string, name: string): string {
  const clean = name.replace(/^(\.\/)+/, '').replace(/\/+$/, '');
  const parts = clean.split('/');
  if (
    name.startsWith('/') ||
    /^[A-Za-z]:/.test(name) ||
    parts.includes('..') ||
    name.includes('\\') ||
    name.includes('\0')
  ) {
    throw new DatasetCorruptError(
      `${archive}: member "${name}" points outside the archive's folder; refusing to extract`,
      archive,
    );
  }
  return parts.filter((p) => p !== '.' && p !== '').join('/');
}

export interface ExtractOptions {
  onBytes?: (compressedBytesRead: number) => void;
  signal?: AbortSignal | undefined;
}

/** Extracts `archive` to `<dataDir>/<src.folder>`; returns that folder. */
export async function extractArchive(
  archive: string,
  src: DatasetSource,
  dataDir: string,
  opts: ExtractOptions = {},
): Promise<string> {
  const target = path.join(dataDir, src.folder);
  const tmp = await fs.mkdtemp(path.join(dataDir, `${TMP_PREFIX}${src.folder}-`));
  const wanted = new Map(src.files.map((f) => [f.name, f]));
  for (const name of src.archiveRequired) if (!wanted.has(name)) wanted.set(name, { name, required: true });
  const written = new Set<string>();
  try {
    let read = 0;
    const counter = new Transform({
      transform(chunk: Buffer, _enc, cb) {
        read += chunk.length;
        opts.onBytes?.(read);
        cb(null, chunk);
      },
    });
    const ex = tar.extract();
    const feeding = pipeline(createReadStream(archive), counter, createGunzip(), ex, { signal: opts.signal });
    feeding.catch(() => undefined);
    for await (const entry of ex) {
      const { name, type } = entry.header;
      const rel = memberPath(archive, name);
      if (type !== 'file' && type !== 'contiguous-file' && type !== 'directory') {
        throw new DatasetCorruptError(
          `${archive}: member "${name}" is a ${type}${entry.header.linkname ? ` to "${entry.header.linkname}"` : ''}; ` +
            'only plain files are accepted, refusing to extract',
          archive,
        );
      }
      const prefix = `${src.folder}/`;
      const member = rel.startsWith(prefix) ? rel.slice(prefix.length) : undefined;
      const spec = member !== undefined ? wanted.get(member) : undefined;
      if (type === 'directory' || !spec || !member) {
        entry.resume();
        continue;
      }
      if (written.has(member))
        throw new DatasetCorruptError(`${archive}: member "${name}" appears twice`, archive);
      if (spec.size !== undefined && entry.header.size !== spec.size) {
        throw new DatasetCorruptError(
          `${archive}: member "${name}" is ${entry.header.size} bytes, expected ${spec.size}`,
          archive,
        );
      }
      await pipeline(entry, createWriteStream(path.join(tmp, member), { flags: 'wx', mode: 0o644 }));
      written.add(member);
    }
    await feeding;
    const missing = src.archiveRequired.filter((m) => !written.has(m));
    if (missing.length > 0) {
      throw new DatasetCorruptError(
        `${archive}: missing member(s) ${missing.map((m) => `${src.folder}/${m}`).join(', ')}`,
        archive,
      );
    }
    // rename() of a directory fails if the target exists and is not empty: never merges.
    await fs.rename(tmp, target);
    return target;
  } catch (err) {
    await fs.rm(tmp, { recursive: true, force: true });
    if (err instanceof DatasetCorruptError || opts.signal?.aborted) throw err;
    const msg = err instanceof Error ? err.message : String(err);
    throw new DatasetCorruptError(
      `${archive}: cannot extract (${msg}); truncated or corrupt? delete it to re-fetch`,
      archive,
    );
  }
}

/** Removes temporary folders left by a crashed extraction (call while holding the dataset lock). */
export async function removeStaleExtractions(dataDir: string, src: DatasetSource): Promise<void> {
  const names = await fs.readdir(dataDir).catch(() => [] as string[]);
  for (const n of names) {
    if (n.startsWith(`${TMP_PREFIX}${src.folder}-`))
      await fs.rm(path.join(dataDir, n), { recursive: true, force: true });
  }
}
