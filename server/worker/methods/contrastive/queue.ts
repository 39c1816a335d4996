// NNCLR's support set: a FIFO queue of the most recent L2-normalised embeddings. It is the only
// training state of a contrastive method outside the network, so it travels with checkpoints
// (as a flat float32 array, oldest row first) and is restored on resume.
import * as tf from '@tensorflow/tfjs';
import { l2Normalize } from './losses.js';

/**
 * A tensor on the same data that the gradient tape does not link to `t` (made outside any
 * kernel, so nothing records it): a stop-gradient without copying or reading the data.
 */
function detach<T extends tf.Tensor>(t: T): T {
  const engine = tf.engine();
  // Each tensor on a buffer holds a reference (as Identity's output does).
  (engine.backend as unknown as { incRef(dataId: object): void }).incRef(t.dataId);
  return engine.makeTensorFromDataId(t.dataId, t.shape, t.dtype) as T;
}

export class SupportQueue {
  /** Rows, oldest first; undefined while empty. */
  private rows: tf.Tensor2D | undefined;

  constructor(
    readonly capacity: number,
    readonly dim: number,
  ) {
    if (!(Number.isInteger(capacity) && capacity >= 1))
      throw new RangeError(`queue size must be >= 1, got ${capacity}`);
    if (!(Number.isInteger(dim) && dim >= 1)) throw new RangeError(`queue dim must be >= 1, got ${dim}`);
  }

  get size(): number {
    return this.rows?.shape[0] ?? 0;
  }

  /** Appends the normalised rows of `z` (no gradient is kept); the oldest fall out past capacity. */
  push(z: tf.Tensor2D): void {
    if (z.shape[1] !== this.dim) throw new RangeError(`queue holds ${this.dim}-d rows, got ${z.shape[1]}`);
    const old = this.rows;
    this.rows = tf.tidy(() => {
      const fresh = l2Normalize(z);
      const all = old ? tf.concat([old, fresh], 0) : fresh;
      const drop = Math.max(0, all.shape[0] - this.capacity);
      return drop > 0 ? all.slice([drop, 0], [-1, -1]) : tf.clone(all);
    });
    old?.dispose();
  }

  /** For each row of `z`, the queue row of highest cosine similarity (needs a non-empty queue). */
  nearest(z: tf.Tensor2D): tf.Tensor2D {
    const rows = this.rows;
    if (!rows) throw new Error('the support queue is empty');
    const best = tf.tidy(() => tf.argMax(tf.matMul(l2Normalize(z), rows, false, true), -1));
    // The indices detached from `z` (same data, no read back, so no GPU sync): under a gradient
    // tape, gather would otherwise ask for a gradient of its int32 indices, which tfjs rejects.
    const idx = detach(best);
    best.dispose();
    const nn = tf.gather(rows, idx) as tf.Tensor2D;
    idx.dispose();
    return nn;
  }

  /** The rows, oldest first, flat (size × dim): what a checkpoint stores. */
  async snapshot(): Promise<Float32Array> {
    return this.rows ? new Float32Array(await this.rows.data()) : new Float32Array(0);
  }

  /** Replaces the contents with a snapshot (e.g. from `checkpoints/last`). */
  restore(data: Float32Array): void {
    if (data.length % this.dim !== 0) {
      throw new RangeError(`queue snapshot of ${data.length} floats is not a multiple of dim ${this.dim}`);
    }
    const n = data.length / this.dim;
    if (n > this.capacity)
      throw new RangeError(`queue snapshot holds ${n} rows, capacity is ${this.capacity}`);
    this.rows?.dispose();
    this.rows = n > 0 ? tf.tensor2d(data, [n, this.dim]) : undefined;
  }

  dispose(): void {
    this.rows?.dispose();
    this.rows = undefined;
  }
}
