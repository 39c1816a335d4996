// CIFAR-10 binary reader: records of 1 label byte + 3,072 bytes (R, G, B planes of 32×32,
// row-major) become NHWC uint8 images and uint8 labels.
import fs from 'node:fs';
import path from 'node:path';
import { DatasetCorruptError } from './errors.js';
import { exists, readExact, readLines, recordCount, requireFile } from './files.js';
import type { ImageSet, Split } from './types.js';

export const CIFAR10_CLASSES = [
  'airplane',
  'automobile',
  'bird',
  'cat',
  'deer',
  'dog',
  'frog',
  'horse',
  'ship',
  'truck',
];
export const CIFAR10_TRAIN_FILES = [1, 2, 3, 4, 5].map((i) => `data_batch_${i}.bin`);
export const CIFAR10_TEST_FILES = ['test_batch.bin'];
const SIDE = 32;
const PLANE = SIDE * SIDE;
export const CIFAR10_RECORD = 1 + 3 * PLANE;
/** Records read per chunk: bounded memory whatever the file size. */
const CHUNK_RECORDS = 2_000;

/** Class names from batches.meta.txt (one a line), or the known list when the file is absent. */
export function cifar10ClassNames(dir: string): string[] {
  const file = path.join(dir, 'batches.meta.txt');
  if (!exists(file)) return [...CIFAR10_CLASSES];
  const names = readLines(file);
  if (names.length !== 10) {
    throw new DatasetCorruptError(`${file}: expected 10 class names, found ${names.length}`, file);
  }
  return names;
}

export function cifar10Files(split: Split): string[] {
  return split === 'test' ? CIFAR10_TEST_FILES : CIFAR10_TRAIN_FILES;
}

/**
 * Reads a split. `unlabeled` is the training split with its labels hidden (255): CIFAR-10 has
 * no separate unlabeled images, and pretext runs must not see labels.
 */
export function readCifar10(dir: string, split: Split, limit?: number, classNames?: string[]): ImageSet {
  const files = cifar10Files(split).map((f) => path.join(dir, f));
  for (const f of files) requireFile(f, 'CIFAR-10');
  const counts = files.map((f) => recordCount(f, CIFAR10_RECORD));
  const total = counts.reduce((a, b) => a + b, 0);
  const count = limit !== undefined && limit > 0 ? Math.min(limit, total) : total;
  const images = new Uint8Array(count * PLANE * 3);
  const labels = new Uint8Array(count);
  const chunk = new Uint8Array(CHUNK_RECORDS * CIFAR10_RECORD);
  let n = 0;
  for (let fi = 0; fi < files.length && n < count; fi++) {
    const file = files[fi]!;
    const inFile = Math.min(counts[fi]!, count - n);
    const fd = fs.openSync(file, 'r');
    try {
      for (let r0 = 0; r0 < inFile; r0 += CHUNK_RECORDS) {
        const k = Math.min(CHUNK_RECORDS, inFile - r0);
        readExact(fd, chunk, k * CIFAR10_RECORD, r0 * CIFAR10_RECORD, file);
        for (let r = 0; r < k; r++) {
          const src = r * CIFAR10_RECORD;
          const label = chunk[src]!;
          if (label > 9) {
            throw new DatasetCorruptError(`${file}: record ${r0 + r} has label ${label}, expected 0-9`, file);
          }
          labels[n] = split === 'unlabeled' ? 255 : label;
          const dst = n * PLANE * 3;
          const rOff = src + 1;
          const gOff = rOff + PLANE;
          const bOff = gOff + PLANE;
          for (let p = 0, o = dst; p < PLANE; p++, o += 3) {
            images[o] = chunk[rOff + p]!;
            images[o + 1] = chunk[gOff + p]!;
            images[o + 2] = chunk[bOff + p]!;
          }
          n++;
        }
      }
    } finally {
      fs.closeSync(fd);
    }
  }
  const names = classNames ?? cifar10ClassNames(dir);
  return {
    dataset: 'cifar10',
    split,
    count,
    height: SIDE,
    width: SIDE,
    channels: 3,
    images,
    labels,
    numClasses: names.length,
    classNames: names,
  };
}
