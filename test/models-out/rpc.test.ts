// ExportModel, Embed and Predict end to end: a daemon on port 0 with the real worker, a short
// real downstream run (small_conv_16), the real client. Resumed exports, embeddings of a split and
// of the same images sent as PNG, predictions, every bad input of the issue, and the worker freed
// when a client cancels or stops reading.
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import path from 'node:path';
import { after, before, test } from 'node:test';
import * as grpc from '@grpc/grpc-js';
import type { ExportInfo } from '../../gen/ts/pretext/v1/models.js';
import { CheckpointChoice, type Run, RunState } from '../../gen/ts/pretext/v1/run.js';
import {
  EmbedRequest,
  type EmbedResponse,
  ExportModelRequest,
  type ExportModelResponse,
  type PredictResponse,
} from '../../gen/ts/pretext/v1/service.js';
import { MAX_IMAGES_PER_CALL } from '../../server/shared/contract/models-out.js';
import { resolveDataset } from '../../server/shared/data/registry.js';
import { REPO_ROOT, SHARED_DATASETS } from '../helpers/paths.js';
import { startTestDaemon, type TestDaemon } from '../helpers/daemon.js';
import { testPngs } from './helpers.js';

const REAL_WORKER = path.join(REPO_ROOT, 'server/worker/engine/worker.ts');
const BEST = CheckpointChoice.CHECKPOINT_CHOICE_BEST;
const LAST = CheckpointChoice.CHECKPOINT_CHOICE_LAST;

let d: TestDaemon;
let downstream: Run;
let pngs: Buffer[] = [];

function downstreamRequest() {
  return {
    config: {
      dataset: 'cifar10',
      architecture: 'small_conv_16',
      nLabels: 500,
      testLimit: 100,
      training: { epochs: 1, batchSize: 32, maxStepsPerEpoch: 3, validationLimit: 100, seed: 7 },
    },
    name: 'models-out',
  };
}

before(async () => {
  d = await startTestDaemon({ workerEntry: REAL_WORKER, stalledStreamMs: 2_000 });
  const { run } = await d.call<{ run: Run }>('startDownstream', downstreamRequest());
  downstream = await d.waitState(run.id, [RunState.RUN_STATE_SUCCEEDED, RunState.RUN_STATE_FAILED], 300_000);
  assert.equal(downstream.state, RunState.RUN_STATE_SUCCEEDED, downstream.error);
  pngs = await testPngs(8);
});

after(async () => {
  await d?.stop();
});

interface Collected {
  info?: ExportInfo;
  bytes: Buffer;
}

function exportStream(req: Partial<ExportModelRequest>): Promise<Collected> {
  return new Promise((resolve, reject) => {
    const call = d.client.exportModel(ExportModelRequest.fromPartial(req));
    const out: Collected = { bytes: Buffer.alloc(0) };
    const parts: Buffer[] = [];
    call.on('data', (m: ExportModelResponse) => {
      if (m.info) out.info = m.info;
      if (m.data.byteLength) parts.push(m.data);
    });
    call.on('error', reject);
    call.on('end', () => resolve({ ...out, bytes: Buffer.concat(parts) }));
  });
}

function embedStream(req: Partial<EmbedRequest>): Promise<EmbedResponse[]> {
  return new Promise((resolve, reject) => {
    const call = d.client.embed(EmbedRequest.fromPartial(req));
    const msgs: EmbedResponse[] = [];
    call.on('data', (m: EmbedResponse) => msgs.push(m));
    call.on('error', reject);
    call.on('end', () => resolve(msgs));
  });
}

function rowsOf(msgs: EmbedResponse[]) {
  const indices: number[] = [];
  const labels: number[] = [];
  const parts: Buffer[] = [];
  for (const m of msgs) {
    if (!m.rows) continue;
    indices.push(...m.rows.indices);
    labels.push(...m.rows.labels);
    parts.push(m.rows.embeddings);
  }
  const b = Buffer.concat(parts);
  return { indices, labels, emb: new Float32Array(b.buffer, b.byteOffset, b.byteLength / 4) };
}

async function rejectsWith(p: Promise<unknown>, code: grpc.status, pattern?: RegExp) {
  await assert.rejects(p, (err: grpc.ServiceError) => {
    assert.equal(err.code, code, `${grpc.status[err.code]}: ${err.details}`);
    if (pattern) assert.match(err.details, pattern);
    return true;
  });
}

