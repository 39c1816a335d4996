// SimCLR (Chen et al. 2020): backbone + projection MLP, NT-Xent over the two views of a batch.
import type { MethodFactory } from './base.js';
import { mlpHead } from './contrastive/heads.js';
import { ntXentLoss } from './contrastive/losses.js';
import { createContrastive } from './contrastive/method.js';

export const createSimclr: MethodFactory = createContrastive('simclr', (o) => ({
  heads: (features, seed) => [
    mlpHead(features, {
      name: 'projector',
      hidden: o.hiddenDim,
      out: o.projectionDim,
      batchNorm: false,
      seed,
    }),
  ],
  loss: (a, b) => ntXentLoss(a[0]!, b[0]!, o.temperature),
}));

export { createSimclr as create };
