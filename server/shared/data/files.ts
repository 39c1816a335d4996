// Small file helpers shared by the readers: existence, sizes that must be whole records, and
// positional reads, so that large files are read in bounded chunks.
import fs from 'node:fs';
import path from 'node:path';
import { DatasetCorruptError, DatasetUnavailableError } from './errors.js';

export function exists(file: string): boolean {
  try {
    fs.accessSync(file, fs.constants.R_OK);
    return true;
  } catch {
    return false;
  }
}

export function requireFile(file: string, what: string): void {
  if (!exists(file)) {
    throw new DatasetUnavailableError(`${what}: missing file ${file} (put it in ${path.dirname(file)})`);
  }
}

/** Number of records in a file; throws naming the file when its size is not a whole number of them. */
export function recordCount(file: string, recordBytes: number): number {
  const size = fs.statSync(file).size;
  if (size % recordBytes !== 0 || size === 0) {
    const whole = Math.floor(size / recordBytes);
    throw new DatasetCorruptError(
      `${file}: ${size} bytes is not a whole number of ${recordBytes}-byte records ` +
        `(expected ${Math.max(1, whole) * recordBytes} or ${(whole + 1) * recordBytes} bytes; truncated or corrupt?)`,
      file,
    );
  }
  return size / recordBytes;
}

export function checkSize(file: string, expected: number): void {
  const size = fs.statSync(file).size;
  if (size !== expected) {
    throw new DatasetCorruptError(
      `${file}: expected ${expected} bytes, found ${size} bytes (truncated or corrupt; delete it to re-fetch)`,
      file,
    );
  }
}

/** Reads exactly `length` bytes at `position` into `into` (from offset 0). */
export function readExact(
  fd: number,
  into: Uint8Array,
  length: number,
  position: number,
  file: string,
): void {
  let done = 0;
  while (done < length) {
    const n = fs.readSync(fd, into, done, length - done, position + done);
    if (n === 0) {
      throw new DatasetCorruptError(`${file}: unexpected end of file at byte ${position + done}`, file);
    }
    done += n;
  }
}

/** Non-empty trimmed lines of a text file. */
export function readLines(file: string): string[] {
  return fs
    .readFileSync(file, 'utf8')
    .split(/\r?\n/)
    .map((l) => l.trim())
    .filter((l) => l.length > 0);
}