test('ExportModel: sha256 and total size, a resume from an offset gives the rest, a changed archive is refused', async () => {
  const whole = await exportStream({ runId: downstream.id, format: 'onnx' });
  assert.ok(whole.info);
  assert.equal(whole.info.totalBytes, whole.bytes.byteLength);
  assert.equal(createHash('sha256').update(whole.bytes).digest('hex'), whole.info.sha256);
  assert.deepEqual(whole.info.files, ['model.onnx', 'metadata.json']);
  assert.equal(whole.info.inProgress, false);
  assert.equal(whole.info.checkpoint, 'best');
  const half = Math.floor(whole.bytes.byteLength / 2);
  const rest = await exportStream({
    runId: downstream.id,
    format: 'onnx',
    offset: half,
    expectedSha256: whole.info.sha256,
  });
  assert.ok(Buffer.concat([whole.bytes.subarray(0, half), rest.bytes]).equals(whole.bytes));
  await rejectsWith(
    exportStream({ runId: downstream.id, format: 'onnx', offset: half, expectedSha256: '0'.repeat(64) }),
    grpc.status.FAILED_PRECONDITION,
    /changed/,
  );
  const tfjs = await exportStream({ runId: downstream.id, format: 'tfjs' });
  assert.deepEqual(tfjs.info?.files, ['model.json', 'group1-shard1of1.bin', 'metadata.json']);
});

test('ExportModel bad input: unknown format, unknown run, offset past the end', async () => {
  await rejectsWith(
    exportStream({ runId: downstream.id, format: 'keras' }),
    grpc.status.INVALID_ARGUMENT,
    /keras/,
  );
  await rejectsWith(exportStream({ runId: 'r-nope', format: 'onnx' }), grpc.status.NOT_FOUND);
  await rejectsWith(
    exportStream({ runId: downstream.id, format: 'onnx', offset: 1e12 }),
    grpc.status.INVALID_ARGUMENT,
    /past/,
  );
});

test('Embed: a split streams float32 rows with indices and labels; the same images sent as PNG embed the same', async () => {
  const msgs = await embedStream({
    runId: downstream.id,
    source: { $case: 'split', split: { dataset: '', split: 'test', offset: 0, limit: 300 } },
  });
  const info = msgs[0]?.info;
  assert.ok(info);
  assert.equal(info.count, 300);
  assert.equal(info.dim, 16);
  assert.equal(info.model?.classNames.length, 10);
  const split = rowsOf(msgs);
  assert.deepEqual(
    split.indices,
    Array.from({ length: 300 }, (_, i) => i),
  );
  assert.equal(split.emb.length, 300 * 16);
  const handle = await resolveDataset('cifar10', { dataDir: SHARED_DATASETS, allowDownload: false });
  const set = await handle.load('test', { limit: 300 });
  assert.deepEqual(split.labels, Array.from(set.labels));

  const sent = rowsOf(
    await embedStream({ runId: downstream.id, source: { $case: 'images', images: { images: pngs } } }),
  );
  assert.deepEqual(sent.labels, new Array(8).fill(-1));
  for (let i = 0; i < 8 * 16; i++)
    assert.ok(Math.abs(sent.emb[i]! - split.emb[i]!) < 1e-5, `row ${Math.floor(i / 16)}`);
});

test('Predict: top-k classes with probabilities; a larger image is resized, not refused', async () => {
  const res = await d.call<PredictResponse>('predict', {
    runId: downstream.id,
    images: pngs.slice(0, 3),
    topK: 3,
  });
  assert.equal(res.predictions.length, 3);
  assert.equal(res.model?.checkpoint, 'best');
  for (const p of res.predictions) {
    assert.equal(p.top.length, 3);
    assert.ok(
      p.top[0]!.probability >= p.top[1]!.probability && p.top[1]!.probability >= p.top[2]!.probability,
    );
    assert.ok(p.top.every((c) => c.className.length > 0 && c.probability >= 0 && c.probability <= 1));
  }
  const [big] = await testPngs(1, 64);
  const resized = await d.call<PredictResponse>('predict', { runId: downstream.id, images: [big] });
  assert.equal(resized.predictions[0]?.top.length, 5, 'default top-k is 5');
});

test('Embed/Predict bad input: non-image bytes, a corrupt PNG, too many images, top_k, split, no source', async () => {
  const run = downstream.id;
  await rejectsWith(
    d.call('predict', { runId: run, images: [Buffer.from('hello, not an image')] }),
    grpc.status.INVALID_ARGUMENT,
    /image 0 is not an image/,
  );
  const corrupt = Buffer.concat([pngs[0]!.subarray(0, 40), Buffer.alloc(40, 7)]);
  await rejectsWith(
    d.call('predict', { runId: run, images: [corrupt] }),
    grpc.status.INVALID_ARGUMENT,
    /image 0/,
  );
  await rejectsWith(
    d.call('predict', { runId: run, images: new Array(MAX_IMAGES_PER_CALL + 1).fill(pngs[0]) }),
    grpc.status.RESOURCE_EXHAUSTED,
  );
  await rejectsWith(
    d.call('predict', { runId: run, images: [pngs[0]], topK: 1000 }),
    grpc.status.INVALID_ARGUMENT,
  );
  await rejectsWith(
    embedStream({
      runId: run,
      source: { $case: 'split', split: { dataset: '', split: 'tset', offset: 0, limit: 0 } },
    }),
    grpc.status.INVALID_ARGUMENT,
    /tset/,
  );
  await rejectsWith(embedStream({ runId: run }), grpc.status.INVALID_ARGUMENT);
  await rejectsWith(
    embedStream({
      runId: run,
      source: { $case: 'images', images: { images: new Array(MAX_IMAGES_PER_CALL + 1).fill(pngs[0]) } },
    }),
    grpc.status.RESOURCE_EXHAUSTED,
  );
});

