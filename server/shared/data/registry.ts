// Dataset registry: finds a dataset in the data dir (extracted folder, else the official
// archive, which it extracts, else a download when allowed), checks its files and hands out a
// handle that loads splits as uint8 ImageSets.
import path from 'node:path';
import type { DownloadProgress } from '../../../gen/ts/pretext/v1/event.js';
import { acquireDataset, folderComplete } from './acquire.js';
import { combineDigests, folderDigests } from './checksum.js';
import { readCifar10, cifar10ClassNames, cifar10Files, CIFAR10_RECORD } from './cifar10.js';
import { addImportedDataset } from '../contract/catalog.js';
import { DatasetCorruptError, DatasetUnavailableError } from './errors.js';
import { catalogEntryOf, MANIFEST_FILE, openImported, readManifest } from './imported.js';
import { checkSize, exists, recordCount } from './files.js';
import { type DatasetName, type DatasetSource, OFFICIAL_SOURCES, sourceFor } from './sources.js';
import { readStl10, readStl10Folds, STL10_SIDE, stl10ClassNames, stl10Count, stl10Files } from './stl10.js';
import type { ImageSet, Split } from './types.js';

export type { DatasetName } from './sources.js';
export { DatasetCorruptError, DatasetUnavailableError } from './errors.js';

export const DATASET_NAMES: readonly string[] = ['cifar10', 'stl10'];

export interface LoadOptions {
  /** Read only the first `limit` images (0/undefined = all). */
  limit?: number;
  /** STL-10 only: first record to read, to walk the unlabeled split in pieces. */
  offset?: number;
}

export interface DatasetHandle {
  /** A built-in name (cifar10, stl10) or an imported dataset's. */
  name: string;
  /** The extracted folder the files are read from. */
  dir: string;
  /** SHA-256 over "sha256  name" lines of every dataset file present in `dir`. */
  checksum: string;
  numClasses: number;
  classNames: string[];
  height: number;
  width: number;
  /** Loads a split as uint8 NHWC. CIFAR-10's `unlabeled` is its train split with labels 255. */
  load(split: Split, opts?: LoadOptions): Promise<ImageSet>;
  /** Number of images of a split without reading them (throws if its file is missing). */
  count(split: Split): number;
  /** Whether a split's files are present. */
  hasSplit(split: Split): boolean;
  /** STL-10's official folds (fold_indices.txt), sorted; throws for CIFAR-10 or when absent. */
  folds(): Int32Array[];
  /**
   * Imported datasets: a split read from disk on demand (labels in memory, images fetched per
   * batch), so a run's memory does not grow with the dataset. Absent: `load` the split.
   */
  stream?(split: Split, opts?: LoadOptions): SplitStream;
}

/** A split whose images stay on disk until asked for. */
export interface SplitStream {
  dataset: string;
  count: number;
  height: number;
  width: number;
  /** One label a image (255 = unlabeled). */
  labels: Uint8Array;
  /** The images at `indices`, in that order, as a compact ImageSet (image k = indices[k]). */
  gather(indices: ArrayLike<number>): ImageSet;
  close(): void;
}

export interface ResolveOptions {
  dataDir: string;
  allowDownload: boolean;
  onProgress?: (p: DownloadProgress) => void;
  signal?: AbortSignal;
  /** Overrides of the official sources (URL, sums, file facts): for tests and mirrors. */
  sources?: Partial<Record<DatasetName, Partial<DatasetSource>>>;
  /** Where imported datasets live (`<state-dir>/datasets`); names not built in are looked up there. */
  datasetsDir?: string;
}

function asName(name: string): DatasetName {
  if (!DATASET_NAMES.includes(name)) {
    throw new DatasetUnavailableError(`unknown dataset "${name}" (known: ${DATASET_NAMES.join(', ')})`);
  }
  return name as DatasetName;
}

function hintFor(src: DatasetSource, dataDir: string): string {
  return (
    `put ${src.archive} (from ${src.url}) or its extracted folder ${src.folder}/ into ${dataDir}, ` +
    'or start the daemon with downloads allowed'
  );
}

