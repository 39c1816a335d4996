// NNCLR through the production job function: the support queue is checkpointed (size capped at
// queue_size, FIFO across epochs) and a run stopped after epoch 1 and resumed ends with exactly
// the queue and weights of a run that never stopped.
import assert from 'node:assert/strict';
import { rm } from 'node:fs/promises';
import path from 'node:path';
import { after, test } from 'node:test';
import { disposeCheckpoint, loadCheckpoint } from '../../server/worker/engine/checkpoint.js';
import { trainJob } from '../../server/worker/engine/jobs.js';
import type { JobSpec } from '../../server/shared/worker-protocol.js';
import type { CheckpointState } from '../../server/worker/engine/trainer.js';
import { CancelledError } from '../../server/worker/engine/worker-runtime.js';
import { assertTensorsEqual, baseSpec, recordingContext, tempRunDir } from '../engine/context.js';
import { cifarConfig } from './helpers.js';

const dirs: string[] = [];
after(async () => {
  for (const d of dirs) await rm(d, { recursive: true, force: true });
});

const DIM = 16;
const QUEUE = 100;
const BATCH = 32;
const STEPS = 3;

async function spec(runDir?: string): Promise<JobSpec> {
  const dir = runDir ?? (await tempRunDir('pretext-nnclr-'));
  if (!runDir) dirs.push(dir);
  return baseSpec({
    kind: 'pretext',
    method: 'nnclr',
    runDir: dir,
    resume: Boolean(runDir),
    config: cifarConfig('nnclr', {
      architecture: 'small_conv_8',
      depth: 0,
      unlabeledLimit: 300,
      training: { epochs: 2, batchSize: BATCH, maxStepsPerEpoch: STEPS, validationLimit: 40 } as never,
      contrastive: { queueSize: QUEUE, projectionDim: DIM, knnK: 5 } as never,
    }),
  });
}

async function checkpointOf(runDir: string, which = 'last') {
  return loadCheckpoint<CheckpointState>(path.join(runDir, 'checkpoints', which));
}

test('nnclr: the queue is checkpointed, capped at queue_size, FIFO across epochs, and resumes', {
  timeout: 300_000,
}, async () => {
  // A run stopped right after epoch 1 (its checkpoint is on disk), then resumed.
  const stopped = await spec();
  const rec1 = recordingContext(stopped, (p, r) => {
    if (p.$case === 'epoch') r.abort.abort();
  });
  await assert.rejects(trainJob(rec1.ctx), CancelledError);
  const afterOne = await checkpointOf(stopped.runDir);
  const q1 = afterOne.arrays.queue as Float32Array;
  assert.equal(afterOne.state.trainer.epoch, 1);
  assert.equal(q1.length, STEPS * BATCH * DIM, 'one epoch enqueued every step’s first-view batch');
  // Rows are unit vectors.
  for (let r = 0; r < q1.length / DIM; r += 17) {
    let s = 0;
    for (let j = 0; j < DIM; j++) s += q1[r * DIM + j]! ** 2;
    assert.ok(Math.abs(s - 1) < 1e-4);
  }
  disposeCheckpoint(afterOne);

  const resumed = await spec(stopped.runDir);
  const rec2 = recordingContext(resumed);
  await trainJob(rec2.ctx);
  assert.deepEqual(
    rec2.epochs().map((e) => e.epoch),
    [2],
  );
  const end = await checkpointOf(stopped.runDir);
  const q2 = end.arrays.queue as Float32Array;
  assert.equal(q2.length, QUEUE * DIM, 'capped at queue_size');
  // FIFO: 192 rows went in, the newest 100 stay; the epoch-1 rows 92..95 are now the oldest.
  const dropped = STEPS * BATCH * 2 - QUEUE;
  assert.deepEqual(
    Array.from(q2.subarray(0, (STEPS * BATCH - dropped) * DIM)),
    Array.from(q1.subarray(dropped * DIM)),
  );

  // The same run without a stop: identical queue and weights.
  const straight = await spec();
  const rec3 = recordingContext(straight);
  await trainJob(rec3.ctx);
  const ref = await checkpointOf(straight.runDir);
  assert.deepEqual(Array.from(q2), Array.from(ref.arrays.queue as Float32Array));
  assertTensorsEqual(end.weights, ref.weights, 'resumed vs straight weights');
  assert.equal(rec3.epochs()[1]!.extra.knn_accuracy, rec2.epochs()[0]!.extra.knn_accuracy);
  // No tensors leak between epochs (the queue is replaced, not accumulated).
  assert.equal(rec3.tensorsAtEpoch[0], rec3.tensorsAtEpoch[1]);
  disposeCheckpoint(end);
  disposeCheckpoint(ref);
});