test('a run still training: best is refused, last is allowed and marked in progress; Predict needs a downstream run', async () => {
  const { run } = await d.call<{ run: Run }>('startPretext', {
    config: {
      method: 'rotation',
      dataset: 'cifar10',
      architecture: 'small_conv_16',
      unlabeledLimit: 512,
      training: { epochs: 200, batchSize: 32, maxStepsPerEpoch: 2, validationLimit: 64, seed: 2 },
    },
  });
  const deadline = Date.now() + 120_000;
  let live: Run;
  for (;;) {
    live = (await d.call<{ run: Run }>('getRun', { runId: run.id })).run;
    if (live.state === RunState.RUN_STATE_RUNNING && live.artifacts.some((a) => a.name === 'last')) break;
    assert.ok(
      Date.now() < deadline && live.state <= RunState.RUN_STATE_RUNNING,
      `run is ${RunState[live.state]}`,
    );
    await new Promise((r) => setTimeout(r, 200));
  }
  // A run queued behind it has no checkpoint at all.
  const { run: queued } = await d.call<{ run: Run }>('startPretext', {
    config: { method: 'rotation', dataset: 'cifar10', unlabeledLimit: 64, training: { epochs: 1 } },
  });
  try {
    await rejectsWith(
      exportStream({ runId: run.id, format: 'onnx' }),
      grpc.status.FAILED_PRECONDITION,
      /last/,
    );
    const last = await exportStream({ runId: run.id, format: 'tfjs', checkpoint: LAST });
    assert.equal(last.info?.inProgress, true);
    assert.equal(last.info?.checkpoint, 'last');
    const emb = await embedStream({
      runId: run.id,
      checkpoint: LAST,
      source: { $case: 'split', split: { dataset: '', split: 'test', offset: 10, limit: 5 } },
    });
    assert.equal(emb[0]?.info?.model?.inProgress, true);
    assert.deepEqual(rowsOf(emb).indices, [10, 11, 12, 13, 14]);
    await rejectsWith(
      d.call('predict', { runId: run.id, checkpoint: LAST, images: [pngs[0]] }),
      grpc.status.FAILED_PRECONDITION,
      /downstream/,
    );
    await rejectsWith(
      exportStream({ runId: queued.id, format: 'onnx', checkpoint: LAST }),
      grpc.status.FAILED_PRECONDITION,
      /no last checkpoint/,
    );
    await d.call('cancelRun', { runId: queued.id });
    await rejectsWith(
      exportStream({ runId: queued.id, format: 'onnx', checkpoint: BEST }),
      grpc.status.FAILED_PRECONDITION,
      /no best checkpoint/,
    );
  } finally {
    await d.call('cancelRun', { runId: run.id });
    await d.waitState(run.id, [
      RunState.RUN_STATE_CANCELLED,
      RunState.RUN_STATE_FAILED,
      RunState.RUN_STATE_SUCCEEDED,
    ]);
  }
});

async function inferencePidsGone(before: number[], timeoutMs: number) {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const now = d.daemon.workerPids();
    if (now.length === 0) return;
    assert.ok(Date.now() < until, `workers still alive: ${now} (before: ${before})`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

test('a client that cancels midway, or stops reading, gets its worker freed', async () => {
  // Cancel after the first rows.
  await new Promise<void>((resolve, reject) => {
    const call = d.client.embed(
      EmbedRequest.fromPartial({
        runId: downstream.id,
        source: { $case: 'split', split: { dataset: '', split: 'train', offset: 0, limit: 0 } },
      }),
    );
    call.on('data', (m: EmbedResponse) => {
      if (m.rows) {
        call.cancel();
        resolve();
      }
    });
    call.on('error', (err: grpc.ServiceError) => {
      if (err.code !== grpc.status.CANCELLED) reject(err);
    });
  });
  await inferencePidsGone(d.daemon.workerPids(), 10_000);

  // Stop reading: the daemon gives up after stalledStreamMs (2 s here) and frees the worker.
  let seen: number[] = [];
  const call = d.client.embed(
    EmbedRequest.fromPartial({
      runId: downstream.id,
      source: { $case: 'split', split: { dataset: '', split: 'train', offset: 0, limit: 0 } },
    }),
  );
  const ended = new Promise<grpc.ServiceError | undefined>((resolve) => {
    call.on('error', (err: grpc.ServiceError) => resolve(err));
    call.on('end', () => resolve(undefined));
  });
  await new Promise<void>((resolve) => {
    call.once('data', () => {
      call.pause();
      seen = d.daemon.workerPids();
      resolve();
    });
  });
  assert.ok(seen.length > 0, 'a worker was running');
  await inferencePidsGone(seen, 30_000);
  call.resume();
  const err = await ended;
  assert.ok(err, 'the stalled call ended with an error, not a complete stream');
});
