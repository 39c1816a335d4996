// Models out: the formats, limits and rules of ExportModel, Embed and Predict, defined once here.
// The RPC handlers validate against these and the CLI's help text quotes them.

/** Export formats: an ONNX graph (opset 13) or a TensorFlow.js LayersModel (model.json + shards). */
export const EXPORT_FORMATS = ['onnx', 'tfjs'] as const;
export type ExportFormat = (typeof EXPORT_FORMATS)[number];

export function isExportFormat(s: string): s is ExportFormat {
  return (EXPORT_FORMATS as readonly string[]).includes(s);
}

/** ONNX opset the exporter writes (Softmax over the last axis, as tfjs). */
export const ONNX_OPSET = 13;

/** Bytes per ExportModel chunk. */
export const EXPORT_CHUNK_BYTES = 256 * 1024;

/** tfjs weight shard size (what tfjs' own converter writes: 4 MiB per `groupN-shardKofM.bin`). */
export const TFJS_SHARD_BYTES = 4 * 1024 * 1024;

/** Images one Embed or Predict call may carry (more: RESOURCE_EXHAUSTED). */
export const MAX_IMAGES_PER_CALL = 256;

/** Encoded bytes of one image, and of all images of one call. */
export const MAX_IMAGE_BYTES = 8 * 1024 * 1024;
export const MAX_IMAGE_BYTES_PER_CALL = 48 * 1024 * 1024;

/** The gRPC message size the daemon accepts (a full Predict call plus framing). */
export const MAX_REQUEST_MESSAGE_BYTES = MAX_IMAGE_BYTES_PER_CALL + 1024 * 1024;

/** Predict's top-k: default and maximum (at most the number of classes is returned). */
export const DEFAULT_TOP_K = 5;
export const MAX_TOP_K = 100;

/** Dataset splits Embed reads. */
export const EMBED_SPLITS = ['train', 'test', 'unlabeled'] as const;
export type EmbedSplit = (typeof EMBED_SPLITS)[number];

/** Rows per Embed response message. */
export const EMBED_ROWS_PER_CHUNK = 256;

/**
 * Embed, Predict and exports run in worker processes of their own, in a slot beside the training
 * slots (training never waits for them, nor they for training); this many at once, and this many
 * waiting, beyond which a call gets RESOURCE_EXHAUSTED.
 */
export const INFERENCE_SLOTS = 1;
export const MAX_WAITING_INFERENCE = 16;

/**
 * A stream the client stops reading: after this long without the client taking data, the daemon
 * ends the call and frees the worker.
 */
export const STALLED_STREAM_MS = 60_000;

/** Client images of another size are resized (centre crop to the aspect ratio, then scaled). */
export const IMAGE_RESIZE_RULE =
  'images of another size are resized to the network input: centre-cropped to its aspect ratio, then scaled (Lanczos)';

/** Image containers Embed and Predict decode. */
export const IMAGE_FORMATS = ['png', 'jpeg', 'webp'] as const;

/** The container of encoded image bytes by their signature, or undefined for anything else. */
export function sniffImage(bytes: Uint8Array): (typeof IMAGE_FORMATS)[number] | undefined {
  const b = bytes;
  if (b.length >= 8 && b[0] === 0x89 && b[1] === 0x50 && b[2] === 0x4e && b[3] === 0x47) return 'png';
  if (b.length >= 3 && b[0] === 0xff && b[1] === 0xd8 && b[2] === 0xff) return 'jpeg';
  if (
    b.length >= 12 &&
    String.fromCharCode(b[0]!, b[1]!, b[2]!, b[3]!) === 'RIFF' &&
    String.fromCharCode(b[8]!, b[9]!, b[10]!, b[11]!) === 'WEBP'
  )
    return 'webp';
  return undefined;
}

/** Names of the files inside an export archive. */
export const EXPORT_FILES = {
  metadata: 'metadata.json',
  onnx: 'model.onnx',
  tfjsModel: 'model.json',
} as const;

/** The metadata file that comes with both formats. */
export interface ExportMetadata {
  format: ExportFormat;
  run_id: string;
  run_state: string;
  method: string;
  kind: string;
  dataset: string;
  checkpoint: 'best' | 'last';
  /** True when the run was still training: the `last` checkpoint of an unfinished run. */
  in_progress: boolean;
  epoch: number;
  /** [height, width, channels], NHWC. */
  input_shape: [number, number, number];
  input_name: string;
  /** Outputs in order: "features" (backbone), then "probabilities" for downstream runs. */
  outputs: Array<{ name: string; shape: Array<number | null> }>;
  normalization: {
    /** What the model expects: pixel / 255 minus the per-pixel mean image below. */
    formula: string;
    /** The mean image, [height, width, 3] row-major (HWC), in [0, 1]. */
    mean: number[];
  };
  /** The classifier's classes (downstream runs), else the dataset's (to label embeddings). */
  class_names: string[];
  code_revision: string;
  data_checksum: string;
  architecture: string;
  exported_by: string;
  onnx_opset?: number;
}
