// Folder → imported dataset. Decodes every image once (sharp: PNG, JPEG, WebP), resizes it
// (shorter side to `side`, then a centre crop), and writes uint8 NHWC shards, label files and a
// manifest into a hidden temp folder that becomes `<datasetsDir>/<name>` by one rename: a
// dataset is either complete or invisible. Pure of the daemon: it takes paths and reports
// progress through a callback.
import { createHash, randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import sharp from 'sharp';
import {
  carvedTestCount,
  classNameProblem,
  IMPORT,
  IMPORT_LAYOUT,
  isImageName,
} from '../contract/datasets.js';
import { Rng } from './rng.js';
import {
  type DatasetManifest,
  MANIFEST_FILE,
  MANIFEST_FORMAT,
  type ManifestShard,
  type SkippedFile,
  shardFileName,
} from './imported.js';

export type ImportErrorKind = 'invalid' | 'permission' | 'exists' | 'space' | 'not_found';

/** An import that is refused; `kind` says which gRPC code the daemon answers. */
export class ImportError extends Error {
  constructor(
    readonly kind: ImportErrorKind,
    message: string,
  ) {
    super(message);
    this.name = 'ImportError';
  }
}

export interface ImportProgress {
  phase: 'scanning' | 'decoding' | 'writing';
  done: number;
  total: number;
}

export interface ImportOptions {
  /** The folder to import (already checked to lie under an allowed root). */
  source: string;
  /** Where datasets live: the result is `<datasetsDir>/<name>`. */
  datasetsDir: string;
  name: string;
  side?: number;
  /** Seed of the carved test split (0 or absent: IMPORT.defaultSeed). */
  seed?: number;
  testShare?: number;
  maxFailedShare?: number;
  onProgress?: (p: ImportProgress) => void;
  signal?: AbortSignal;
}

interface SourceFile {
  /** Path relative to the source folder, with "/" separators. */
  rel: string;
  label: number;
}

/** Files decoded at once: enough to keep libvips' threads busy, few enough to bound memory. */
const DECODE_BATCH = 32;

/** Imports a folder; returns the manifest of the dataset now visible under `datasetsDir`. */
export async function importFolder(opts: ImportOptions): Promise<DatasetManifest> {
  const side = opts.side || IMPORT.side.default;
  const seed = opts.seed || IMPORT.defaultSeed;
  const testShare = opts.testShare || IMPORT.testShare.default;
  const maxFailedShare = opts.maxFailedShare ?? IMPORT.maxFailedShare.default;
  const root = await realDir(opts.source);
  const final = path.join(opts.datasetsDir, opts.name);
  if (fs.existsSync(final)) throw new ImportError('exists', `a dataset named "${opts.name}" already exists`);

  opts.onProgress?.({ phase: 'scanning', done: 0, total: 0 });
  const skipped: SkippedFile[] = [];
  const layout = await scan(root, skipped);
  const { classNames } = layout;
  const carved = layout.test === undefined;
  const { train, test } = carved
    ? carveTest(layout.labeled, classNames.length, testShare, seed)
    : { train: layout.labeled, test: layout.test! };
  const total = train.length + test.length + layout.unlabeled.length;
  const tried = total + skipped.filter((s) => s.counted).length;

  fs.mkdirSync(opts.datasetsDir, { recursive: true });
  const tmp = path.join(opts.datasetsDir, `.import-${opts.name}-${randomBytes(6).toString('hex')}`);
  fs.mkdirSync(tmp);
  try {
    let done = 0;
    const progress = () => opts.onProgress?.({ phase: 'decoding', done, total });
    const splits = { train: { files: train }, test: { files: test }, unlabeled: { files: layout.unlabeled } };
    const written: Record<string, { shards: ManifestShard[]; kept: SourceFile[] }> = {};
    for (const [split, { files }] of Object.entries(splits)) {
      const writer = new ShardWriter(tmp, split, side);
      const kept: SourceFile[] = [];
      for (let i = 0; i < files.length; i += DECODE_BATCH) {
        if (opts.signal?.aborted) throw new ImportError('invalid', 'the import was cancelled');
        const batch = files.slice(i, i + DECODE_BATCH);
        const decoded = await Promise.all(batch.map((f) => decode(path.join(root, f.rel), side)));
        for (let j = 0; j < batch.length; j++) {
          const d = decoded[j]!;
          const f = batch[j]!;
          if (typeof d === 'string') skipped.push({ path: f.rel, reason: d, counted: true });
          else {
            writer.add(d, split === 'unlabeled' ? 255 : f.label);
            kept.push(f);
          }
        }
        done += batch.length;
        progress();
      }
      written[split] = { shards: writer.finish(), kept };
    }
    const failed = skipped.filter((s) => s.counted).length;
    if (tried > 0 && failed / tried > maxFailedShare) {
      throw new ImportError(
        'invalid',
        `${failed} of ${tried} files could not be imported (more than ${Math.round(maxFailedShare * 100)}%): ${skipSummary(skipped)}`,
      );
    }
    const counts = {
      train: perClass(written.train!.kept, classNames.length),
      test: perClass(written.test!.kept, classNames.length),
      unlabeled: written.unlabeled!.kept.length,
    };
    checkClasses(classNames, counts.train, counts.test);
    opts.onProgress?.({ phase: 'writing', done: total, total });
    const shards = [...written.train!.shards, ...written.test!.shards, ...written.unlabeled!.shards];
    const manifest: DatasetManifest = {
      format: MANIFEST_FORMAT,
      name: opts.name,
      side,
      classNames,
      counts,
      checksum: combine(shards),
      testSplit: carved ? { carved: true, seed, share: testShare } : { carved: false },
      sources: {
        train: written.train!.kept.map((f) => f.rel),
        test: written.test!.kept.map((f) => f.rel),
        unlabeled: written.unlabeled!.kept.map((f) => f.rel),
      },
      skipped: skipped.map(({ path: p, reason }) => ({ path: p, reason })),
      shards,
      createdAt: new Date().toISOString(),
    };
    const manifestFile = path.join(tmp, MANIFEST_FILE);
    fs.writeFileSync(manifestFile, `${JSON.stringify(manifest, null, 1)}\n`);
    fsyncPath(manifestFile);
    try {
      fs.renameSync(tmp, final);
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code === 'ENOTEMPTY' || code === 'EEXIST')
        throw new ImportError('exists', `a dataset named "${opts.name}" already exists`);
      throw err;
    }
    fsyncPath(opts.datasetsDir);
    return manifest;
  } catch (err) {
    fs.rmSync(tmp, { recursive: true, force: true });
    if ((err as NodeJS.ErrnoException).code === 'ENOSPC')
      throw new ImportError('space', `no space left on the device holding ${opts.datasetsDir}`);
    throw err;
  }
}

