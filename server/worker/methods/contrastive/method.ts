// What SimCLR, SimSiam and NNCLR share (solo-learn's BaseMethod): two augmented views per image
// through backbone + heads, a variant-specific loss, and per epoch a validation contrastive
// loss, the kNN monitor on backbone features (the model-selection metric) and the collapse
// indicator. A variant only supplies its heads, its loss and any state of its own (NNCLR's queue).
import * as tf from '@tensorflow/tfjs';
import type { ContrastiveOptions, EvalResult, PretextConfig } from '../../../../gen/ts/pretext/v1/run.js';
import { type ContrastiveAugOptions, fillTwoViews } from '../../data/augment.js';
import { Rng } from '../../data/rng.js';
import { complement } from '../../data/subsets.js';
import { identityIndices, openSplit, streamedMeanImage } from '../../data/source.js';
import {
  type ArrayEntry,
  disposeCheckpoint,
  findCheckpoint,
  loadCheckpoint,
} from '../../engine/checkpoint.js';
import { checkpointDir } from '../../engine/checkpoint-names.js';
import {
  type Batch,
  carveSelection,
  deriveSeed,
  type Method,
  type MethodFactory,
  type MethodInfo,
  regularizationLoss,
  shuffled,
  variablesOf,
} from '../base.js';
import { backboneWeightIndices, buildBackboneFor, type NetworkSpec, backboneOf } from '../network.js';
import { contrastiveModel } from './heads.js';
import { knnEvalResult } from './knn.js';
import { embeddingStd } from './losses.js';
import { applyFreeing } from '../../models/apply-freeing.js';

/** Labeled images the kNN monitor reads at most (bank + queries), to bound its cost per epoch. */
export const KNN_LABELED_LIMIT = 10000;

/** The first images of the labeled train split the kNN monitor reads, given `unlabeled_limit`. */
export function knnLabeledLimit(unlabeledLimit: number): number {
  return Math.min(unlabeledLimit || KNN_LABELED_LIMIT, KNN_LABELED_LIMIT);
}

export interface Variant {
  /** The heads on the backbone's features; the model's outputs, the projection `z` first. */
  heads(features: tf.SymbolicTensor, seed: number): tf.SymbolicTensor[];
  /** Loss of the two views' model outputs; `train` marks an optimizer step (NNCLR enqueues then). */
  loss(a: tf.Tensor2D[], b: tf.Tensor2D[], train: boolean): tf.Scalar;
  /** Settles deferred state (NNCLR's pending enqueue) before anything reads it. */
  sync?(): void;
  /** Extra checkpoint arrays, and their restore on resume. */
  arrays?(): Promise<Record<string, ArrayEntry>>;
  restore?(arrays: Record<string, ArrayEntry>): void;
  dispose?(): void;
}

export type VariantFactory = (o: ContrastiveOptions) => Variant;

function outputsOf(y: tf.Tensor | tf.Tensor[] | tf.SymbolicTensor | tf.SymbolicTensor[]): tf.Tensor2D[] {
  return (Array.isArray(y) ? y : [y]) as tf.Tensor2D[];
}

