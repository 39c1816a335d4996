// Downstream supervised training on a label budget: from scratch (SL) or from a pretext run's
// backbone (SSL+SL), fine-tuning every layer or training a linear probe on frozen features.
import * as tf from '@tensorflow/tfjs';
import { type DownstreamConfig, Protocol } from '../../../gen/ts/pretext/v1/run.js';
import { SUBSET_SCHEMES } from '../../shared/contract/catalog.js';
import { fillBatch, meanImage } from '../data/batches.js';
import { datasetEntry } from '../../shared/contract/catalog.js';
import { labelsUsed, selectionEntry } from '../../shared/contract/selection.js';
import { labelBudget, splitWithinBudget } from '../data/subsets.js';
import type { ImageSet } from '../../shared/data/types.js';
import { type ArrayEntry, disposeCheckpoint, loadCheckpoint } from '../engine/checkpoint.js';
import { type CheckpointKind, checkpointDir, checkpointName } from '../engine/checkpoint-names.js';
import type { CheckpointState } from '../engine/trainer.js';
import { classificationSource, countPredictions, toEvalResult } from '../eval/classify.js';
import { restoreBackbone } from './restore.js';
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

/** The pretext run's backbone (network spec, weights, mean image) from its checkpoint. */
async function pretextBackbone(
  runDir: string,
  choice: CheckpointKind,
): Promise<{ spec: NetworkSpec; backbone: tf.LayersModel; mean: ArrayEntry | undefined; info: MethodInfo }> {
  const ckpt = await loadCheckpoint<CheckpointState>(checkpointDir(runDir, choice));
  try {
    const info = ckpt.state.info;
    const backbone = restoreBackbone(info, ckpt.weights);
    return { spec: info.network, backbone, mean: ckpt.arrays.mean, info };
  } finally {
    disposeCheckpoint(ckpt);
  }
}