async function realDir(dir: string): Promise<string> {
  let st: fs.Stats;
  try {
    st = fs.statSync(dir);
  } catch {
    throw new ImportError('not_found', `${dir}: no such folder`);
  }
  if (!st.isDirectory()) throw new ImportError('invalid', `${dir} is not a folder`);
  return fs.realpathSync(dir);
}

interface Layout {
  classNames: string[];
  labeled: SourceFile[];
  test?: SourceFile[];
  unlabeled: SourceFile[];
}

async function scan(root: string, skipped: SkippedFile[]): Promise<Layout> {
  const present = IMPORT_LAYOUT.labeledDirs.filter((d) => isDir(root, path.join(root, d)));
  if (present.length > 1)
    throw new ImportError('invalid', `the folder has both ${present.join('/ and ')}/; keep one of them`);
  const labeledDir = present[0];
  if (!labeledDir)
    throw new ImportError(
      'invalid',
      `the folder needs ${IMPORT_LAYOUT.labeledDirs.map((d) => `${d}/<class>/`).join(' or ')} with one sub-folder of images per class`,
    );
  const classNames = classFolders(root, labeledDir, skipped);
  const labeled = classFiles(root, labeledDir, classNames, skipped);
  const hasTest = isDir(root, path.join(root, IMPORT_LAYOUT.testDir));
  let test: SourceFile[] | undefined;
  if (hasTest) {
    const testClasses = classFolders(root, IMPORT_LAYOUT.testDir, skipped);
    const extra = testClasses.filter((c) => !classNames.includes(c));
    if (extra.length)
      throw new ImportError(
        'invalid',
        `test/ has classes that ${labeledDir}/ lacks: ${extra.slice(0, 5).join(', ')}`,
      );
    test = classFiles(root, IMPORT_LAYOUT.testDir, classNames, skipped);
  }
  const unlabeled: SourceFile[] = [];
  if (isDir(root, path.join(root, IMPORT_LAYOUT.unlabeledDir))) {
    for (const rel of walk(root, IMPORT_LAYOUT.unlabeledDir, skipped)) unlabeled.push({ rel, label: 255 });
  }
  for (const entry of fs.readdirSync(root)) {
    const known = [
      ...IMPORT_LAYOUT.labeledDirs,
      IMPORT_LAYOUT.testDir,
      IMPORT_LAYOUT.unlabeledDir,
    ] as string[];
    if (!known.includes(entry) && !entry.startsWith('.'))
      skipped.push({ path: entry, reason: 'not in labeled/, train/, test/ or unlabeled/', counted: false });
  }
  return { classNames, labeled, test, unlabeled };
}

