// ContrastiveOptions with the proto's zero-means-default rule applied per method.
import type { ContrastiveOptions } from '../../../../gen/ts/pretext/v1/run.js';

export type ContrastiveName = 'simclr' | 'simsiam' | 'nnclr';

export interface ResolvedContrastive {
  temperature: number;
  queueSize: number;
  projectionDim: number;
  hiddenDim: number;
  predictorDim: number;
  augmentStrength: number;
  knnK: number;
}

function positiveInt(name: string, v: number, max: number): number {
  if (!Number.isInteger(v) || v < 1 || v > max)
    throw new Error(`${name} must be an integer in 1..${max}, got ${v}`);
  return v;
}

export function resolveContrastive(
  o: ContrastiveOptions | undefined,
  method: ContrastiveName,
): ResolvedContrastive {
  const temperature = o?.temperature || 0.1;
  if (!(temperature > 0 && temperature <= 10))
    throw new Error(`temperature must be in (0, 10], got ${temperature}`);
  const strength = o?.augmentStrength || 1;
  if (!(strength > 0 && strength <= 2))
    throw new Error(`augment_strength must be in (0, 2], got ${strength}`);
  const projectionDim = positiveInt(
    'projection_dim',
    o?.projectionDim || (method === 'simsiam' ? 2048 : 128),
    8192,
  );
  return {
    temperature,
    queueSize: positiveInt('queue_size', o?.queueSize || 10000, 1_000_000),
    projectionDim,
    hiddenDim: positiveInt('hidden_dim', o?.hiddenDim || projectionDim, 8192),
    predictorDim: positiveInt('predictor_dim', o?.predictorDim || 512, 8192),
    augmentStrength: strength,
    knnK: positiveInt('knn_k', o?.knnK || 20, 1000),
  };
}
