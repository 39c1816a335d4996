// The evaluate job against an independent count: the checkpoint read by tfjs' own loader, test
// images normalized by hand, argmax matches counted here.
import assert from 'node:assert/strict';
import path from 'node:path';
import { rm } from 'node:fs/promises';
import { after, before, test } from 'node:test';
import * as tf from '@tensorflow/tfjs';
import {
  CheckpointChoice,
  DownstreamConfig,
  EvaluateConfig,
  PretextConfig,
  type RunResult,
} from '../../gen/ts/pretext/v1/run.js';
import { resolveDataset } from '../../server/shared/data/registry.js';
import { fileHandler, loadCheckpoint, disposeCheckpoint } from '../../server/worker/engine/checkpoint.js';
import { trainJob } from '../../server/worker/engine/jobs.js';
import type { JobSpec, ParentRunSpec } from '../../server/shared/worker-protocol.js';
import type { CheckpointState } from '../../server/worker/engine/trainer.js';
import { evaluateJob } from '../../server/worker/eval/evaluate-job.js';
import { baseSpec, recordingContext, tempRunDir } from '../engine/context.js';
import { SHARED_DATASETS } from '../helpers/paths.js';

const dirs: string[] = [];
let sl: { runDir: string; result: RunResult; config: DownstreamConfig };
let pre: { runDir: string; result: RunResult; config: PretextConfig };

before(async () => {
  const slDir = await tempRunDir('pretext-sl-');
  const preDir = await tempRunDir('pretext-rot-');
  dirs.push(slDir, preDir);
  const slConfig = DownstreamConfig.fromPartial({
    architecture: 'small_conv_32',
    nLabels: 1000,
    testLimit: 100,
    training: { epochs: 3, batchSize: 32, validationLimit: 300, lrSchedule: 'constant' },
  });
  const preConfig = PretextConfig.fromPartial({
    architecture: 'small_conv_8',
    unlabeledLimit: 500,
    training: { epochs: 1, batchSize: 32 },
  });
  const s = baseSpec({ kind: 'downstream', method: 'supervised', runDir: slDir, config: slConfig });
  const p = baseSpec({ kind: 'pretext', method: 'rotation', runDir: preDir, config: preConfig });
  sl = { runDir: slDir, config: slConfig, result: await trainJob(recordingContext(s).ctx) };
  pre = { runDir: preDir, config: preConfig, result: await trainJob(recordingContext(p).ctx) };
});

after(async () => {
  for (const d of dirs) await rm(d, { recursive: true, force: true });
});

async function evaluate(parent: ParentRunSpec, config: Partial<EvaluateConfig>): Promise<RunResult> {
  const runDir = await tempRunDir('pretext-eval-');
  dirs.push(runDir);
  const spec: JobSpec = baseSpec({
    kind: 'evaluate',
    method: 'evaluate',
    runDir,
    config: EvaluateConfig.fromPartial({ targetRunId: parent.runId, ...config }),
    parent,
  });
  return evaluateJob(recordingContext(spec).ctx);
}

const slParent = (): ParentRunSpec => ({
  runId: 'sl',
  kind: 'downstream',
  method: 'supervised',
  runDir: sl.runDir,
  config: sl.config,
});

test('test accuracy equals an independent count of argmax matches', { timeout: 300_000 }, async () => {
  const limit = 500;
  const result = await evaluate(slParent(), {
    split: 'test',
    limit,
    checkpoint: CheckpointChoice.CHECKPOINT_CHOICE_BEST,
  });
  const r = result.test!;
  assert.equal(r.split, 'test');
  assert.equal(r.checkpoint, 'best');
  assert.equal(r.numExamples, limit);

  // Independent path: tfjs' loader, hand-written normalization, argmax counted here.
  const dir = path.join(sl.runDir, 'checkpoints', 'best');
  const model = await tf.loadLayersModel(fileHandler(dir));
  const ckpt = await loadCheckpoint<CheckpointState>(dir);
  const mean = ckpt.arrays.mean as Float32Array;
  disposeCheckpoint(ckpt);
  const handle = await resolveDataset('cifar10', { dataDir: SHARED_DATASETS, allowDownload: false });
  const test = await handle.load('test', { limit });
  const pix = 32 * 32 * 3;
  const x = new Float32Array(limit * pix);
  for (let i = 0; i < limit * pix; i++) x[i] = test.images[i]! / 255 - mean[i % pix]!;
  const predicted = tf.tidy(() =>
    (model.predict(tf.tensor4d(x, [limit, 32, 32, 3])) as tf.Tensor).argMax(-1).dataSync(),
  );
  let matches = 0;
  const confusion = new Array(100).fill(0);
  for (let i = 0; i < limit; i++) {
    if (predicted[i] === test.labels[i]) matches++;
    confusion[test.labels[i]! * 10 + predicted[i]!]++;
  }
  model.dispose();
  assert.equal(r.accuracy, matches / limit);
  assert.deepEqual(r.confusionMatrix, confusion);
  // Per-class accuracy is the diagonal over the row sums.
  for (let c = 0; c < 10; c++) {
    const row = confusion.slice(c * 10, c * 10 + 10).reduce((a, b) => a + b, 0);
    assert.ok(Math.abs(r.perClassAccuracy[c]! - confusion[c * 11] / row) < 1e-12);
  }
  assert.ok(r.loss > 0 && Number.isFinite(r.loss));
  assert.deepEqual(r.classNames.slice(0, 2), ['airplane', 'automobile']);
  // Three epochs on 1,000 labels learn something: above the 10% of chance.
  assert.ok(r.accuracy > 0.15, `test accuracy ${r.accuracy}`);
  console.log(`# SL small_conv_32, 1,000 labels, 3 epochs: test accuracy ${r.accuracy} on ${limit} images`);
});

test('evaluating the validation split reproduces the run`s own selection figure', {
  timeout: 120_000,
}, async () => {
  const r = await evaluate(slParent(), { split: 'validation' });
  // Selection within the budget: 20% of the 1,000 labels.
  assert.equal(r.validation?.numExamples, 200);
  assert.equal(r.validation?.accuracy, sl.result.bestValAccuracy);
  const rot = await evaluate(
    { runId: 'pre', kind: 'pretext', method: 'rotation', runDir: pre.runDir, config: pre.config },
    { split: 'validation', checkpoint: CheckpointChoice.CHECKPOINT_CHOICE_BEST },
  );
  assert.equal(rot.validation?.task, 'rotation');
  assert.equal(rot.validation?.accuracy, pre.result.bestValAccuracy);
});

test('rotation accuracy of a pretext run on the test split', { timeout: 120_000 }, async () => {
  const r = await evaluate(
    { runId: 'pre', kind: 'pretext', method: 'rotation', runDir: pre.runDir, config: pre.config },
    { split: 'test', limit: 400, checkpoint: CheckpointChoice.CHECKPOINT_CHOICE_LAST },
  );
  const t = r.test!;
  assert.equal(t.task, 'rotation');
  assert.equal(t.numClasses, 4);
  assert.equal(t.numExamples, 400);
  // One seeded random k per test image: all four rotations occur.
  for (let k = 0; k < 4; k++)
    assert.ok(t.confusionMatrix.slice(k * 4, k * 4 + 4).reduce((a, b) => a + b, 0) > 50);
});