/** Whether `p` is a folder inside `root`; a symlink leading outside is refused. */
function isDir(root: string, p: string): boolean {
  let st: fs.Stats;
  try {
    st = fs.lstatSync(p);
  } catch {
    return false;
  }
  if (st.isSymbolicLink()) {
    inside(root, p);
    return fs.statSync(p).isDirectory();
  }
  return st.isDirectory();
}

/** Throws PERMISSION_DENIED when `p` resolves (through symlinks) outside `root`. */
function inside(root: string, p: string): void {
  let real: string;
  try {
    real = fs.realpathSync(p);
  } catch {
    return; // a dangling link is skipped as unreadable later
  }
  const rel = path.relative(root, real);
  if (rel === '' || (!rel.startsWith('..') && !path.isAbsolute(rel))) return;
  throw new ImportError(
    'permission',
    `${path.relative(root, p)} is a symlink to ${real}, outside the imported folder`,
  );
}

function classFolders(root: string, dir: string, skipped: SkippedFile[]): string[] {
  const names: string[] = [];
  for (const entry of fs.readdirSync(path.join(root, dir)).sort()) {
    const p = path.join(root, dir, entry);
    if (!isDir(root, p)) {
      if (!entry.startsWith('.'))
        skipped.push({ path: `${dir}/${entry}`, reason: 'not in a class folder', counted: true });
      continue;
    }
    const problem = classNameProblem(entry);
    if (problem) {
      if (!entry.startsWith('.')) skipped.push({ path: `${dir}/${entry}`, reason: problem, counted: false });
      continue;
    }
    names.push(entry);
  }
  return names;
}

function classFiles(root: string, dir: string, classNames: string[], skipped: SkippedFile[]): SourceFile[] {
  const out: SourceFile[] = [];
  classNames.forEach((c, label) => {
    if (!isDir(root, path.join(root, dir, c))) return;
    for (const rel of walk(root, `${dir}/${c}`, skipped)) out.push({ rel, label });
  });
  return out;
}

/** Files under `dir` (relative to root), any depth, sorted; non-images are listed as skipped. */
function walk(root: string, dir: string, skipped: SkippedFile[]): string[] {
  const out: string[] = [];
  for (const entry of fs.readdirSync(path.join(root, dir)).sort()) {
    if (entry.startsWith('.')) continue;
    const rel = `${dir}/${entry}`;
    const p = path.join(root, rel);
    const st = fs.lstatSync(p);
    if (st.isSymbolicLink()) inside(root, p);
    if (isDir(root, p)) out.push(...walk(root, rel, skipped));
    else if (!isImageName(entry))
      skipped.push({ path: rel, reason: `not a ${IMPORT.formats.join('/')} file`, counted: true });
    else out.push(rel);
  }
  return out;
}

/** Uint8 RGB pixels of side×side, or the reason the file cannot be used. */
async function decode(file: string, side: number): Promise<Uint8Array | string> {
  try {
    const st = fs.statSync(file);
    if (st.size === 0) return 'empty file (0 bytes)';
    let img = sharp(file, { failOn: 'error' }).autoOrient().removeAlpha().toColourspace('srgb');
    const meta = await sharp(file).metadata();
    const w = meta.autoOrient?.width ?? meta.width;
    const h = meta.autoOrient?.height ?? meta.height;
    if (w !== side || h !== side) img = img.resize(side, side, { fit: 'cover', position: 'centre' });
    const { data, info } = await img.raw().toBuffer({ resolveWithObject: true });
    if (info.width !== side || info.height !== side || info.channels !== 3)
      return `decoded to ${info.width}×${info.height}×${info.channels}, expected ${side}×${side}×3`;
    return new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
  } catch (err) {
    const msg = err instanceof Error ? err.message : String(err);
    return `cannot be decoded: ${msg.split('\n')[0]!.slice(0, 120)}`;
  }
}