export function createContrastive(name: string, makeVariant: VariantFactory): MethodFactory {
  return async ({ ctx, training, seed, openDataset }) => {
    const config = ctx.spec.config as PretextConfig;
    const o = config.contrastive;
    if (!o)
      throw new Error(
        `the ${name} run config has no contrastive options (it was not resolved by the daemon)`,
      );
    const handle = await openDataset(config.dataset);
    if (!handle.hasSplit('train')) {
      throw new Error(
        `${handle.name}: the kNN monitor needs the labeled train split, which is missing in ${handle.dir}`,
      );
    }
    // Streamed from disk where the dataset allows (imported shards): only the labels and the
    // batch in hand are in memory, whatever the dataset's size.
    const set = await openSplit(handle, 'unlabeled', { limit: config.unlabeledLimit || undefined });
    ctx.throwIfCancelled();
    const bs = training.batchSize;
    const val = carveSelection(set.labels, training, seed, 'validation');
    const train = complement(set.count, val);
    if (train.length < 2 || val.length < 2) {
      set.close();
      throw new Error(`too few images (${set.count}) for a validation split`);
    }
    const mean = streamedMeanImage(set, train);

    // The kNN monitor's labeled slice: train features are the bank, a class-balanced held-out part
    // the queries (the test split is never used for selection).
    const labeled = await handle.load('train', { limit: knnLabeledLimit(config.unlabeledLimit) });
    const knnQueries = carveSelection(labeled.labels, training, seed, 'knn');
    const knnBank = complement(labeled.count, knnQueries);
    if (knnBank.length === 0 || knnQueries.length === 0)
      throw new Error(`too few labeled images (${labeled.count}) for the kNN monitor`);
    ctx.throwIfCancelled();

    const network: NetworkSpec = {
      ...backboneOf(config.architecture, config.depth),
      inputShape: [set.height, set.width, 3],
      headUnits: o.projectionDim,
      headName: 'projection',
    };
    const variant = makeVariant(o);
    const backbone = buildBackboneFor(network, seed);
    const model = contrastiveModel(backbone, (f) => variant.heads(f, (seed + 7919) >>> 0), `${name}_model`);
    const info: MethodInfo = {
      method: name,
      task: 'knn',
      dataset: set.dataset,
      network,
      classNames: handle.classNames,
      backboneWeights: backboneWeightIndices({ backbone, model }),
      trainSplit: 'unlabeled',
      trainLimit: config.unlabeledLimit || 0,
      seed,
      knnK: o.knnK,
    };
    // The trainer restores weights and optimizer; a variant's own state (the queue) comes from here.
    if (ctx.spec.resume && variant.restore) {
      const dir = await findCheckpoint(checkpointDir(ctx.spec.runDir, 'last'));
      if (dir) {
        const ckpt = await loadCheckpoint(dir);
        disposeCheckpoint(ckpt);
        try {
          variant.restore(ckpt.arrays);
        } catch (e) {
          variant.dispose?.();
          model.dispose();
          throw e;
        }
      }
    }

    const [h, w] = [set.height, set.width];
    const pix = h * w * 3;
    // training.augment is ignored: the two augmented views are the method itself.
    const aug: ContrastiveAugOptions = { strength: o.augmentStrength, mean };
    let order = train;

    const views = (idx: Int32Array, rng: Rng): [tf.Tensor4D, tf.Tensor4D] => {
      const a = new Float32Array(idx.length * pix);
      const b = new Float32Array(idx.length * pix);
      fillTwoViews(set.gather(idx), identityIndices(idx.length), a, b, rng, aug);
      return [tf.tensor4d(a, [idx.length, h, w, 3]), tf.tensor4d(b, [idx.length, h, w, 3])];
    };

    /** Contrastive loss and collapse indicator on the validation images, views fixed by the seed. */
    const validationLoss = async (): Promise<{ loss: number; std: number }> => {
      variant.sync?.();
      const rng = new Rng(deriveSeed(seed, 'val-views'));
      // Whole batches only (the loss depends on the batch size), at least one.
      const size = Math.min(bs, val.length);
      const batches = Math.max(1, Math.floor(val.length / size));
      let sum = 0;
      const zs: tf.Tensor2D[] = [];
      try {
        for (let i = 0; i < batches; i++) {
          ctx.throwIfCancelled();
          const [xa, xb] = views(val.subarray(i * size, (i + 1) * size), rng);
          const [loss, z] = tf.tidy(() => {
            const a = outputsOf(model.apply(xa, { training: false }));
            const b = outputsOf(model.apply(xb, { training: false }));
            return [variant.loss(a, b, false), a[0]!];
          });
          tf.dispose([xa, xb]);
          sum += (await loss.data())[0]!;
          loss.dispose();
          zs.push(z);
        }
        const std = tf.tidy(() => embeddingStd(tf.concat(zs, 0)));
        const value = (await std.data())[0]!;
        std.dispose();
        return { loss: sum / batches, std: value };
      } finally {
        tf.dispose(zs);
      }
    };

    const knn = async (split: 'validation' | 'test', checkpoint: string): Promise<EvalResult> => {
      let querySet = labeled;
      let queries = knnQueries;
      if (split === 'test') {
        // PretextConfig has no test limit; validation_limit bounds the test queries too.
        querySet = await handle.load('test', { limit: training.validationLimit || undefined });
        queries = Int32Array.from({ length: querySet.count }, (_, i) => i);
      }
      return knnEvalResult({
        backbone,
        labeled,
        bank: knnBank,
        querySet,
        queries,
        mean,
        k: o.knnK,
        split,
        checkpoint,
        signal: ctx.signal,
      });
    };

    const method: Method = {
      info,
      model,
      backbone,
      trainableVariables: () => variablesOf(model.trainableWeights),
      // The last partial batch is dropped: NT-Xent on a tiny batch has almost no negatives.
      stepsPerEpoch: () => Math.max(1, Math.floor(train.length / bs)),
      beginEpoch(rng) {
        variant.sync?.();
        order = shuffled(train, rng);
      },
      batch(i, rng): Batch {
        variant.sync?.();
        const idx = order.subarray(i * bs, Math.min(order.length, (i + 1) * bs));
        return { size: idx.length, tensors: views(idx, rng) };
      },
      loss(batch) {
        const [xa, xb] = batch.tensors as [tf.Tensor4D, tf.Tensor4D];
        const a = outputsOf(applyFreeing(model, xa, { training: true }));
        const b = outputsOf(applyFreeing(model, xb, { training: true }));
        let loss = variant.loss(a, b, true);
        const reg = regularizationLoss(model);
        if (reg) loss = tf.add(loss, reg);
        return { loss };
      },
      async validate() {
        const v = await validationLoss();
        const k = await knn('validation', '');
        return {
          loss: v.loss,
          accuracy: k.accuracy,
          extra: { knn_accuracy: k.accuracy, embedding_std: v.std },
        };
      },
      async finalEvaluation(checkpoint) {
        const v = await validationLoss();
        const validation = await knn('validation', checkpoint);
        // The kNN result has no loss of its own: report the validation contrastive loss there.
        validation.loss = v.loss;
        return { validation, test: await knn('test', checkpoint) };
      },
      async arrays() {
        variant.sync?.();
        return { mean, val, train, knn_val: knnQueries, ...(await variant.arrays?.()) };
      },
      dispose() {
        variant.dispose?.();
        model.dispose();
        set.close();
      },
    };
    return method;
  };
}
