// Downstream supervised runs on real CIFAR-10: SSL+SL starts from exactly the pretext backbone
// with a fresh head, a linear probe leaves the backbone (BN statistics included) untouched,
// fine-tuning changes it, and SL from scratch draws a class-balanced label budget with a
// selection split each protocol (within_budget, extra_labeled, last_epoch) asks for. ResNet8 (the reference's ResNet v1 with n = 1) keeps it quick.
import assert from 'node:assert/strict';
import path from 'node:path';
import { rm } from 'node:fs/promises';
import { after, before, test } from 'node:test';
import * as tf from '@tensorflow/tfjs';
import {
  CheckpointChoice,
  DownstreamConfig,
  PretextConfig,
  Protocol,
  Selection,
} from '../../gen/ts/pretext/v1/run.js';
import { datasetEntry } from '../../server/shared/contract/catalog.js';
import { labelsUsed } from '../../server/shared/contract/selection.js';
import { labelBudget } from '../../server/worker/data/subsets.js';
import { deriveSeed } from '../../server/worker/methods/base.js';
import {
  disposeCheckpoint,
  type LoadedCheckpoint,
  loadCheckpoint,
} from '../../server/worker/engine/checkpoint.js';
import { datasetOpener, startBackend } from '../../server/worker/engine/job-support.js';
import { trainJob } from '../../server/worker/engine/jobs.js';
import { trainingSettings } from '../../server/shared/contract/training.js';
import type { JobSpec } from '../../server/shared/worker-protocol.js';
import type { CheckpointState } from '../../server/worker/engine/trainer.js';
import { buildNetwork } from '../../server/worker/methods/network.js';
import { createSupervised } from '../../server/worker/methods/supervised.js';
import { assertTensorsEqual, baseSpec, recordingContext, tempRunDir } from '../engine/context.js';

const dirs: string[] = [];
let pretextDir: string;
const pretextConfig = PretextConfig.fromPartial({
  architecture: 'resnet',
  depth: 8,
  unlabeledLimit: 400,
  training: { epochs: 2, batchSize: 32, maxStepsPerEpoch: 3 },
});

before(async () => {
  pretextDir = await tempRunDir('pretext-ssl-');
  dirs.push(pretextDir);
  await trainJob(
    recordingContext(
      baseSpec({ kind: 'pretext', method: 'rotation', runDir: pretextDir, config: pretextConfig }),
    ).ctx,
  );
});

after(async () => {
  for (const d of dirs) await rm(d, { recursive: true, force: true });
});

async function downstreamSpec(config: Partial<DownstreamConfig>): Promise<JobSpec> {
  const runDir = await tempRunDir('pretext-down-');
  dirs.push(runDir);
  const withParent = Boolean(config.pretextRunId);
  return baseSpec({
    kind: 'downstream',
    method: 'supervised',
    runDir,
    seed: 11,
    config: DownstreamConfig.fromPartial({
      nLabels: 100,
      fold: 0,
      testLimit: 200,
      ...config,
      training: { epochs: 1, batchSize: 32, maxStepsPerEpoch: 2, validationLimit: 100, ...config.training },
    }),
    parent: withParent
      ? {
          runId: 'pretext-run',
          kind: 'pretext',
          method: 'rotation',
          runDir: pretextDir,
          config: pretextConfig,
        }
      : undefined,
  });
}

async function pretextCheckpoint(which: 'best' | 'last'): Promise<LoadedCheckpoint<CheckpointState>> {
  return loadCheckpoint<CheckpointState>(path.join(pretextDir, 'checkpoints', which));
}

function backboneOf(c: LoadedCheckpoint<CheckpointState>): tf.Tensor[] {
  return c.state.info.backboneWeights.map((i) => c.weights[i]!);
}

