// A few real CIFAR-10 images straight from the binary batch file (1 label byte + 3072 bytes
// CHW per record), as float32 NHWC in [0, 1]: enough for learning checks without the data layer.
import fs from 'node:fs';
import path from 'node:path';
import { CIFAR_DIR } from '../helpers/paths.js';

export function readCifarSlice(count: number): { images: Float32Array; labels: Uint8Array } {
  const buf = fs.readFileSync(path.join(CIFAR_DIR, 'data_batch_1.bin'));
  const images = new Float32Array(count * 32 * 32 * 3);
  const labels = new Uint8Array(count);
  for (let i = 0; i < count; i++) {
    const rec = i * 3073;
    labels[i] = buf[rec]!;
    for (let c = 0; c < 3; c++) {
      for (let p = 0; p < 1024; p++) images[(i * 1024 + p) * 3 + c] = buf[rec + 1 + c * 1024 + p]! / 255;
    }
  }
  return { images, labels };
}
