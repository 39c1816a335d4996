// Shared by the contrastive tests: the methods as the registry hands them out, and a short
// pretext config on a CIFAR-10 slice.
import type { PretextConfig } from '../../gen/ts/pretext/v1/run.js';
import { resolvePretext } from '../../server/shared/contract/resolve.js';
import type { MethodFactory } from '../../server/worker/methods/base.js';
import { loadMethod } from '../../server/worker/methods/registry.js';

/** A contrastive method's factory, as the job table finds it. */
export function factory(name: string): Promise<MethodFactory> {
  return loadMethod(name);
}

/**
 * A quick CIFAR-10 pretext config, resolved by the contract as the daemon would: ResNet8, a
 * 1,000-image slice, 200 validation images.
 */
export function cifarConfig(method: string, over: Partial<PretextConfig> = {}): PretextConfig {
  return resolvePretext({
    method,
    dataset: 'cifar10',
    unlabeledLimit: 1000,
    architecture: 'resnet',
    depth: 8,
    rotationsPerImage: 0,
    ...over,
    training: {
      epochs: 2,
      batchSize: 64,
      learningRate: 1e-3,
      lrSchedule: 'constant',
      plateauPatience: 0,
      disablePlateau: true,
      augment: false,
      validationFraction: 0.2,
      maxStepsPerEpoch: 8,
      seed: 0,
      validationLimit: 200,
      minSteps: 0,
      precision: 'fp32',
      ...over.training,
    },
    contrastive: {
      temperature: 0,
      queueSize: 0,
      projectionDim: 64,
      hiddenDim: 0,
      predictorDim: method === 'simsiam' ? 32 : 0,
      augmentStrength: 0,
      knnK: 20,
      ...over.contrastive,
    },
  });
}
