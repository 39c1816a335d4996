// Imported datasets on disk: `<datasetsDir>/<name>/manifest.json` plus uint8 NHWC shards
// (`<split>-NNNNN.u8`) and one label byte per image (`<split>.labels`). Folders whose name starts
// with "." are imports in progress and never listed. A handle reads shards in order, a chunk at a
// time, straight into the ImageSet it returns.
import fs from 'node:fs';
import path from 'node:path';
import type { DatasetEntry } from '../contract/catalog.js';
import { DatasetCorruptError, DatasetUnavailableError } from './errors.js';
import type { DatasetHandle, LoadOptions, SplitStream } from './registry.js';
import type { ImageSet, Split } from './types.js';

export const MANIFEST_FILE = 'manifest.json';
export const MANIFEST_FORMAT = 'pretext-dataset/1';
/** Under the daemon's state dir: where imported datasets live. */
export const DATASETS_SUBDIR = 'datasets';

export interface ManifestShard {
  split: string;
  file: string;
  count: number;
  sha256: string;
}

export interface SkippedFile {
  path: string;
  reason: string;
  /** Whether it counts towards the failed share (hidden and stray entries do not). */
  counted?: boolean;
}

export interface DatasetManifest {
  format: typeof MANIFEST_FORMAT;
  name: string;
  side: number;
  classNames: string[];
  /** Images per class of train and test; unlabeled is a count. */
  counts: { train: number[]; test: number[]; unlabeled: number };
  /** SHA-256 over "sha256  file" lines of every shard and label file. */
  checksum: string;
  testSplit: { carved: true; seed: number; share: number } | { carved: false };
  /** Source paths relative to the imported folder, in the order of each split's images. */
  sources: { train: string[]; test: string[]; unlabeled: string[] };
  skipped: SkippedFile[];
  shards: ManifestShard[];
  createdAt: string;
}

export function shardFileName(split: string, index: number): string {
  return `${split}-${String(index).padStart(5, '0')}.u8`;
}

export function datasetsDirOf(stateDir: string): string {
  return path.join(stateDir, DATASETS_SUBDIR);
}

export function readManifest(dir: string): DatasetManifest {
  const file = path.join(dir, MANIFEST_FILE);
  let m: DatasetManifest;
  try {
    m = JSON.parse(fs.readFileSync(file, 'utf8')) as DatasetManifest;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT')
      throw new DatasetUnavailableError(`${dir}: no imported dataset there (${MANIFEST_FILE} missing)`);
    throw new DatasetCorruptError(`${file}: unreadable manifest (${(err as Error).message})`, file);
  }
  if (m.format !== MANIFEST_FORMAT)
    throw new DatasetCorruptError(`${file}: unknown format ${m.format}`, file);
  return m;
}

/** Manifests of every imported dataset under `datasetsDir` (unreadable ones are left out). */
export function listImported(datasetsDir: string): DatasetManifest[] {
  let entries: string[];
  try {
    entries = fs.readdirSync(datasetsDir);
  } catch {
    return [];
  }
  const out: DatasetManifest[] = [];
  for (const e of entries.sort()) {
    if (e.startsWith('.')) continue;
    try {
      out.push(readManifest(path.join(datasetsDir, e)));
    } catch {
      // a folder that is not a dataset: not listed
    }
  }
  return out;
}

/** The catalog's entry for an imported dataset. */
export function catalogEntryOf(m: DatasetManifest): DatasetEntry {
  return {
    name: m.name,
    train: sum(m.counts.train),
    numClasses: m.classNames.length,
    side: m.side,
    imported: {
      classNames: [...m.classNames],
      trainPerClass: [...m.counts.train],
      test: sum(m.counts.test),
      unlabeled: m.counts.unlabeled,
    },
  };
}

function sum(a: number[]): number {
  return a.reduce((x, y) => x + y, 0);
}

/** Images read per chunk: bounded scratch memory whatever the shard size. */
const CHUNK_IMAGES = 1024;

