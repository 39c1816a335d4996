// Export formats against tfjs: a short real downstream run (small_conv) and a ResNet8 with
// non-trivial batch-norm statistics, exported as ONNX (run by onnxruntime-node) and as a tfjs
// LayersModel (loaded back over HTTP with tf.loadLayersModel, as a browser would). On 100 CIFAR-10
// test images both give tfjs' outputs: ONNX within 1e-4, the tfjs round trip exactly.
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import { readFile, rm } from 'node:fs/promises';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { after, before, test } from 'node:test';
import * as tf from '@tensorflow/tfjs';
import * as ort from 'onnxruntime-node';
import { DownstreamConfig } from '../../gen/ts/pretext/v1/run.js';
import tarStream from 'tar-stream';
import { resolveDataset } from '../../server/shared/data/registry.js';
import type { InferenceJob } from '../../server/shared/inference-protocol.js';
import { startBackend } from '../../server/worker/engine/job-support.js';
import { trainJob } from '../../server/worker/engine/jobs.js';
import { runEmbed } from '../../server/worker/inference/embed.js';
import { exportModel, runExport } from '../../server/worker/inference/export.js';
import { type LoadedModel, loadModel, normalise } from '../../server/worker/inference/load-model.js';
import { toOnnx } from '../../server/worker/inference/onnx.js';
import { buildNetwork } from '../../server/worker/methods/network.js';
import { SHARED_DATASETS } from '../helpers/paths.js';
import { baseSpec, recordingContext, tempRunDir } from '../engine/context.js';

const N = 100;
const dirs: string[] = [];
let runDir = '';
let images: Float32Array;
let rawTest: Uint8Array;

after(async () => {
  for (const d of dirs) await rm(d, { recursive: true, force: true });
});

export async function untar(bytes: Uint8Array): Promise<Map<string, Buffer>> {
  const files = new Map<string, Buffer>();
  const ex = tarStream.extract();
  const done = new Promise<void>((resolve, reject) => {
    ex.on('entry', (h, stream, next) => {
      const parts: Buffer[] = [];
      stream.on('data', (c) => parts.push(c as Buffer));
      stream.on('end', () => {
        files.set(h.name, Buffer.concat(parts));
        next();
      });
    });
    ex.on('finish', resolve);
    ex.on('error', reject);
  });
  ex.end(Buffer.from(bytes));
  await done;
  return files;
}

function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  assert.equal(a.length, b.length);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]! - b[i]!));
  return m;
}

async function tfjsOutputs(model: tf.LayersModel, x: Float32Array): Promise<Float32Array[]> {
  const out = tf.tidy(() => {
    const y = model.predict(tf.tensor4d(x, [N, 32, 32, 3]));
    return Array.isArray(y) ? y : [y];
  });
  const data = await Promise.all(out.map((t) => t.data() as Promise<Float32Array>));
  tf.dispose(out);
  return data;
}

async function onnxOutputs(bytes: Uint8Array, x: Float32Array, names: string[]): Promise<Float32Array[]> {
  const session = await ort.InferenceSession.create(bytes);
  const res = await session.run({ image: new ort.Tensor('float32', x, [N, 32, 32, 3]) });
  await session.release();
  return names.map((n) => res[n]!.data as Float32Array);
}

before(async () => {
  runDir = await tempRunDir('pretext-export-');
  dirs.push(runDir);
  // A short real downstream run (SL from scratch): small_conv_16, two epochs of 4 steps.
  const spec = baseSpec({
    kind: 'downstream',
    method: 'supervised',
    runDir,
    config: DownstreamConfig.fromPartial({
      dataset: 'cifar10',
      architecture: 'small_conv_16',
      nLabels: 500,
      testLimit: 100,
      training: { epochs: 2, batchSize: 32, maxStepsPerEpoch: 4, validationLimit: 100, seed: 3 },
    }),
  });
  const rec = recordingContext(spec);
  await startBackend(rec.ctx);
  await trainJob(rec.ctx);
  const handle = await resolveDataset('cifar10', { dataDir: SHARED_DATASETS, allowDownload: false });
  const set = await handle.load('test', { limit: N });
  rawTest = set.images;
});

async function exportOf(m: LoadedModel, format: 'onnx' | 'tfjs') {
  const job: Extract<InferenceJob, { kind: 'export' }> = {
    kind: 'export',
    runDir,
    checkpoint: 'best',
    backend: 'auto',
    format,
    exportDir: path.join(runDir, 'exports'),
    dataDir: SHARED_DATASETS,
    metadata: {
      run_id: 'r-test',
      run_state: 'SUCCEEDED',
      kind: 'downstream',
      in_progress: false,
      code_revision: 'abc',
      data_checksum: 'def',
    },
  };
  const done = await runExport(job, m);
  const archive = new Uint8Array(await readFile(done.file));
  return { done, files: await untar(archive), archive };
}

