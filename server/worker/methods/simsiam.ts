// SimSiam (Chen & He 2020): backbone + projector (BN on every layer) + bottleneck predictor;
// negative cosine similarity of each view's prediction to the other view's stopped projection.
import type { MethodFactory } from './base.js';
import { mlpHead } from './contrastive/heads.js';
import { simsiamLoss } from './contrastive/losses.js';
import { createContrastive } from './contrastive/method.js';

export const createSimsiam: MethodFactory = createContrastive('simsiam', (o) => ({
  heads: (features, seed) => {
    const z = mlpHead(features, {
      name: 'projector',
      hidden: o.hiddenDim,
      out: o.projectionDim,
      batchNorm: true,
      outputNorm: true,
      seed,
    });
    const p = mlpHead(z, {
      name: 'predictor',
      hidden: o.predictorDim,
      out: o.projectionDim,
      batchNorm: true,
      seed: (seed + 101) >>> 0,
    });
    return [z, p];
  },
  // Outputs are [z, p]: D(p1, z2)/2 + D(p2, z1)/2.
  loss: (a, b) => simsiamLoss(a[1]!, b[1]!, a[0]!, b[0]!),
}));

export { createSimsiam as create };