test('SSL+SL starts from exactly the pretext backbone weights, with a fresh head', {
  timeout: 300_000,
}, async () => {
  for (const [choice, which] of [
    [CheckpointChoice.CHECKPOINT_CHOICE_BEST, 'best'],
    [CheckpointChoice.CHECKPOINT_CHOICE_LAST, 'last'],
  ] as const) {
    const spec = await downstreamSpec({ pretextRunId: 'pretext-run', checkpoint: choice });
    const rec = recordingContext(spec);
    await startBackend(rec.ctx);
    const training = trainingSettings((spec.config as DownstreamConfig).training);
    const method = await createSupervised({
      ctx: rec.ctx,
      training,
      seed: spec.seed,
      openDataset: datasetOpener(rec.ctx),
    });
    const ckpt = await pretextCheckpoint(which);
    assertTensorsEqual(method.backbone.getWeights(), backboneOf(ckpt), `backbone from ${which}`);
    // The head is what a fresh build with the run's seed gives: nothing came from the rotation head.
    const fresh = buildNetwork(method.info.network, spec.seed);
    const inBackbone = new Set(method.info.backboneWeights);
    const head = method.model.getWeights().filter((_, i) => !inBackbone.has(i));
    const freshHead = fresh.model
      .getWeights()
      .filter((_, i) => !new Set(fresh.backbone.weights.map((w) => fresh.model.weights.indexOf(w))).has(i));
    assert.deepEqual(
      head.map((t) => t.shape),
      [[64, 10], [10]],
    );
    assertTensorsEqual(head, freshHead, 'head');
    disposeCheckpoint(ckpt);
    fresh.model.dispose();
    method.dispose();
  }
});

test('linear probe: backbone (BN statistics included) unchanged, head trained', {
  timeout: 300_000,
}, async () => {
  const spec = await downstreamSpec({
    pretextRunId: 'pretext-run',
    checkpoint: CheckpointChoice.CHECKPOINT_CHOICE_BEST,
    protocol: Protocol.PROTOCOL_LINEAR_PROBE,
  });
  const result = await trainJob(recordingContext(spec).ctx);
  assert.equal(result.test?.numExamples, 200);
  const pre = await pretextCheckpoint('best');
  const probe = await loadCheckpoint<CheckpointState>(path.join(spec.runDir, 'checkpoints', 'last'));
  assertTensorsEqual(backboneOf(probe), backboneOf(pre), 'probe backbone vs pretext backbone');
  const fresh = buildNetwork(probe.state.info.network, spec.seed);
  const headIdx = probe.weights.map((_, i) => i).filter((i) => !probe.state.info.backboneWeights.includes(i));
  const kernel = probe.weights[headIdx[0]!]!;
  const freshKernel = fresh.model.getWeights()[headIdx[0]!]!;
  assert.ok(tf.max(tf.abs(tf.sub(kernel, freshKernel))).dataSync()[0]! > 0, 'the head trained');
  fresh.model.dispose();
  disposeCheckpoint(pre);
  disposeCheckpoint(probe);
});

test('SSL+SL fine-tune updates the backbone; SL from scratch: balanced budget, disjoint validation', {
  timeout: 300_000,
}, async () => {
  const ft = await downstreamSpec({ pretextRunId: 'pretext-run', protocol: Protocol.PROTOCOL_FINE_TUNE });
  const ftResult = await trainJob(recordingContext(ft).ctx);
  assert.ok(ftResult.test && ftResult.validation);
  const pre = await pretextCheckpoint('best');
  const tuned = await loadCheckpoint<CheckpointState>(path.join(ft.runDir, 'checkpoints', 'last'));
  assert.throws(() => assertTensorsEqual(backboneOf(tuned), backboneOf(pre), 'x'), /differs/);
  disposeCheckpoint(pre);
  disposeCheckpoint(tuned);

  disposeCheckpoint(await loadCheckpoint<CheckpointState>(path.join(ft.runDir, 'checkpoints', 'best')));
});