/** Each class's files split into test (the first carvedTestCount of a seeded shuffle) and train. */
function carveTest(
  files: SourceFile[],
  numClasses: number,
  share: number,
  seed: number,
): { train: SourceFile[]; test: SourceFile[] } {
  const rng = new Rng(seed);
  const testSet = new Set<SourceFile>();
  for (let c = 0; c < numClasses; c++) {
    const members = files.filter((f) => f.label === c);
    const order = Int32Array.from(members.keys());
    rng.shuffle(order);
    const k = members.length >= IMPORT.minTrainPerClass + 1 ? carvedTestCount(members.length, share) : 0;
    for (let i = 0; i < k; i++) testSet.add(members[order[i]!]!);
  }
  return { train: files.filter((f) => !testSet.has(f)), test: files.filter((f) => testSet.has(f)) };
}

function perClass(files: SourceFile[], numClasses: number): number[] {
  const out = new Array<number>(numClasses).fill(0);
  for (const f of files) out[f.label]!++;
  return out;
}

function checkClasses(classNames: string[], train: number[], test: number[]): void {
  const { min, max } = IMPORT.classes;
  if (classNames.length < min)
    throw new ImportError(
      'invalid',
      `found ${classNames.length} class folder${classNames.length === 1 ? '' : 's'}${classNames.length ? ` (${classNames[0]})` : ''}; a labeled dataset needs at least ${min} classes`,
    );
  if (classNames.length > max)
    throw new ImportError('invalid', `${classNames.length} classes; at most ${max}`);
  classNames.forEach((c, i) => {
    if (train[i]! < IMPORT.minTrainPerClass)
      throw new ImportError(
        'invalid',
        `class "${c}" has ${train[i]} usable training images; every class needs at least ${IMPORT.minTrainPerClass}`,
      );
    if (test[i]! < 1)
      throw new ImportError(
        'invalid',
        `class "${c}" has no usable test image (a class needs at least ${IMPORT.minTrainPerClass + 1} images when a test split is carved)`,
      );
  });
}

function skipSummary(skipped: SkippedFile[]): string {
  return skipped
    .filter((s) => s.counted)
    .slice(0, 3)
    .map((s) => `${s.path} (${s.reason})`)
    .join('; ');
}

/** SHA-256 over "sha256  file" lines of every shard: the dataset's checksum. */
function combine(shards: ManifestShard[]): string {
  const h = createHash('sha256');
  for (const s of [...shards].sort((a, b) => (a.file < b.file ? -1 : 1)))
    h.update(`${s.sha256}  ${s.file}\n`);
  return h.digest('hex');
}

function fsyncPath(p: string): void {
  const fd = fs.openSync(p, 'r');
  try {
    fs.fsyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }
}

/** Appends images to `<split>-NNNNN.u8` shards of IMPORT.shardImages and labels to `<split>.labels`. */
class ShardWriter {
  private readonly pixels: number;
  private buf: Uint8Array;
  private n = 0;
  private readonly labels: number[] = [];
  private readonly shards: ManifestShard[] = [];

  constructor(
    private readonly dir: string,
    private readonly split: string,
    side: number,
  ) {
    this.pixels = side * side * 3;
    this.buf = new Uint8Array(IMPORT.shardImages * this.pixels);
  }

  add(pixels: Uint8Array, label: number): void {
    this.buf.set(pixels, this.n * this.pixels);
    this.labels.push(label);
    if (++this.n === IMPORT.shardImages) this.flush();
  }

  private flush(): void {
    if (this.n === 0) return;
    const file = shardFileName(this.split, this.shards.length);
    const data = this.buf.subarray(0, this.n * this.pixels);
    fs.writeFileSync(path.join(this.dir, file), data);
    this.shards.push({
      split: this.split,
      file,
      count: this.n,
      sha256: createHash('sha256').update(data).digest('hex'),
    });
    this.n = 0;
  }

  finish(): ManifestShard[] {
    this.flush();
    const labels = Uint8Array.from(this.labels);
    const file = `${this.split}.labels`;
    fs.writeFileSync(path.join(this.dir, file), labels);
    this.shards.push({
      split: this.split,
      file,
      count: labels.length,
      sha256: createHash('sha256').update(labels).digest('hex'),
    });
    this.buf = new Uint8Array(0);
    return this.shards;
  }
}