/** Cheap, synchronous presence check (for GetServerInfo). */
export function datasetStatus(
  name: string,
  dataDir: string,
): { present: boolean; path: string; hint: string } {
  const src = OFFICIAL_SOURCES[asName(name)];
  const folder = path.join(dataDir, src.folder);
  const archive = path.join(dataDir, src.archive);
  if (folderComplete(folder, src)) return { present: true, path: folder, hint: '' };
  if (exists(archive)) return { present: true, path: archive, hint: 'the archive is extracted on first use' };
  return { present: false, path: folder, hint: hintFor(src, dataDir) };
}

export async function resolveDataset(name: string, opts: ResolveOptions): Promise<DatasetHandle> {
  if (!DATASET_NAMES.includes(name) && opts.datasetsDir && !name.startsWith('.') && !/[/\\]/.test(name)) {
    const dir = path.join(opts.datasetsDir, name);
    if (exists(path.join(dir, MANIFEST_FILE))) {
      const handle = openImported(dir);
      addImportedDataset(catalogEntryOf(readManifest(dir)));
      return handle;
    }
  }
  const ds = asName(name);
  const src = sourceFor(ds, opts.sources?.[ds]);
  const dir = await acquireDataset(src, {
    dataDir: opts.dataDir,
    allowDownload: opts.allowDownload,
    onProgress: opts.onProgress,
    signal: opts.signal,
    hint: hintFor(src, opts.dataDir),
  });
  return openDatasetDir(ds, dir, src);
}

/**
 * Opens an extracted folder directly (no archive, no download): checks every file's size and,
 * where the source knows it, SHA-256; then computes the handle's checksum.
 */
export async function openDatasetDir(
  name: DatasetName,
  dir: string,
  src?: DatasetSource,
): Promise<DatasetHandle> {
  const source = src ?? OFFICIAL_SOURCES[name];
  const present = source.files.filter((f) => exists(path.join(dir, f.name)));
  for (const f of source.files) {
    if (f.required && !present.includes(f)) {
      throw new DatasetUnavailableError(
        `${name}: missing file ${path.join(dir, f.name)}; ${hintFor(source, path.dirname(dir))}`,
      );
    }
  }
  for (const f of present) if (f.size !== undefined) checkSize(path.join(dir, f.name), f.size);
  const digests = await folderDigests(
    dir,
    present.map((f) => f.name),
  );
  for (const f of present) {
    const actual = digests.get(f.name);
    if (f.sha256 && actual !== f.sha256) {
      throw new DatasetCorruptError(
        `${path.join(dir, f.name)}: SHA-256 ${actual} does not match the published ${f.sha256} (corrupt; delete it to re-fetch)`,
        path.join(dir, f.name),
      );
    }
  }
  const checksum = combineDigests(digests);
  return name === 'cifar10' ? cifarHandle(dir, checksum) : stlHandle(dir, checksum);
}

function cifarHandle(dir: string, checksum: string): DatasetHandle {
  const classNames = cifar10ClassNames(dir);
  const count = (split: Split) =>
    cifar10Files(split).reduce((n, f) => n + recordCount(path.join(dir, f), CIFAR10_RECORD), 0);
  return {
    name: 'cifar10',
    dir,
    checksum,
    numClasses: classNames.length,
    classNames,
    height: 32,
    width: 32,
    load: async (split, o) => readCifar10(dir, split, o?.limit, classNames),
    count,
    hasSplit: (split) => cifar10Files(split).every((f) => exists(path.join(dir, f))),
    folds: () => {
      throw new DatasetUnavailableError(
        'cifar10 has no official folds (use the stratified_fold or cumulative scheme)',
      );
    },
  };
}

function stlHandle(dir: string, checksum: string): DatasetHandle {
  const classNames = stl10ClassNames(dir);
  const count = (split: Split) => stl10Count(path.join(dir, stl10Files(split).x));
  return {
    name: 'stl10',
    dir,
    checksum,
    numClasses: classNames.length,
    classNames,
    height: STL10_SIDE,
    width: STL10_SIDE,
    load: async (split, o) => readStl10(dir, split, { ...o, classNames }),
    count,
    hasSplit: (split) => {
      const f = stl10Files(split);
      return exists(path.join(dir, f.x)) && (!f.y || exists(path.join(dir, f.y)));
    },
    folds: () => {
      const train = path.join(dir, 'train_X.bin');
      return readStl10Folds(dir, exists(train) ? stl10Count(train) : undefined);
    },
  };
}
