// Shared by the models-out tests: CIFAR-10 test images as PNG bytes.
import sharp from 'sharp';
import { resolveDataset } from '../../server/shared/data/registry.js';
import { SHARED_DATASETS } from '../helpers/paths.js';

/** The first `n` CIFAR-10 test images as PNG files' bytes, scaled to `side` (nearest). */
export async function testPngs(n: number, side = 32): Promise<Buffer[]> {
  const handle = await resolveDataset('cifar10', { dataDir: SHARED_DATASETS, allowDownload: false });
  const set = await handle.load('test', { limit: n });
  const px = 32 * 32 * 3;
  return Promise.all(
    Array.from({ length: n }, (_, i) =>
      sharp(Buffer.from(set.images.subarray(i * px, (i + 1) * px)), {
        raw: { width: 32, height: 32, channels: 3 },
      })
        .resize(side, side, { kernel: 'nearest' })
        .png()
        .toBuffer(),
    ),
  );
}