test('ONNX export of a downstream run equals tfjs on 100 test images (onnxruntime-node, 1e-4)', async () => {
  const m = await loadModel(runDir, 'best');
  try {
    images = normalise(rawTest, m.mean, N);
    const { done, files } = await exportOf(m, 'onnx');
    assert.deepEqual(done.files, ['model.onnx', 'metadata.json']);
    const meta = JSON.parse(files.get('metadata.json')!.toString());
    assert.equal(meta.run_id, 'r-test');
    assert.equal(meta.method, 'supervised');
    assert.equal(meta.dataset, 'cifar10');
    assert.deepEqual(meta.input_shape, [32, 32, 3]);
    assert.equal(meta.class_names.length, 10);
    assert.equal(meta.normalization.mean.length, 32 * 32 * 3);
    assert.equal(meta.code_revision, 'abc');
    assert.equal(meta.data_checksum, 'def');
    assert.equal(meta.onnx_opset, 13);
    assert.deepEqual(
      meta.outputs.map((o: { name: string }) => o.name),
      ['features', 'probabilities'],
    );
    const { model } = exportModel(m);
    const want = await tfjsOutputs(model, images);
    const got = await onnxOutputs(files.get('model.onnx')!, images, ['features', 'probabilities']);
    const diffs = want.map((w, i) => maxAbsDiff(w, got[i]!));
    console.log(
      `small_conv_16 downstream: max |onnx - tfjs| features ${diffs[0]}, probabilities ${diffs[1]}`,
    );
    for (const d of diffs) assert.ok(d < 1e-4, `max abs difference ${d}`);
    // The export is deterministic: the same checkpoint gives the same archive.
    const again = await exportOf(m, 'onnx');
    assert.equal(again.done.sha256, done.sha256);
  } finally {
    m.dispose();
  }
});

test('tfjs export: tf.loadLayersModel over HTTP (as in a browser) gives the same outputs', async () => {
  const m = await loadModel(runDir, 'best');
  const { files } = await exportOf(m, 'tfjs');
  assert.ok(files.has('model.json') && files.has('metadata.json') && files.has('group1-shard1of1.bin'));
  const server = createServer((req, res) => {
    const body = files.get(decodeURIComponent((req.url ?? '/').slice(1)));
    if (!body) {
      res.writeHead(404).end();
      return;
    }
    res.writeHead(200, { 'content-type': 'application/octet-stream' }).end(body);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  const before = tf.memory().numTensors;
  try {
    const loaded = await tf.loadLayersModel(`http://127.0.0.1:${port}/model.json`);
    const { model } = exportModel(m);
    const want = await tfjsOutputs(model, images);
    const got = await tfjsOutputs(loaded, images);
    for (let i = 0; i < want.length; i++) assert.equal(maxAbsDiff(want[i]!, got[i]!), 0);
    const json = JSON.parse(files.get('model.json')!.toString());
    assert.equal(json.userDefinedMetadata.pretext.run_id, 'r-test');
    loaded.dispose();
    assert.equal(tf.memory().numTensors, before, 'no tensor leaked by the round trip');
  } finally {
    server.close();
    m.dispose();
  }
});

test('Embed in-process: rows of the split in blocks, and no tensor left behind', async () => {
  const m = await loadModel(runDir, 'best');
  try {
    const job = {
      kind: 'embed' as const,
      runDir,
      checkpoint: 'best' as const,
      backend: 'auto',
      dataDir: SHARED_DATASETS,
      allowDownload: false,
      source: { type: 'split' as const, dataset: '', split: 'test', offset: 5, limit: 70 },
      rowsPerBlock: 32,
    };
    const blocks: number[][] = [];
    let header: { dim: number; count: number } | undefined;
    const sink = {
      info: async (_m: unknown, dim: number, count: number) => {
        header = { dim, count };
      },
      rows: async (indices: Int32Array) => {
        blocks.push(Array.from(indices));
      },
    };
    await runEmbed(job, m, sink);
    const before = tf.memory().numTensors;
    blocks.length = 0;
    await runEmbed(job, m, sink);
    assert.equal(tf.memory().numTensors, before, 'tensor count flat across an Embed');
    assert.deepEqual(header, { dim: 16, count: 70 });
    assert.deepEqual(
      blocks.map((b) => b.length),
      [32, 32, 6],
    );
    assert.equal(blocks[0]![0], 5);
  } finally {
    m.dispose();
  }
});

test('ONNX export of a ResNet8 (batch norm, shortcuts, average pooling) equals tfjs within 1e-4', async () => {
  const net = buildNetwork(
    {
      architecture: 'resnet',
      depth: 8,
      width: 0,
      inputShape: [32, 32, 3],
      headUnits: 10,
      headName: 'classifier',
    },
    5,
  );
  try {
    // Batch-norm statistics far from their initial 0/1, so that the exported BN really matters.
    const weights = net.model.weights.map((w, i) =>
      tf.tidy(() => {
        const name = w.originalName;
        if (name.endsWith('moving_mean')) return tf.randomNormal(w.shape as number[], 0, 0.5, 'float32', i);
        if (name.endsWith('moving_variance'))
          return tf.randomUniform(w.shape as number[], 0.5, 2, 'float32', i);
        if (name.endsWith('gamma')) return tf.randomUniform(w.shape as number[], 0.5, 1.5, 'float32', i);
        if (name.endsWith('beta')) return tf.randomNormal(w.shape as number[], 0, 0.2, 'float32', i);
        return w.read().clone();
      }),
    );
    net.model.setWeights(weights);
    tf.dispose(weights);
    const model = tf.model({
      inputs: net.model.inputs,
      outputs: [net.backbone.outputs[0]!, net.model.outputs[0]!],
    });
    const bytes = toOnnx(model, {
      inputName: 'image',
      outputNames: ['features', 'probabilities'],
      producerVersion: 't',
    });
    const want = await tfjsOutputs(model, images);
    const got = await onnxOutputs(bytes, images, ['features', 'probabilities']);
    const diffs = want.map((w, i) => maxAbsDiff(w, got[i]!));
    console.log(`resnet8: max |onnx - tfjs| features ${diffs[0]}, probabilities ${diffs[1]}`);
    for (const d of diffs) assert.ok(d < 1e-4, `max abs difference ${d}`);
  } finally {
    net.model.dispose();
  }
});
