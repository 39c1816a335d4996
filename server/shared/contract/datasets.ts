// Imported (folder) datasets: the rules an import must meet, written once. The daemon checks a
// request against them, the importer applies them, the catalog turns a finished import into a
// dataset entry, and clients show them in help texts.
import { quote } from './verdict.js';

/** A folder dataset's layout, as people write it. */
export const IMPORT_LAYOUT = {
  /** Labeled training images: `labeled/<class>/…` or `train/<class>/…` (one of the two). */
  labeledDirs: ['labeled', 'train'],
  /** Optional labeled test images: `test/<class>/…`; without it a test split is carved. */
  testDir: 'test',
  /** Unlabeled images, any depth: `unlabeled/**`. */
  unlabeledDir: 'unlabeled',
} as const;

export const IMPORT = {
  /** File extensions tried (lower-cased); anything else is skipped as "not an image". */
  formats: ['.png', '.jpg', '.jpeg', '.webp'],
  /** Image side after import (shorter side resized to it, then a centre crop). */
  side: { min: 8, max: 256, default: 32 },
  /** Share of the files tried that may fail to decode before the import is refused. */
  maxFailedShare: { min: 0, max: 1, default: 0.1 },
  /** Share of each class carved into the test split when the folder has no `test/`. */
  testShare: { min: 0.01, max: 0.5, default: 0.2 },
  /** Classes: at least two (a classifier of one class learns nothing); labels are uint8, 255 = unlabeled. */
  classes: { min: 2, max: 254 },
  /** Every class needs this many training images (one to train and one to select on) and one test image. */
  minTrainPerClass: 2,
  /** Seed of the carved test split when the request leaves it 0. */
  defaultSeed: 1,
  /** Images per shard file: a run reads a shard at a time. */
  shardImages: 4096,
  /** Longest class folder name kept (bytes of UTF-8). */
  classNameMax: 100,
} as const;

/** The side a backbone is usually trained at (a request may choose any side in IMPORT.side). */
export const DEFAULT_SIDE_BY_ARCHITECTURE: Readonly<Record<string, number>> = {
  resnet: 32,
  small_conv: 96,
  resnet18: 96,
};

/** The import side for `architecture` (a catalog backbone family: "resnet", "small_conv", "resnet18"). */
export function defaultSideFor(architecture: string): number | undefined {
  return Object.hasOwn(DEFAULT_SIDE_BY_ARCHITECTURE, architecture)
    ? DEFAULT_SIDE_BY_ARCHITECTURE[architecture]
    : undefined;
}

/** Dataset names: lower-case letters, digits, `-` and `_`, starting with a letter or digit. */
const NAME = /^[a-z0-9][a-z0-9_-]{0,63}$/;

/** Why `name` cannot name an imported dataset, or undefined when it can. */
export function datasetNameProblem(name: string, builtIn: readonly string[]): string | undefined {
  if (!NAME.test(name))
    return `${quote(name)} is not a dataset name: use 1-64 lower-case letters, digits, "-" or "_", starting with a letter or digit`;
  if (builtIn.includes(name)) return `${quote(name)} is a built-in dataset; choose another name`;
  return undefined;
}

/** Whether a file name is tried as an image (by extension; the decoder has the last word). */
export function isImageName(file: string): boolean {
  const dot = file.lastIndexOf('.');
  return dot >= 0 && (IMPORT.formats as readonly string[]).includes(file.slice(dot).toLowerCase());
}

/** Why a class folder name is refused, or undefined (any Unicode, spaces included, is fine). */
export function classNameProblem(name: string): string | undefined {
  if (name.startsWith('.')) return 'hidden folders are not classes';
  if (Buffer.byteLength(name, 'utf8') > IMPORT.classNameMax)
    return `class name longer than ${IMPORT.classNameMax} bytes`;
  return undefined;
}

/** Test images carved from a class of `n` images: the share, at least one, leaving `minTrainPerClass`. */
export function carvedTestCount(n: number, share: number): number {
  return Math.min(Math.max(1, Math.round(n * share)), n - IMPORT.minTrainPerClass);
}

/** Uploads: the chunk size clients send, and the daemon's default cap (--max-upload-bytes). */
export const UPLOAD = {
  chunkBytes: 1024 * 1024,
  defaultMaxBytes: 8 * 1024 ** 3,
  /** A partial upload nobody has resumed for this long is deleted (checked at start and hourly). */
  abandonedAfterDays: 7,
} as const;
