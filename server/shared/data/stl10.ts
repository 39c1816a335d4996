// STL-10 binary reader. Each image is 3 planes (R, G, B) of 96×96 stored column-major:
// byte c*9216 + x*96 + y is pixel (row y, column x) of channel c. Labels 1–10 become 0–9.
// Files may hold any whole number of records (the official files, or a sample); optional files
// (train_*, fold_indices.txt, ...) are checked only when a split needs them. Large files are read
// in chunks straight into the uint8 NHWC output: never whole, never as floats.
import fs from 'node:fs';
import path from 'node:path';
import { DatasetCorruptError, DatasetUnavailableError } from './errors.js';
import { exists, readExact, readLines, recordCount, requireFile } from './files.js';
import type { ImageSet, Split } from './types.js';

export const STL10_CLASSES = [
  'airplane',
  'bird',
  'car',
  'cat',
  'deer',
  'dog',
  'horse',
  'monkey',
  'ship',
  'truck',
];
export const STL10_SIDE = 96;
const PLANE = STL10_SIDE * STL10_SIDE;
export const STL10_RECORD = 3 * PLANE;
const CHUNK_RECORDS = 256;

export function stl10Files(split: Split): { x: string; y?: string } {
  return split === 'unlabeled' ? { x: 'unlabeled_X.bin' } : { x: `${split}_X.bin`, y: `${split}_y.bin` };
}

export function stl10ClassNames(dir: string): string[] {
  const file = path.join(dir, 'class_names.txt');
  if (!exists(file)) return [...STL10_CLASSES];
  const names = readLines(file);
  if (names.length !== 10) {
    throw new DatasetCorruptError(`${file}: expected 10 class names, found ${names.length}`, file);
  }
  return names;
}

/** Number of images in an X file (throws if not a whole number of 27,648-byte records). */
export function stl10Count(file: string): number {
  return recordCount(file, STL10_RECORD);
}

/** Reads a label file (bytes 1–10) as 0-based labels. */
export function readStl10Labels(file: string): Uint8Array {
  requireFile(file, 'STL-10');
  const raw = fs.readFileSync(file);
  const labels = new Uint8Array(raw.length);
  for (let i = 0; i < raw.length; i++) {
    const v = raw[i]!;
    if (v < 1 || v > 10)
      throw new DatasetCorruptError(`${file}: label ${v} at index ${i}, expected 1-10`, file);
    labels[i] = v - 1;
  }
  return labels;
}

/**
 * Converts `count` column-major records starting at record `start` of an X file into NHWC
 * uint8 images written to `out` at image `outIndex`.
 */
export function readStl10Images(
  file: string,
  start: number,
  count: number,
  out: Uint8Array,
  outIndex = 0,
): void {
  const chunk = new Uint8Array(Math.min(CHUNK_RECORDS, Math.max(1, count)) * STL10_RECORD);
  const fd = fs.openSync(file, 'r');
  try {
    for (let r0 = 0; r0 < count; r0 += CHUNK_RECORDS) {
      const k = Math.min(CHUNK_RECORDS, count - r0);
      readExact(fd, chunk, k * STL10_RECORD, (start + r0) * STL10_RECORD, file);
      for (let r = 0; r < k; r++) {
        const src = r * STL10_RECORD;
        const dst = (outIndex + r0 + r) * STL10_RECORD;
        // Walk the source sequentially (column by column) and scatter into rows.
        for (let c = 0; c < 3; c++) {
          const plane = src + c * PLANE;
          for (let x = 0; x < STL10_SIDE; x++) {
            const col = plane + x * STL10_SIDE;
            let o = dst + x * 3 + c;
            for (let y = 0; y < STL10_SIDE; y++, o += STL10_SIDE * 3) out[o] = chunk[col + y]!;
          }
        }
      }
    }
  } finally {
    fs.closeSync(fd);
  }
}

export interface Stl10LoadOptions {
  limit?: number;
  /** First record to read (for reading the unlabeled split in pieces). */
  offset?: number;
  classNames?: string[];
}

export function readStl10(dir: string, split: Split, opts: Stl10LoadOptions = {}): ImageSet {
  const names = stl10Files(split);
  const xFile = path.join(dir, names.x);
  requireFile(xFile, `STL-10 ${split} images`);
  const total = stl10Count(xFile);
  const offset = opts.offset ?? 0;
  if (offset < 0 || offset > total) throw new RangeError(`offset ${offset} outside 0..${total} for ${xFile}`);
  const avail = total - offset;
  const count = opts.limit !== undefined && opts.limit > 0 ? Math.min(opts.limit, avail) : avail;
  let labels: Uint8Array;
  if (names.y) {
    const yFile = path.join(dir, names.y);
    const all = readStl10Labels(yFile);
    if (all.length !== total) {
      throw new DatasetCorruptError(
        `${yFile}: ${all.length} labels but ${xFile} holds ${total} images (expected ${total} bytes)`,
        yFile,
      );
    }
    labels = all.slice(offset, offset + count);
  } else {
    labels = new Uint8Array(count).fill(255);
  }
  const images = new Uint8Array(count * STL10_RECORD);
  readStl10Images(xFile, offset, count, images);
  const classNames = opts.classNames ?? stl10ClassNames(dir);
  return {
    dataset: 'stl10',
    split,
    count,
    height: STL10_SIDE,
    width: STL10_SIDE,
    channels: 3,
    images,
    labels,
    numClasses: classNames.length,
    classNames,
  };
}

/**
 * The official label folds: fold_indices.txt, 10 lines of (1,000) zero-based indices into the
 * train split, each returned sorted. `trainCount` bounds the indices when known.
 */
export function readStl10Folds(dir: string, trainCount?: number): Int32Array[] {
  const file = path.join(dir, 'fold_indices.txt');
  if (!exists(file)) {
    throw new DatasetUnavailableError(
      `STL-10 folds: missing file ${file} (it comes with the official stl10_binary.tar.gz; put it in ${dir})`,
    );
  }
  const lines = readLines(file);
  if (lines.length !== 10)
    throw new DatasetCorruptError(`${file}: expected 10 lines of folds, found ${lines.length}`, file);
  return lines.map((line, li) => {
    const parts = line.split(/[\s,]+/);
    const fold = new Int32Array(parts.length);
    parts.forEach((p, i) => {
      const v = Number(p);
      if (!Number.isInteger(v) || v < 0 || (trainCount !== undefined && v >= trainCount)) {
        throw new DatasetCorruptError(
          `${file}: line ${li + 1} has index "${p}" outside the train split`,
          file,
        );
      }
      fold[i] = v;
    });
    return fold.sort();
  });
}
