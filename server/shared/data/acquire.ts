// Makes a dataset folder exist in the data dir: the extracted folder if complete, else the
// official archive (verified, then extracted), else a download when allowed. Everything after
// the first check runs under a lock file in the data dir, so concurrent runs (separate worker
// processes) share one download; waiters report the holder's progress from the .part size.
import fs from 'node:fs/promises';
import path from 'node:path';
import type { DownloadProgress } from '../../../gen/ts/pretext/v1/event.js';
import { hashFile } from './checksum.js';
import { downloadToPart, RateMeter } from './download.js';
import { DatasetCorruptError, DatasetUnavailableError } from './errors.js';
import { extractArchive, removeStaleExtractions } from './extract.js';
import { exists } from './files.js';
import { withFileLock } from './lock.js';
import type { DatasetSource } from './sources.js';

export interface AcquireOptions {
  dataDir: string;
  allowDownload: boolean;
  onProgress?: ((p: DownloadProgress) => void) | undefined;
  signal?: AbortSignal | undefined;
  hint: string;
  /** Lock polling interval, ms (tests shorten it). */
  pollMs?: number;
}

export function folderComplete(folder: string, src: DatasetSource): boolean {
  return exists(folder) && src.files.every((f) => !f.required || exists(path.join(folder, f.name)));
}

/** Checks a file against the source's published archive size and sums; throws naming what differs. */
export async function verifyArchive(file: string, src: DatasetSource): Promise<void> {
  const size = (await fs.stat(file)).size;
  if (src.archiveSize !== undefined && size !== src.archiveSize) {
    throw new DatasetCorruptError(`${file}: expected ${src.archiveSize} bytes, found ${size} bytes`, file);
  }
  const algorithms = [...(src.md5 ? ['md5'] : []), ...(src.sha256 ? ['sha256'] : [])];
  if (algorithms.length === 0) return;
  const sums = await hashFile(file, algorithms);
  for (const [alg, expected] of [
    ['md5', src.md5],
    ['sha256', src.sha256],
  ] as const) {
    if (expected && sums[alg] !== expected.toLowerCase()) {
      throw new DatasetCorruptError(
        `${file}: ${alg.toUpperCase()} ${sums[alg]} does not match the published ${expected}`,
        file,
      );
    }
  }
}

export async function acquireDataset(src: DatasetSource, opts: AcquireOptions): Promise<string> {
  const folder = path.join(opts.dataDir, src.folder);
  if (folderComplete(folder, src)) return folder;
  const archive = path.join(opts.dataDir, src.archive);
  const part = `${archive}.part`;
  if (!opts.allowDownload && !exists(archive)) {
    throw new DatasetUnavailableError(`${src.name} is not in ${opts.dataDir}: ${opts.hint}`);
  }
  await fs.mkdir(opts.dataDir, { recursive: true });
  const emit = (phase: string, p: Partial<DownloadProgress> = {}) =>
    opts.onProgress?.({
      dataset: src.name,
      file: src.archive,
      bytesDone: 0,
      bytesTotal: src.archiveSize ?? 0,
      bytesPerSecond: 0,
      etaSeconds: 0,
      phase,
      ...p,
    });
  const transfer = (phase: string) => new RateMeter(250, (t) => emit(phase, t as Partial<DownloadProgress>));
  const waitMeter = transfer('download');
  const lockFile = path.join(opts.dataDir, `.${src.archive}.lock`);
  return withFileLock(
    lockFile,
    async () => {
      if (folderComplete(folder, src)) return folder;
      await removeStaleExtractions(opts.dataDir, src);
      if (exists(folder)) {
        const missing = src.files.filter((f) => f.required && !exists(path.join(folder, f.name)));
        throw new DatasetUnavailableError(
          `${folder} exists but lacks ${missing.map((f) => f.name).join(', ')}; complete it, or remove it so that ` +
            `${src.archive} can be extracted there`,
        );
      }
      if (!exists(archive)) {
        if (!opts.allowDownload)
          throw new DatasetUnavailableError(`${src.name} is not in ${opts.dataDir}: ${opts.hint}`);
        emit('download');
        await downloadToPart(src.url, part, {
          expectedSize: src.archiveSize,
          signal: opts.signal,
          onProgress: (t) => emit('download', t),
        });
        emit('verify', { bytesDone: (await fs.stat(part)).size });
        try {
          await verifyArchive(part, src);
        } catch (e) {
          // A bad download is useless for a resume: drop it, so the next attempt starts clean.
          await fs.rm(part, { force: true });
          throw e;
        }
        await fs.rename(part, archive);
      } else {
        emit('verify', { bytesDone: (await fs.stat(archive)).size });
        await verifyArchive(archive, src);
      }
      const total = (await fs.stat(archive)).size;
      const ex = transfer('extract');
      await extractArchive(archive, src, opts.dataDir, {
        signal: opts.signal,
        onBytes: (n) => ex.update(n, total),
      });
      ex.update(total, total, true);
      emit('done', { bytesDone: total, bytesTotal: total });
      return folder;
    },
    {
      signal: opts.signal,
      pollMs: opts.pollMs,
      onWait: () => {
        // Another process is downloading: show its progress from the size of its .part file.
        fs.stat(part).then(
          (s) => waitMeter.update(s.size, src.archiveSize ?? 0),
          () => undefined,
        );
      },
    },
  );
}
