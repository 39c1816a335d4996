// A run's split as a source of batches: streamed from an imported dataset's shards (only the
// labels and the current batch in memory), or an ImageSet already in memory. Batches come out
// identical either way, so a run's numbers do not depend on where its images live.
import type { DatasetHandle, LoadOptions, SplitStream } from '../../shared/data/registry.js';
import type { ImageSet, Split } from '../../shared/data/types.js';

/** An ImageSet held in memory, as a stream. */
export function memoryStream(set: ImageSet): SplitStream {
  const pix = set.height * set.width * 3;
  return {
    dataset: set.dataset,
    count: set.count,
    height: set.height,
    width: set.width,
    labels: set.labels,
    gather: (indices) => {
      const images = new Uint8Array(indices.length * pix);
      const labels = new Uint8Array(indices.length);
      for (let j = 0; j < indices.length; j++) {
        const k = indices[j]!;
        images.set(set.images.subarray(k * pix, (k + 1) * pix), j * pix);
        labels[j] = set.labels[k]!;
      }
      return { ...set, count: indices.length, images, labels };
    },
    close: () => {},
  };
}

/** The split streamed from disk where the dataset can, else loaded whole. */
export async function openSplit(
  handle: DatasetHandle,
  split: Split,
  opts?: LoadOptions,
): Promise<SplitStream> {
  return handle.stream ? handle.stream(split, opts) : memoryStream(await handle.load(split, opts));
}

/** Images gathered at a time for a pass over the split (bounded memory). */
const PASS_CHUNK = 1024;

/** meanImage (batches.ts) over `indices` of a stream, read a chunk at a time: the same sums. */
export function streamedMeanImage(src: SplitStream, indices: Int32Array): Float32Array {
  const pix = src.height * src.width * 3;
  const sum = new Float64Array(pix);
  for (let s = 0; s < indices.length; s += PASS_CHUNK) {
    const chunk = src.gather(indices.subarray(s, s + PASS_CHUNK));
    const img = chunk.images;
    for (let k = 0; k < chunk.count; k++) {
      const base = k * pix;
      for (let p = 0; p < pix; p++) sum[p]! += img[base + p]!;
    }
  }
  const mean = new Float32Array(pix);
  if (indices.length > 0) for (let p = 0; p < pix; p++) mean[p] = sum[p]! / indices.length / 255;
  return mean;
}

/** 0..n-1, for a gathered batch whose image k is the k-th index asked for. */
export function identityIndices(n: number): Int32Array {
  return Int32Array.from({ length: n }, (_, i) => i);
}