export const createSupervised: MethodFactory = async ({ ctx, training, seed, openDataset }) => {
  const config = ctx.spec.config as DownstreamConfig;
  const dataset = config.dataset;
  const linearProbe = config.protocol === Protocol.PROTOCOL_LINEAR_PROBE;

  let pretext: Awaited<ReturnType<typeof pretextBackbone>> | undefined;
  if (config.pretextRunId) {
    const parent = ctx.spec.parent;
    if (!parent || parent.runId !== config.pretextRunId) {
      throw new Error(`pretext run ${config.pretextRunId} was not handed to the worker (spec.parent)`);
    }
    pretext = await pretextBackbone(parent.runDir, checkpointName(config.checkpoint));
    if (pretext.info.dataset !== dataset) {
      pretext.backbone.dispose();
      throw new Error(
        `pretext run ${parent.runId} trained on ${pretext.info.dataset}, this run asks for ${dataset}`,
      );
    }
  }

  const handle = await openDataset(dataset);
  const set: ImageSet = await handle.load('train');
  ctx.throwIfCancelled();
  const scheme = SUBSET_SCHEMES.get(config.subsetScheme)?.name;
  if (!scheme) throw new Error(`subset scheme ${config.subsetScheme} is not in the catalog`);
  // The label budget, then the selection split the config's plan says (the daemon stored and
  // reported the same plan as labels_used; a mismatch fails the run rather than mislabel it).
  const datasetFacts = datasetEntry(dataset);
  if (!datasetFacts) throw new Error(`dataset ${dataset} is not in the catalog`);
  const budget = labelBudget({
    labels: set.labels,
    nLabels: config.nLabels,
    fold: config.fold,
    scheme,
    seed: deriveSeed(seed, 'labels'),
    stl10Folds: scheme === 'stl10_fold' ? handle.folds() : undefined,
    perClass: datasetFacts.imported !== undefined,
  });
  const plan = labelsUsed(datasetFacts, config);
  const selectionMode = selectionEntry(config.selection);
  let labeled: Int32Array;
  let val: Int32Array;
  switch (selectionMode.name) {
    case 'within_budget': {
      const split = splitWithinBudget(set.labels, budget, plan.selection, deriveSeed(seed, 'validation'));
      labeled = split.train;
      val = split.selection;
      break;
    }
    case 'last_epoch':
      labeled = budget;
      val = new Int32Array(0);
      break;
    case 'extra_labeled':
      labeled = budget;
      val = carveSelection(set.labels, training, seed, 'validation', budget);
      break;
  }
  if (labeled.length !== plan.train || val.length !== plan.selection) {
    throw new Error(
      `the label split (${labeled.length} train + ${val.length} selection) differs from the plan (${plan.train} + ${plan.selection})`,
    );
  }
  // The backbone saw images normalized with the pretext run's mean; SL uses the full train split's.
  const mean = pretext?.mean instanceof Float32Array ? pretext.mean : meanImage(set);

  const network: NetworkSpec = pretext
    ? { ...pretext.spec, headUnits: handle.numClasses, headName: 'classifier' }
    : {
        ...backboneOf(config.architecture, config.depth),
        inputShape: [set.height, set.width, 3],
        headUnits: handle.numClasses,
        headName: 'classifier',
      };
  const net = buildNetwork(network, seed, pretext?.backbone);
  const backboneSet = new Set(net.backbone.weights);
  const headWeights = net.model.trainableWeights.filter((w) => !backboneSet.has(w));
  const info: MethodInfo = {
    method: 'supervised',
    task: 'classification',
    dataset,
    network,
    classNames: handle.classNames,
    backboneWeights: backboneWeightIndices(net),
    trainSplit: 'train',
    trainLimit: 0,
    seed,
  };
  const [h, w] = [set.height, set.width];
  const bs = training.batchSize;
  const numClasses = handle.numClasses;
  let order = labeled;

  const evaluate = async (split: 'validation' | 'test', checkpoint: string) => {
    let source = classificationSource(set, val, mean);
    if (split === 'test') {
      const test = await handle.load('test', { limit: config.testLimit || undefined });
      source = classificationSource(
        test,
        Int32Array.from({ length: test.count }, (_, i) => i),
        mean,
      );
    }
    const c = await countPredictions(net.model, numClasses, source, { signal: ctx.signal });
    return toEvalResult(c, { split, classNames: handle.classNames, checkpoint, task: 'classification' });
  };

  const method: Method = {
    info,
    model: net.model,
    backbone: net.backbone,
    // A linear probe updates only the new head; the backbone (and its BN statistics) stay as loaded.
    trainableVariables: () => variablesOf(linearProbe ? headWeights : net.model.trainableWeights),
    stepsPerEpoch: () => Math.ceil(labeled.length / bs),
    beginEpoch(rng) {
      order = shuffled(labeled, rng);
    },
    batch(i, rng): Batch {
      const idx = order.subarray(i * bs, Math.min(order.length, (i + 1) * bs));
      const x = new Float32Array(idx.length * h * w * 3);
      fillBatch(set, idx, mean, x, training.augment ? { rng } : undefined);
      const y = Int32Array.from(idx, (j) => set.labels[j]!);
      return { size: idx.length, tensors: [tf.tensor4d(x, [idx.length, h, w, 3]), tf.tensor1d(y, 'int32')] };
    },
    loss(batch) {
      const [x, y] = batch.tensors as [tf.Tensor4D, tf.Tensor1D];
      // A frozen backbone runs in inference mode; its L2 penalty is a constant and left out.
      const probs = applyFreeing(net.model, x, { training: !linearProbe }) as tf.Tensor;
      return classificationLoss(linearProbe ? undefined : net.model, probs, y);
    },
    selects: selectionMode.tests,
    async validate() {
      // last_epoch has no selection split: nothing is measured (NaN, shown as "—").
      if (val.length === 0) return { loss: Number.NaN, accuracy: Number.NaN };
      const r = await evaluate('validation', '');
      return { loss: r.loss, accuracy: r.accuracy };
    },
    async finalEvaluation(checkpoint) {
      return {
        validation: val.length > 0 ? await evaluate('validation', checkpoint) : undefined,
        test: await evaluate('test', checkpoint),
      };
    },
    arrays: () => ({ mean, val, train: labeled }),
    dispose() {
      net.model.dispose();
    },
  };
  return method;
};

export { createSupervised as create };
