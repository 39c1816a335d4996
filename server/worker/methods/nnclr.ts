// NNCLR (Dwibedi et al. 2021): SimCLR whose positive for a view is the nearest neighbour of the
// other view's projection in a FIFO support queue of past projections. The queue is checkpointed
// (array "queue") and restored on resume. While it is empty (first step) a view's own projection
// stands in for its neighbour.
import * as tf from '@tensorflow/tfjs';
import type { MethodFactory } from './base.js';
import { mlpHead } from './contrastive/heads.js';
import { nnclrLoss } from './contrastive/losses.js';
import { createContrastive } from './contrastive/method.js';
import { SupportQueue } from './contrastive/queue.js';

export const createNnclr: MethodFactory = createContrastive('nnclr', (o) => {
  const queue = new SupportQueue(o.queueSize, o.projectionDim);
  // The step's first-view projections, enqueued once the step is over (never inside the tape).
  let pending: tf.Tensor2D | undefined;
  const sync = () => {
    if (!pending) return;
    queue.push(pending);
    pending.dispose();
    pending = undefined;
  };
  return {
    heads: (features, seed) => [
      mlpHead(features, {
        name: 'projector',
        hidden: o.hiddenDim,
        out: o.projectionDim,
        batchNorm: false,
        seed,
      }),
    ],
    loss(a, b, train) {
      const za = a[0]!;
      const zb = b[0]!;
      const nnA = queue.size > 0 ? queue.nearest(za) : za;
      const nnB = queue.size > 0 ? queue.nearest(zb) : zb;
      const loss = nnclrLoss(nnA, zb, nnB, za, o.temperature);
      if (train) {
        sync();
        pending = tf.keep(za);
      }
      return loss;
    },
    sync,
    arrays: async () => ({ queue: await queue.snapshot() }),
    restore(arrays) {
      const q = arrays.queue;
      if (q instanceof Float32Array) queue.restore(q);
    },
    dispose() {
      pending?.dispose();
      pending = undefined;
      queue.dispose();
    },
  };
});

export { createNnclr as create };