/** A handle on an imported dataset; checks every shard's size against the manifest. */
export function openImported(dir: string): DatasetHandle {
  const m = readManifest(dir);
  const pixels = m.side * m.side * 3;
  const shardsOf = (split: string) => m.shards.filter((s) => s.split === split && s.file.endsWith('.u8'));
  for (const s of m.shards) {
    const file = path.join(dir, s.file);
    const expected = s.file.endsWith('.u8') ? s.count * pixels : s.count;
    let size: number;
    try {
      size = fs.statSync(file).size;
    } catch {
      throw new DatasetCorruptError(`${file}: missing (re-import the dataset)`, file);
    }
    if (size !== expected)
      throw new DatasetCorruptError(`${file}: ${size} bytes, the manifest says ${expected}`, file);
  }
  // unlabeled = the unlabeled images, then the training images with their labels hidden.
  const sources = (split: Split) => (split === 'unlabeled' ? ['unlabeled', 'train'] : [split]);
  const count = (split: Split) =>
    sources(split).reduce((n, s) => n + shardsOf(s).reduce((k, sh) => k + sh.count, 0), 0);
  const load = async (split: Split, o?: LoadOptions): Promise<ImageSet> => {
    const total = count(split);
    const offset = Math.min(o?.offset ?? 0, total);
    const n = o?.limit ? Math.min(o.limit, total - offset) : total - offset;
    const images = new Uint8Array(n * pixels);
    const labels = new Uint8Array(n).fill(255);
    let pos = 0; // index in the split of the first image of the current shard
    let filled = 0;
    for (const s of sources(split)) {
      const labelFile = split === 'unlabeled' ? undefined : path.join(dir, `${s}.labels`);
      const allLabels = labelFile ? fs.readFileSync(labelFile) : undefined;
      let inSplit = 0;
      for (const sh of shardsOf(s)) {
        const from = Math.max(offset, pos) - pos;
        const to = Math.min(offset + n, pos + sh.count) - pos;
        if (to > from) {
          const fd = fs.openSync(path.join(dir, sh.file), 'r');
          try {
            for (let i = from; i < to; i += CHUNK_IMAGES) {
              const k = Math.min(CHUNK_IMAGES, to - i);
              const dst = images.subarray(filled * pixels, (filled + k) * pixels);
              const got = fs.readSync(fd, dst, 0, k * pixels, i * pixels);
              if (got !== k * pixels) throw new DatasetCorruptError(`${sh.file}: short read`, sh.file);
              if (allLabels) labels.set(allLabels.subarray(inSplit + i, inSplit + i + k), filled);
              filled += k;
            }
          } finally {
            fs.closeSync(fd);
          }
        }
        pos += sh.count;
        inSplit += sh.count;
      }
    }
    return {
      dataset: m.name,
      split,
      count: n,
      height: m.side,
      width: m.side,
      channels: 3,
      images,
      labels,
      numClasses: m.classNames.length,
      classNames: [...m.classNames],
    };
  };
  const stream = (split: Split, o?: LoadOptions): SplitStream => {
    // Where each image of the split lies: shard file and index in it (a Uint32 pair per image).
    const total = count(split);
    const offset = Math.min(o?.offset ?? 0, total);
    const n = o?.limit ? Math.min(o.limit, total - offset) : total - offset;
    const files: string[] = [];
    const shardOf = new Uint16Array(n);
    const indexIn = new Uint32Array(n);
    const labels = new Uint8Array(n).fill(255);
    let pos = 0;
    for (const s of sources(split)) {
      const allLabels = split === 'unlabeled' ? undefined : fs.readFileSync(path.join(dir, `${s}.labels`));
      let inSplit = 0;
      for (const sh of shardsOf(s)) {
        const f = files.push(path.join(dir, sh.file)) - 1;
        for (let i = 0; i < sh.count; i++, pos++) {
          const k = pos - offset;
          if (k < 0 || k >= n) continue;
          shardOf[k] = f;
          indexIn[k] = i;
          if (allLabels) labels[k] = allLabels[inSplit + i]!;
        }
        inSplit += sh.count;
      }
    }
    const fds = files.map((f) => fs.openSync(f, 'r'));
    return {
      dataset: m.name,
      count: n,
      height: m.side,
      width: m.side,
      labels,
      gather: (indices) => {
        const images = new Uint8Array(indices.length * pixels);
        const out = new Uint8Array(indices.length);
        for (let j = 0; j < indices.length; j++) {
          const k = indices[j]!;
          if (!(k >= 0 && k < n)) throw new RangeError(`image ${k} outside 0..${n - 1}`);
          const got = fs.readSync(fds[shardOf[k]!]!, images, j * pixels, pixels, indexIn[k]! * pixels);
          if (got !== pixels)
            throw new DatasetCorruptError(`${files[shardOf[k]!]}: short read`, files[shardOf[k]!]);
          out[j] = labels[k]!;
        }
        return {
          dataset: m.name,
          split,
          count: indices.length,
          height: m.side,
          width: m.side,
          channels: 3,
          images,
          labels: out,
          numClasses: m.classNames.length,
          classNames: [...m.classNames],
        };
      },
      close: () => {
        for (const fd of fds) fs.closeSync(fd);
        fds.length = 0;
      },
    };
  };
  return {
    name: m.name,
    dir,
    checksum: m.checksum,
    stream,
    numClasses: m.classNames.length,
    classNames: [...m.classNames],
    height: m.side,
    width: m.side,
    load,
    count,
    hasSplit: (split) => count(split) > 0,
    folds: () => {
      throw new DatasetUnavailableError(
        `${m.name} is imported and has no official folds (use stratified_fold)`,
      );
    },
  };
}
