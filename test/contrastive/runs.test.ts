// Short real SimCLR and SimSiam runs on a CIFAR-10 slice (ResNet8): the contrastive loss falls,
// the kNN monitor (the model-selection metric) ends above chance, the collapse indicator is
// reported, and a downstream linear probe and fine-tune start from the contrastive backbone.
import assert from 'node:assert/strict';
import { rm } from 'node:fs/promises';
import { after, test } from 'node:test';
import path from 'node:path';
import { DownstreamConfig, Protocol, type RunResult } from '../../gen/ts/pretext/v1/run.js';
import {
  disposeCheckpoint,
  type LoadedCheckpoint,
  loadCheckpoint,
} from '../../server/worker/engine/checkpoint.js';
import { datasetOpener, startBackend } from '../../server/worker/engine/job-support.js';
import { trainJob } from '../../server/worker/engine/jobs.js';
import { knnEvaluation } from '../../server/worker/methods/contrastive/evaluate.js';
import { trainingSettings } from '../../server/shared/contract/training.js';
import type { CheckpointState } from '../../server/worker/engine/trainer.js';
import { assertTensorsEqual, baseSpec, recordingContext, tempRunDir } from '../engine/context.js';
import { cifarConfig, factory } from './helpers.js';

const dirs: string[] = [];
const pretextRuns = new Map<string, string>();
const pretextResults = new Map<string, RunResult>();
after(async () => {
  for (const d of dirs) await rm(d, { recursive: true, force: true });
});

for (const name of ['simclr', 'simsiam']) {
  test(`${name}: a short CIFAR-10 run learns (loss falls, kNN above chance)`, {
    timeout: 600_000,
  }, async () => {
    const runDir = await tempRunDir(`pretext-${name}-`);
    dirs.push(runDir);
    pretextRuns.set(name, runDir);
    const config = cifarConfig(name);
    const spec = baseSpec({ kind: 'pretext', method: name, runDir, config });
    // kNN accuracy of the untrained network, for comparison.
    const probe = recordingContext(spec);
    await startBackend(probe.ctx);
    const fresh = await (await factory(name))({
      ctx: probe.ctx,
      training: trainingSettings(config.training),
      seed: spec.seed,
      openDataset: datasetOpener(probe.ctx),
    });
    const initial = await fresh.validate();
    fresh.dispose();

    const t0 = performance.now();
    const rec = recordingContext(spec);
    const result = await trainJob(rec.ctx);
    pretextResults.set(name, result);
    const seconds = (performance.now() - t0) / 1000;
    const epochs = rec.epochs();
    const steps = rec.steps();
    const knn = epochs.map((e) => e.extra.knn_accuracy!);
    const std = epochs.map((e) => e.extra.embedding_std!);
    console.log(
      `${name}: ${seconds.toFixed(0)} s; step loss ${steps[0]!.loss.toFixed(3)} -> ${steps.at(-1)!.loss.toFixed(3)}; ` +
        `val loss ${initial.loss.toFixed(3)} -> ${epochs.map((e) => e.valLoss.toFixed(3)).join(', ')}; ` +
        `kNN ${initial.accuracy.toFixed(3)} (init) -> ${knn.map((k) => k.toFixed(3)).join(', ')}; ` +
        `std ${std.map((s) => s.toFixed(3)).join(', ')}; test kNN ${result.test?.accuracy.toFixed(3)}`,
    );
    assert.equal(epochs.length, 2);
    for (const e of epochs) {
      assert.equal(e.valAccuracy, e.extra.knn_accuracy, 'the kNN accuracy is the selection metric');
      assert.ok(Number.isFinite(e.valLoss));
    }
    assert.ok(knn.at(-1)! > 0.1, `kNN accuracy ${knn.at(-1)} above chance (10%)`);
    assert.ok(epochs.at(-1)!.valLoss < initial.loss, 'validation contrastive loss fell');
    assert.ok(
      std.every((s) => s > 0.2 / Math.sqrt(64)),
      `not collapsed: ${std}`,
    );
    assert.equal(result.validation?.task, 'knn');
    assert.equal(result.test?.task, 'knn');
    assert.equal(result.test?.numExamples, 200);
    assert.ok(result.test!.accuracy > 0.1);
  });
}