// The same budget (fold 3, seed 11) under each selection protocol: which images train, which
// select, and what the run tests.
test('selection: within_budget holds out 20% of the budget and nothing else; extra_labeled carves outside; last_epoch none', {
  timeout: 300_000,
}, async () => {
  const budgetOf = async (spec: JobSpec) => {
    const handle = await datasetOpener(recordingContext(spec).ctx)('cifar10');
    const train = await handle.load('train');
    const budget = labelBudget({
      labels: train.labels,
      nLabels: 100,
      fold: 3,
      scheme: 'stratified_fold',
      seed: deriveSeed(spec.seed, 'labels'),
    });
    return { labels: train.labels, budget };
  };
  const perClass = (labels: Uint8Array, idx: Int32Array) => {
    const n = new Array(10).fill(0);
    for (const i of idx) n[labels[i]!]++;
    return n;
  };
  const run = async (selection: Selection) => {
    const spec = await downstreamSpec({ architecture: 'resnet', depth: 8, nLabels: 100, fold: 3, selection });
    const result = await trainJob(recordingContext(spec).ctx);
    assert.equal(result.test?.numExamples, 200);
    const c = await loadCheckpoint<CheckpointState>(path.join(spec.runDir, 'checkpoints', 'best'));
    const split = { train: c.arrays.train as Int32Array, val: c.arrays.val as Int32Array };
    disposeCheckpoint(c);
    return { spec, result, ...split };
  };

  const within = await run(Selection.SELECTION_WITHIN_BUDGET);
  const { labels, budget } = await budgetOf(within.spec);
  assert.deepEqual(perClass(labels, budget), new Array(10).fill(10));
  assert.equal(within.train.length, 80);
  assert.equal(within.val.length, 20);
  assert.deepEqual(perClass(labels, within.val), new Array(10).fill(2), 'class-balanced hold-out');
  // Every index it trained or selected on is in the budget, and together they are the budget.
  assert.deepEqual(
    [...within.train, ...within.val].sort((a, b) => a - b),
    [...budget],
    'train + selection = the label budget, nothing outside it',
  );
  assert.equal(within.result.validation?.numExamples, 20);

  // The SSL+SL arm of the same fold (same seed) trains and selects on exactly the same images.
  const sslSpec = await downstreamSpec({ pretextRunId: 'pretext-run', nLabels: 100, fold: 3 });
  await trainJob(recordingContext(sslSpec).ctx);
  const ssl = await loadCheckpoint<CheckpointState>(path.join(sslSpec.runDir, 'checkpoints', 'best'));
  assert.deepEqual(
    [...(ssl.arrays.val as Int32Array)],
    [...within.val],
    'both arms hold out the same images',
  );
  assert.deepEqual([...(ssl.arrays.train as Int32Array)], [...within.train]);
  disposeCheckpoint(ssl);

  const extra = await run(Selection.SELECTION_EXTRA_LABELED);
  assert.deepEqual([...extra.train], [...budget]);
  assert.equal(extra.val.length, 100, 'validation_limit 100 images, outside the budget');
  const inBudget = new Set(budget);
  assert.ok(
    extra.val.every((i) => !inBudget.has(i)),
    'extra labels are disjoint from the budget',
  );

  const last = await run(Selection.SELECTION_LAST_EPOCH);
  assert.deepEqual([...last.train], [...budget]);
  assert.equal(last.val.length, 0);
  assert.equal(last.result.validation, undefined);
  assert.equal(last.result.bestEpoch, last.result.epochsTrained, 'the tested checkpoint is the last epoch');

  // The plan the daemon reports is what the worker carved.
  const cifar = datasetEntry('cifar10')!;
  for (const [sel, r] of [
    [Selection.SELECTION_WITHIN_BUDGET, within],
    [Selection.SELECTION_EXTRA_LABELED, extra],
    [Selection.SELECTION_LAST_EPOCH, last],
  ] as const) {
    const plan = labelsUsed(cifar, {
      nLabels: 100,
      selection: sel,
      training: (r.spec.config as DownstreamConfig).training,
    });
    assert.deepEqual([plan.train, plan.selection], [r.train.length, r.val.length], `plan of ${sel}`);
  }
});
