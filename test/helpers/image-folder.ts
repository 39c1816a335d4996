// Writes real CIFAR-10 test images into a folder dataset (labeled/<class>/NNNNN.png|jpg), for
// the importer's and the end-to-end tests.
import fs from 'node:fs';
import path from 'node:path';
import sharp from 'sharp';
import { resolveDataset } from '../../server/shared/data/registry.js';
import { SHARED_DATASETS } from './paths.js';

export interface FolderOptions {
  /** How many of the first CIFAR-10 test images to write. */
  count: number;
  /** Every `jpegEvery`-th image is a JPEG (0: all PNG, lossless). */
  jpegEvery?: number;
  /** Class folder names (defaults to CIFAR-10's). */
  classNames?: string[];
  /** Top folder for labeled images ("labeled" or "train"). */
  labeledDir?: string;
}

/** Writes the images; returns, per written file, its path relative to `root` and its CIFAR-10 test index. */
export async function writeCifarFolder(root: string, o: FolderOptions): Promise<Map<string, number>> {
  const handle = await resolveDataset('cifar10', { dataDir: SHARED_DATASETS, allowDownload: false });
  const set = await handle.load('test', { limit: o.count });
  const names = o.classNames ?? set.classNames;
  const px = 32 * 32 * 3;
  const written = new Map<string, number>();
  for (let i = 0; i < o.count; i++) {
    const jpeg = o.jpegEvery ? i % o.jpegEvery === o.jpegEvery - 1 : false;
    const rel = `${o.labeledDir ?? 'labeled'}/${names[set.labels[i]!]!}/${String(i).padStart(5, '0')}.${jpeg ? 'jpg' : 'png'}`;
    const img = sharp(Buffer.from(set.images.subarray(i * px, (i + 1) * px)), {
      raw: { width: 32, height: 32, channels: 3 },
    });
    fs.mkdirSync(path.dirname(path.join(root, rel)), { recursive: true });
    await (jpeg ? img.jpeg({ quality: 95 }) : img.png()).toFile(path.join(root, rel));
    written.set(rel, i);
  }
  return written;
}
