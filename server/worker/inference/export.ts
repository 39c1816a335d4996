// The export job: a run's checkpoint as an ONNX graph or a TensorFlow.js LayersModel, each with
// metadata.json, packed in one tar archive under the run's exports/ folder.
import { mkdir, readdir, rm } from 'node:fs/promises';
import path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import {
  EXPORT_FILES,
  type ExportMetadata,
  ONNX_OPSET,
  TFJS_SHARD_BYTES,
} from '../../shared/contract/models-out.js';
import { type ExportDone, exportFileName, type InferenceJob } from '../../shared/inference-protocol.js';
import { resolveDataset } from '../../shared/data/registry.js';
import { VERSION } from '../../shared/version.js';
import { writeFileAtomic } from '../engine/checkpoint.js';
import { type ArchiveFile, sha256Hex, tarArchive } from './archive.js';
import type { LoadedModel } from './load-model.js';
import { toOnnx } from './onnx.js';

type ExportJob = Extract<InferenceJob, { kind: 'export' }>;

export const INPUT_NAME = 'image';

/** The exported network: backbone features, plus class probabilities for downstream runs. */
export function exportModel(m: LoadedModel): { model: tf.LayersModel; outputNames: string[] } {
  if (!m.classifier) return { model: m.backbone, outputNames: ['features'] };
  const model = tf.model({
    inputs: m.classifier.inputs,
    outputs: [m.backbone.outputs[0]!, m.classifier.outputs[0]!],
    name: `${m.info.method}_export`,
  });
  return { model, outputNames: ['features', 'probabilities'] };
}

/** model.json and weight shards of `groupN-shardKofM.bin`, as tfjs' converter writes them. */
export async function tfjsFiles(model: tf.LayersModel, metadata: object): Promise<ArchiveFile[]> {
  let artifacts: tf.io.ModelArtifacts | undefined;
  await model.save(
    tf.io.withSaveHandler(async (a) => {
      artifacts = a;
      return { modelArtifactsInfo: tf.io.getModelArtifactsInfoForJSON(a) };
    }),
  );
  if (!artifacts) throw new Error('tfjs did not hand over the model artifacts');
  const weights = new Uint8Array(tf.io.CompositeArrayBuffer.join(artifacts.weightData ?? new ArrayBuffer(0)));
  const shards = Math.max(1, Math.ceil(weights.byteLength / TFJS_SHARD_BYTES));
  const files: ArchiveFile[] = [];
  const paths: string[] = [];
  for (let i = 0; i < shards; i++) {
    const name = `group1-shard${i + 1}of${shards}.bin`;
    paths.push(name);
    files.push({ name, data: weights.subarray(i * TFJS_SHARD_BYTES, (i + 1) * TFJS_SHARD_BYTES) });
  }
  const json: tf.io.ModelJSON = {
    modelTopology: artifacts.modelTopology ?? {},
    format: 'layers-model',
    generatedBy: `TensorFlow.js tfjs-layers v${tf.version_layers}`,
    convertedBy: `pretext ${VERSION}`,
    weightsManifest: [{ paths, weights: artifacts.weightSpecs ?? [] }],
    userDefinedMetadata: { pretext: metadata },
  };
  return [{ name: EXPORT_FILES.tfjsModel, data: new TextEncoder().encode(JSON.stringify(json)) }, ...files];
}

/** The dataset's class names from its files (no download); empty when they cannot be read. */
async function datasetClassNames(name: string, dataDir: string, datasetsDir?: string): Promise<string[]> {
  try {
    return (await resolveDataset(name, { dataDir, datasetsDir, allowDownload: false })).classNames;
  } catch {
    return [];
  }
}

export function buildMetadata(
  job: ExportJob,
  m: LoadedModel,
  outputs: tf.SymbolicTensor[],
  names: string[],
  classNames: string[],
) {
  const { info } = m;
  const [h, w] = info.network.inputShape;
  const metadata: ExportMetadata = {
    format: job.format,
    ...job.metadata,
    method: info.method,
    dataset: info.dataset,
    checkpoint: m.checkpoint,
    epoch: m.epoch,
    input_shape: info.network.inputShape,
    input_name: INPUT_NAME,
    outputs: outputs.map((t, i) => ({ name: names[i]!, shape: t.shape })),
    normalization: {
      formula: `input[n, y, x, c] = pixel[y, x, c] / 255 - mean[y, x, c] (RGB, ${h}×${w}, NHWC float32)`,
      mean: Array.from(m.mean, (v) => Math.fround(v)),
    },
    class_names: classNames,
    architecture:
      info.network.architecture === 'resnet'
        ? `resnet${info.network.depth}_v1`
        : info.network.architecture === 'resnet18'
          ? 'resnet18'
          : `small_conv_${info.network.width}`,
    exported_by: `pretext ${VERSION}`,
  };
  if (job.format === 'onnx') metadata.onnx_opset = ONNX_OPSET;
  return metadata;
}

export async function runExport(job: ExportJob, m: LoadedModel): Promise<ExportDone> {
  const { model, outputNames } = exportModel(m);
  const classNames = m.classifier
    ? m.info.classNames
    : await datasetClassNames(m.info.dataset, job.dataDir, job.datasetsDir);
  const metadata = buildMetadata(job, m, model.outputs, outputNames, classNames);
  const files: ArchiveFile[] =
    job.format === 'onnx'
      ? [
          {
            name: EXPORT_FILES.onnx,
            data: toOnnx(model, {
              inputName: INPUT_NAME,
              outputNames,
              producerVersion: VERSION,
              docString: `pretext run ${job.metadata.run_id} (${m.info.method}, ${m.checkpoint} checkpoint, epoch ${m.epoch})`,
              metadata: { run_id: job.metadata.run_id, checkpoint: m.checkpoint, epoch: String(m.epoch) },
            }),
          },
        ]
      : await tfjsFiles(model, metadata);
  files.push({
    name: EXPORT_FILES.metadata,
    data: new TextEncoder().encode(`${JSON.stringify(metadata, null, 2)}\n`),
  });
  const archive = await tarArchive(files, new Date(Math.floor(m.stampMs / 1000) * 1000));
  const sha256 = sha256Hex(archive);
  await mkdir(job.exportDir, { recursive: true });
  const prefix = `${m.checkpoint}-${job.format}-`;
  const file = path.join(job.exportDir, exportFileName(m.checkpoint, job.format, m.stampMs, job.metadata));
  await writeFileAtomic(file, archive);
  // The daemon serves a cached archive with this sidecar's hash (no hashing on its event loop).
  await writeFileAtomic(`${file}.json`, JSON.stringify({ epoch: m.epoch, files: files.map((f) => f.name) }));
  await writeFileAtomic(`${file}.sha256`, sha256);
  // Older exports of the same checkpoint and format are stale now.
  for (const f of await readdir(job.exportDir)) {
    const full = path.join(job.exportDir, f);
    if (f.startsWith(prefix) && !full.startsWith(file)) await rm(full, { force: true });
  }
  return { file, bytes: archive.byteLength, sha256, epoch: m.epoch, files: files.map((f) => f.name) };
}
