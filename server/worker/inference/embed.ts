// Embed and Predict: a trained backbone's features of a dataset split or of client images, and
// a downstream classifier's top-k classes. Rows go out in blocks through `send`, which resolves
// once the daemon has room for more.
import * as tf from '@tensorflow/tfjs';
import { resolveDataset } from '../../shared/data/registry.js';
import type { Split } from '../../shared/data/types.js';
import {
  type InferenceJob,
  InferenceInputError,
  type ModelFacts,
  type PredictDone,
} from '../../shared/inference-protocol.js';
import { decodeImages } from './images.js';
import { type LoadedModel, normalise } from './load-model.js';

type EmbedJob = Extract<InferenceJob, { kind: 'embed' }>;
type PredictJob = Extract<InferenceJob, { kind: 'predict' }>;

export interface EmbedSink {
  info(model: ModelFacts, dim: number, count: number): Promise<void>;
  rows(indices: Int32Array, labels: Int32Array, embeddings: Float32Array): Promise<void>;
}

export function modelFacts(m: LoadedModel, classNames: string[]): ModelFacts {
  return { checkpoint: m.checkpoint, epoch: m.epoch, inputShape: m.info.network.inputShape, classNames };
}

/** Backbone features (inference mode) of `n` normalised images. */
async function features(backbone: tf.LayersModel, x: Float32Array, n: number, shape: number[]) {
  const out = tf.tidy(
    () => backbone.predict(tf.tensor4d(x, [n, shape[0]!, shape[1]!, shape[2]!])) as tf.Tensor,
  );
  const data = (await out.data()) as Float32Array;
  out.dispose();
  return data;
}

export async function runEmbed(job: EmbedJob, m: LoadedModel, sink: EmbedSink): Promise<void> {
  const [h, w] = m.info.network.inputShape;
  const shape = m.info.network.inputShape;
  const pix = h * w * 3;
  const dim = m.backbone.outputs[0]!.shape[1] as number;
  const block = Math.max(1, job.rowsPerBlock);
  if (job.source.type === 'images') {
    const images = job.source.images;
    const pixels = await decodeImages(images, h, w);
    await sink.info(modelFacts(m, []), dim, images.length);
    for (let s = 0; s < images.length; s += block) {
      const n = Math.min(block, images.length - s);
      const x = normalise(pixels.subarray(s * pix, (s + n) * pix), m.mean, n);
      const f = await features(m.backbone, x, n, shape);
      await sink.rows(
        Int32Array.from({ length: n }, (_, i) => s + i),
        new Int32Array(n).fill(-1),
        f,
      );
    }
    return;
  }
  const src = job.source;
  const name = src.dataset || m.info.dataset;
  const handle = await resolveDataset(name, {
    dataDir: job.dataDir,
    datasetsDir: job.datasetsDir,
    allowDownload: job.allowDownload,
  });
  const split = src.split as Split;
  if (!handle.hasSplit(split))
    throw new InferenceInputError(`dataset ${name} has no ${split} split in ${handle.dir}`, 'precondition');
  if (handle.height !== h || handle.width !== w) {
    throw new InferenceInputError(
      `dataset ${name} has ${handle.height}×${handle.width} images; the network takes ${h}×${w}`,
      'precondition',
    );
  }
  const total = handle.count(split);
  if (src.offset >= total && total > 0)
    throw new InferenceInputError(
      `offset ${src.offset} is past the ${total} images of ${name} ${split}`,
      'badInput',
    );
  const end = src.limit > 0 ? Math.min(total, src.offset + src.limit) : total;
  const set = await handle.load(split, { limit: end });
  const count = Math.max(0, end - src.offset);
  await sink.info(modelFacts(m, handle.classNames), dim, count);
  for (let s = src.offset; s < end; s += block) {
    const n = Math.min(block, end - s);
    const x = normalise(set.images.subarray(s * pix, (s + n) * pix), m.mean, n);
    const f = await features(m.backbone, x, n, shape);
    const labels = Int32Array.from(set.labels.subarray(s, s + n), (l) => (l === 255 ? -1 : l));
    await sink.rows(
      Int32Array.from({ length: n }, (_, i) => s + i),
      labels,
      f,
    );
  }
}

export async function runPredict(job: PredictJob, m: LoadedModel): Promise<PredictDone> {
  if (!m.classifier) {
    throw new InferenceInputError(
      `a ${m.info.method} run has no classifier head; Predict needs a downstream run (Embed works on any run)`,
      'precondition',
    );
  }
  const [h, w] = m.info.network.inputShape;
  const n = job.images.length;
  const pixels = await decodeImages(job.images, h, w);
  const x = normalise(pixels, m.mean, n);
  const k = Math.min(job.topK, m.info.network.headUnits);
  const probs = tf.tidy(() => m.classifier!.predict(tf.tensor4d(x, [n, h, w, 3])) as tf.Tensor2D);
  const { values, indices } = tf.topk(probs, k);
  const [v, idx] = await Promise.all([values.data(), indices.data()]);
  tf.dispose([probs, values, indices]);
  const top = Array.from({ length: n }, (_, i) =>
    Array.from({ length: k }, (_, j) => ({ index: idx[i * k + j]!, probability: v[i * k + j]! })),
  );
  return { model: modelFacts(m, m.info.classNames), top };
}
