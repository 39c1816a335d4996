// Rotation pretext (Gidaris et al.; the reference study): predict by how many quarter turns an
// image was rotated. The reference draws one random k per image once per run; RotNet
// (rotationsPerImage = 4) shows every image in all four rotations in the same batch.
import * as tf from '@tensorflow/tfjs';
import type { PretextConfig } from '../../../gen/ts/pretext/v1/run.js';
import { allRotations, fillRotationBatch, randomRotations } from '../data/batches.js';
import { identityIndices, openSplit, streamedMeanImage } from '../data/source.js';
import { Rng } from '../data/rng.js';
import { complement } from '../data/subsets.js';
import type { ImageSet } from '../../shared/data/types.js';
import { countPredictions, rotationSource, toEvalResult } from '../eval/classify.js';
import {
  type Batch,
  carveSelection,
  classificationLoss,
  deriveSeed,
  type Method,
  type MethodFactory,
  type MethodInfo,
  shuffled,
  variablesOf,
} from './base.js';
import { backboneWeightIndices, buildNetwork, type NetworkSpec, backboneOf } from './network.js';
import { applyFreeing } from '../models/apply-freeing.js';

export const ROTATION_CLASSES = ['0°', '90°', '180°', '270°'];

/** Validation (and evaluation) examples of a rotation run: fixed k per image, or all four. */
export function rotationEvalLabels(
  info: MethodInfo,
  indices: Int32Array,
  rotations: Int32Array | undefined,
): Int32Array | undefined {
  if (info.rotationsPerImage === 4 || !rotations) return undefined;
  return Int32Array.from(indices, (i) => rotations[i]!);
}

/** The per-image rotation labels of the test split: fixed by the run's seed, like the training ones. */
export function testRotations(info: MethodInfo, count: number): Int32Array | undefined {
  if (info.rotationsPerImage === 4) return undefined;
  return randomRotations(count, new Rng(deriveSeed(info.seed, 'test-rotations')));
}

export const createRotation: MethodFactory = async ({ ctx, training, seed, openDataset }) => {
  const config = ctx.spec.config as PretextConfig;
  const perImage = config.rotationsPerImage;
  const handle = await openDataset(config.dataset);
  if (handle.height !== handle.width) throw new Error('rotation needs square images');
  // Streamed from disk where the dataset allows (imported shards); see data/source.ts.
  const set = await openSplit(handle, 'unlabeled', { limit: config.unlabeledLimit || undefined });
  ctx.throwIfCancelled();

  const val = carveSelection(set.labels, training, seed, 'validation');
  const train = complement(set.count, val);
  if (train.length === 0 || val.length === 0) {
    set.close();
    throw new Error(`too few images (${set.count}) for a validation split`);
  }
  const mean = streamedMeanImage(set, train);
  // One k per image, drawn once: image i is always seen (and validated) at rotation ks[i].
  const ks = randomRotations(set.count, new Rng(deriveSeed(seed, 'rotations')));

  const arch = backboneOf(config.architecture, config.depth);
  const network: NetworkSpec = {
    ...arch,
    inputShape: [set.height, set.width, 3],
    headUnits: 4,
    headName: 'rotation',
  };
  const net = buildNetwork(network, seed);
  const info: MethodInfo = {
    method: 'rotation',
    task: 'rotation',
    dataset: set.dataset,
    network,
    classNames: ROTATION_CLASSES,
    backboneWeights: backboneWeightIndices(net),
    trainSplit: 'unlabeled',
    trainLimit: config.unlabeledLimit || 0,
    seed,
    rotationsPerImage: perImage,
  };
  // The validation images, gathered once when first needed (image k = val[k]).
  let valSet: ImageSet | undefined;
  const valSource = () => {
    valSet ??= set.gather(val);
    return rotationSource(valSet, identityIndices(val.length), mean, rotationEvalLabels(info, val, ks));
  };
  const [h, w] = [set.height, set.width];
  const bs = training.batchSize;
  let order = train;

  const method: Method = {
    info,
    model: net.model,
    backbone: net.backbone,
    trainableVariables: () => variablesOf(net.model.trainableWeights),
    stepsPerEpoch: () => Math.ceil(train.length / bs),
    beginEpoch(rng) {
      order = shuffled(train, rng);
    },
    batch(i, rng): Batch {
      let idx = order.subarray(i * bs, Math.min(order.length, (i + 1) * bs));
      const images = idx.length;
      let rot: Int32Array;
      if (perImage === 4) {
        const all = new Int32Array(images * 4);
        rot = new Int32Array(images * 4);
        allRotations(idx, all, rot);
        idx = all;
      } else {
        rot = Int32Array.from(idx, (j) => ks[j]!);
      }
      const x = new Float32Array(idx.length * h * w * 3);
      fillRotationBatch(
        set.gather(idx),
        identityIndices(idx.length),
        mean,
        rot,
        x,
        training.augment ? { rng } : undefined,
      );
      return { size: images, tensors: [tf.tensor4d(x, [idx.length, h, w, 3]), tf.tensor1d(rot, 'int32')] };
    },
    loss(batch) {
      const [x, y] = batch.tensors as [tf.Tensor4D, tf.Tensor1D];
      const probs = applyFreeing(net.model, x, { training: true }) as tf.Tensor;
      return classificationLoss(net.model, probs, y);
    },
    async validate() {
      const c = await countPredictions(net.model, 4, valSource(), { signal: ctx.signal });
      const r = toEvalResult(c, {
        split: 'validation',
        classNames: ROTATION_CLASSES,
        checkpoint: '',
        task: 'rotation',
      });
      return { loss: r.loss, accuracy: r.accuracy };
    },
    async finalEvaluation(checkpoint) {
      const c = await countPredictions(net.model, 4, valSource(), { signal: ctx.signal });
      return {
        validation: toEvalResult(c, {
          split: 'validation',
          classNames: ROTATION_CLASSES,
          checkpoint,
          task: 'rotation',
        }),
      };
    },
    arrays: () => ({ mean, val, train, rotations: ks }),
    dispose() {
      net.model.dispose();
      set.close();
    },
  };
  return method;
};

export { createRotation as create };
