// Checkpoints on the local file system, readable on any tfjs backend (tfjs' own `file://`
// handler exists only in tfjs-node). A checkpoint is a directory:
//   model.json + weights.bin   the network, in tfjs' layers-model format (tf.loadLayersModel works)
//   state.bin + state.json     optimizer slots and method arrays (mean image, split indices),
//                              then the trainer's and the method's JSON state
// Every file is written to a temporary name, fsynced and renamed; a whole checkpoint is built in
// `<name>.tmp/` and swapped in with two renames, so a crash at any point leaves either the old
// or the new checkpoint complete (readers fall back to `<name>.old/` for the one gap). A write
// that fails (ENOSPC when the disk fills) removes what it staged, so a full disk leaves the
// previous checkpoint and no partial file behind.
import { closeSync, fsyncSync, openSync, writeSync } from 'node:fs';
import { mkdir, readFile, rename, rm, stat } from 'node:fs/promises';
import path from 'node:path';
import * as tf from '@tensorflow/tfjs';

const MODEL_JSON = 'model.json';
const WEIGHTS_BIN = 'weights.bin';
const STATE_JSON = 'state.json';
const STATE_BIN = 'state.bin';

function fsyncPath(p: string): void {
  const fd = openSync(p, 'r');
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

/** Writes `data` to `file` so that readers see the old content or the whole new one. */
export async function writeFileAtomic(file: string, data: Uint8Array | string): Promise<void> {
  const tmp = `${file}.tmp-${process.pid}`;
  const bytes = typeof data === 'string' ? Buffer.from(data, 'utf8') : data;
  try {
    const fd = openSync(tmp, 'w');
    try {
      let done = 0;
      while (done < bytes.byteLength) done += writeSync(fd, bytes, done, bytes.byteLength - done);
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    await rename(tmp, file);
  } catch (err) {
    await rm(tmp, { force: true });
    throw err;
  }
  fsyncPath(path.dirname(file));
}

function joinWeightData(data: tf.io.WeightData | undefined): ArrayBuffer {
  if (data === undefined) return new ArrayBuffer(0);
  return tf.io.CompositeArrayBuffer.join(data);
}

/** A tfjs IOHandler for a directory: `model.save(fileHandler(dir))`, `tf.loadLayersModel(fileHandler(dir))`. */
export function fileHandler(dir: string): Required<Pick<tf.io.IOHandler, 'save' | 'load'>> {
  return {
    async save(artifacts: tf.io.ModelArtifacts): Promise<tf.io.SaveResult> {
      await mkdir(dir, { recursive: true });
      const weights = new Uint8Array(joinWeightData(artifacts.weightData));
      const json: tf.io.ModelJSON = {
        modelTopology: artifacts.modelTopology ?? {},
        format: artifacts.format ?? 'layers-model',
        generatedBy: artifacts.generatedBy ?? `TensorFlow.js tfjs-layers v${tf.version_layers}`,
        convertedBy: artifacts.convertedBy ?? null,
        weightsManifest: [{ paths: [`./${WEIGHTS_BIN}`], weights: artifacts.weightSpecs ?? [] }],
      };
      if (artifacts.userDefinedMetadata) json.userDefinedMetadata = artifacts.userDefinedMetadata;
      // Weights first: a model.json never names a weights file older than itself.
      await writeFileAtomic(path.join(dir, WEIGHTS_BIN), weights);
      await writeFileAtomic(path.join(dir, MODEL_JSON), JSON.stringify(json));
      return { modelArtifactsInfo: tf.io.getModelArtifactsInfoForJSON(artifacts) };
    },
    async load(): Promise<tf.io.ModelArtifacts> {
      const json = JSON.parse(await readFile(path.join(dir, MODEL_JSON), 'utf8')) as tf.io.ModelJSON;
      const specs: tf.io.WeightsManifestEntry[] = [];
      const buffers: ArrayBuffer[] = [];
      for (const group of json.weightsManifest) {
        specs.push(...group.weights);
        for (const p of group.paths) {
          const b = await readFile(path.join(dir, p));
          buffers.push(b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength) as ArrayBuffer);
        }
      }
      return {
        modelTopology: json.modelTopology,
        format: json.format,
        generatedBy: json.generatedBy,
        convertedBy: json.convertedBy,
        weightSpecs: specs,
        weightData: tf.io.concatenateArrayBuffers(buffers),
        userDefinedMetadata: json.userDefinedMetadata,
      };
    },
  };
}

export type ArrayEntry = Float32Array | Int32Array;

/** What `optimizer.getWeights()` returns. */
export interface NamedTensor {
  name: string;
  tensor: tf.Tensor;
}

interface ArraySpec {
  name: string;
  dtype: 'float32' | 'int32';
  shape: number[];
  /** Offset in state.bin, bytes. */
  offset: number;
  length: number;
}

/** What a checkpoint holds beside the model: JSON state plus named numeric arrays. */
export interface CheckpointPayload<S> {
  state: S;
  /** Optimizer slots as `optimizer.getWeights()` gives them. */
  optimizer: NamedTensor[];
  /** Method arrays (mean image, split indices, fixed rotation labels...). */
  arrays: Record<string, ArrayEntry>;
}

export interface LoadedCheckpoint<S> {
  dir: string;
  state: S;
  /** The model's weights in `model.weights` order (the caller disposes them). */
  weights: tf.Tensor[];
  weightNames: string[];
  /** Optimizer slots (the caller hands them to `optimizer.setWeights` or disposes them). */
  optimizer: NamedTensor[];
  arrays: Record<string, ArrayEntry>;
}

async function exists(p: string): Promise<boolean> {
  try {
    await stat(p);
    return true;
  } catch {
    return false;
  }
}

async function encodeState<S>(payload: CheckpointPayload<S>): Promise<{ json: string; bin: Uint8Array }> {
  const parts: Uint8Array[] = [];
  const specs: { optimizer: ArraySpec[]; arrays: ArraySpec[] } = { optimizer: [], arrays: [] };
  let offset = 0;
  const push = (list: ArraySpec[], name: string, shape: number[], data: ArrayEntry) => {
    const dtype = data instanceof Int32Array ? 'int32' : 'float32';
    list.push({ name, dtype, shape, offset, length: data.length });
    parts.push(new Uint8Array(data.buffer, data.byteOffset, data.byteLength));
    offset += data.byteLength;
  };
  for (const { name, tensor } of payload.optimizer) {
    const data = await tensor.data();
    if (!(data instanceof Float32Array || data instanceof Int32Array)) {
      throw new Error(`optimizer slot ${name} has unsupported dtype ${tensor.dtype}`);
    }
    push(specs.optimizer, name, tensor.shape, data);
  }
  for (const [name, data] of Object.entries(payload.arrays)) push(specs.arrays, name, [data.length], data);
  const bin = new Uint8Array(offset);
  let at = 0;
  for (const p of parts) {
    bin.set(p, at);
    at += p.byteLength;
  }
  return { json: JSON.stringify({ version: 1, specs, state: payload.state }), bin };
}

function readArray(bin: Buffer, s: ArraySpec): ArrayEntry {
  // Copy: Buffer slices may be unaligned for typed-array views.
  const bytes = new Uint8Array(bin.subarray(s.offset, s.offset + s.length * 4));
  return s.dtype === 'int32' ? new Int32Array(bytes.buffer) : new Float32Array(bytes.buffer);
}

/**
 * Writes a complete checkpoint to `dir` (e.g. `<runDir>/checkpoints/last`), replacing the one
 * there only once the new one is on disk.
 */
export async function saveCheckpoint<S>(
  dir: string,
  model: tf.LayersModel,
  payload: CheckpointPayload<S>,
): Promise<void> {
  const stage = `${dir}.tmp`;
  const old = `${dir}.old`;
  await rm(stage, { recursive: true, force: true });
  try {
    await mkdir(stage, { recursive: true });
    await model.save(fileHandler(stage));
    const { json, bin } = await encodeState(payload);
    await writeFileAtomic(path.join(stage, STATE_BIN), bin);
    await writeFileAtomic(path.join(stage, STATE_JSON), json);
    fsyncPath(stage);
  } catch (err) {
    // Nothing was swapped yet: `dir` still holds the previous checkpoint whole.
    await rm(stage, { recursive: true, force: true });
    throw err;
  }
  // A leftover `.old` is stale only when `dir` itself is complete.
  if (await exists(path.join(dir, STATE_JSON))) await rm(old, { recursive: true, force: true });
  if (await exists(dir)) await rename(dir, old);
  await rename(stage, dir);
  fsyncPath(path.dirname(dir));
  await rm(old, { recursive: true, force: true });
}

/** The directory holding the complete checkpoint `dir`, or undefined when there is none. */
export async function findCheckpoint(dir: string): Promise<string | undefined> {
  for (const d of [dir, `${dir}.old`]) if (await exists(path.join(d, STATE_JSON))) return d;
  return undefined;
}

export async function loadCheckpoint<S>(dir: string): Promise<LoadedCheckpoint<S>> {
  const found = await findCheckpoint(dir);
  if (!found) throw new Error(`no checkpoint at ${dir}`);
  const parsed = JSON.parse(await readFile(path.join(found, STATE_JSON), 'utf8')) as {
    specs: { optimizer: ArraySpec[]; arrays: ArraySpec[] };
    state: S;
  };
  const bin = await readFile(path.join(found, STATE_BIN));
  const artifacts = await fileHandler(found).load();
  const specs = artifacts.weightSpecs ?? [];
  const named = tf.io.decodeWeights(joinWeightData(artifacts.weightData), specs);
  const weights = specs.map((s) => {
    const t = named[s.name];
    if (!t) throw new Error(`checkpoint ${found}: weight ${s.name} missing`);
    return t;
  });
  const optimizer = parsed.specs.optimizer.map((s) => ({
    name: s.name,
    tensor: tf.tensor(readArray(bin, s), s.shape, s.dtype),
  }));
  const arrays: Record<string, ArrayEntry> = {};
  for (const s of parsed.specs.arrays) arrays[s.name] = readArray(bin, s);
  return {
    dir: found,
    state: parsed.state,
    weights,
    weightNames: specs.map((s) => s.name),
    optimizer,
    arrays,
  };
}

/** Copies checkpoint weights into `model` (same architecture; positions and shapes must match). */
export function assignWeights(model: tf.LayersModel, weights: tf.Tensor[]): void {
  const vars = model.weights;
  if (vars.length !== weights.length) {
    throw new Error(`checkpoint has ${weights.length} weights, the model ${vars.length}`);
  }
  vars.forEach((v, i) => {
    const w = weights[i]!;
    if (!tf.util.arraysEqual(v.shape as number[], w.shape)) {
      throw new Error(`weight ${v.originalName}: checkpoint shape ${w.shape}, model shape ${v.shape}`);
    }
  });
  model.setWeights(weights);
}

export function disposeCheckpoint<S>(c: LoadedCheckpoint<S>): void {
  tf.dispose(c.weights);
  tf.dispose(c.optimizer.map((o) => o.tensor));
}
