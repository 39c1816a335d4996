// Real CIFAR-10 training images for the benchmark, read straight from the official binary batch
// (records of 1 label byte + 3072 bytes CHW), normalised like the reference (÷255, minus the
// per-pixel mean of the loaded images). Independent of the data layer on purpose.
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const RECORD = 3073;

export function cifarBatchFile(): string {
  const dir =
    process.env.PRETEXT_DATA_DIR ??
    path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../shared/datasets');
  const candidates = [
    path.join(dir, 'cifar-10-batches-bin', 'data_batch_1.bin'),
    path.join(dir, 'cifar10', 'cifar-10-batches-bin', 'data_batch_1.bin'),
  ];
  const found = candidates.find((p) => fs.existsSync(p));
  if (!found) throw new Error(`CIFAR-10 data_batch_1.bin not found (looked in ${candidates.join(', ')})`);
  return found;
}

/** `count` images as float32 NHWC and their labels. */
export function readCifarImages(count: number): { images: Float32Array; labels: Int32Array } {
  const buf = fs.readFileSync(cifarBatchFile());
  const n = Math.min(count, Math.floor(buf.length / RECORD));
  const images = new Float32Array(n * 3072);
  const labels = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    const rec = i * RECORD;
    labels[i] = buf[rec]!;
    for (let c = 0; c < 3; c++) {
      for (let p = 0; p < 1024; p++) images[i * 3072 + p * 3 + c] = buf[rec + 1 + c * 1024 + p]! / 255;
    }
  }
  const mean = new Float32Array(3072);
  for (let i = 0; i < n; i++) for (let j = 0; j < 3072; j++) mean[j]! += images[i * 3072 + j]! / n;
  for (let i = 0; i < n; i++) for (let j = 0; j < 3072; j++) images[i * 3072 + j]! -= mean[j]!;
  return { images, labels };
}