const backboneOf = (c: LoadedCheckpoint<CheckpointState>) =>
  c.state.info.backboneWeights.map((i) => c.weights[i]!);

test('linear probe and fine-tune start from the SimCLR backbone (supervised method)', {
  timeout: 600_000,
}, async () => {
  const pretextDir = pretextRuns.get('simclr');
  assert.ok(pretextDir, 'the SimCLR run above ran');
  const pre = await loadCheckpoint<CheckpointState>(path.join(pretextDir, 'checkpoints', 'best'));
  for (const protocol of [Protocol.PROTOCOL_LINEAR_PROBE, Protocol.PROTOCOL_FINE_TUNE]) {
    const runDir = await tempRunDir('pretext-down-');
    dirs.push(runDir);
    const spec = baseSpec({
      kind: 'downstream',
      method: 'supervised',
      runDir,
      seed: 21,
      config: DownstreamConfig.fromPartial({
        pretextRunId: 'simclr-run',
        protocol,
        nLabels: 100,
        testLimit: 200,
        training: { epochs: 1, batchSize: 32, maxStepsPerEpoch: 3, validationLimit: 100 },
      }),
      parent: {
        runId: 'simclr-run',
        kind: 'pretext',
        method: 'simclr',
        runDir: pretextDir,
        config: cifarConfig('simclr'),
      },
    });
    const result = await trainJob(recordingContext(spec).ctx);
    const down = await loadCheckpoint<CheckpointState>(path.join(runDir, 'checkpoints', 'last'));
    const probe = protocol === Protocol.PROTOCOL_LINEAR_PROBE;
    console.log(
      `${probe ? 'linear probe' : 'fine-tune'} from simclr: test accuracy ${result.test?.accuracy}`,
    );
    assert.equal(result.test?.numExamples, 200);
    assert.equal(result.test?.task, 'classification');
    const { network } = down.state.info;
    assert.deepEqual(
      [network.architecture, network.depth, network.inputShape, network.headUnits],
      ['resnet', 8, [32, 32, 3], 10],
    );
    // The pretext run's normalisation travels with its backbone.
    assert.deepEqual(
      Array.from(down.arrays.mean as Float32Array),
      Array.from(pre.arrays.mean as Float32Array),
    );
    if (probe) assertTensorsEqual(backboneOf(down), backboneOf(pre), 'probe backbone = SimCLR backbone');
    else assert.throws(() => assertTensorsEqual(backboneOf(down), backboneOf(pre), 'x'), /differs/);
    disposeCheckpoint(down);
  }
  disposeCheckpoint(pre);
});

test("the best checkpoint, rebuilt from its files, gives the run's own kNN figures", {
  timeout: 300_000,
}, async () => {
  const runDir = pretextRuns.get('simclr');
  const result = pretextResults.get('simclr');
  assert.ok(runDir && result);
  const ckpt = await loadCheckpoint<CheckpointState>(path.join(runDir, 'checkpoints', 'best'));
  const rec = recordingContext(
    baseSpec({
      kind: 'evaluate',
      method: 'evaluate',
      runDir,
      config: { targetRunId: 'simclr-run', checkpoint: 0, split: '', limit: 0 },
    }),
  );
  const handle = await datasetOpener(rec.ctx)('cifar10');
  const common = {
    info: ckpt.state.info,
    weights: ckpt.weights,
    arrays: ckpt.arrays,
    handle,
    checkpoint: 'best',
  };
  const validation = await knnEvaluation({ ...common, split: 'validation', limit: 0 });
  const testSplit = await knnEvaluation({ ...common, split: 'test', limit: 200 });
  disposeCheckpoint(ckpt);
  assert.equal(validation.numExamples, result.validation!.numExamples);
  assert.equal(validation.accuracy, result.validation!.accuracy);
  assert.deepEqual(testSplit.confusionMatrix, result.test!.confusionMatrix);
});
