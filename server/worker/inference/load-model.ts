// A run's trained network, rebuilt from its checkpoint for inference: the backbone (every
// method), and for downstream runs the classifier on top of it.
import { stat } from 'node:fs/promises';
import path from 'node:path';
import type * as tf from '@tensorflow/tfjs';
import type { CheckpointWhich } from '../../shared/inference-protocol.js';
import { InferenceInputError } from '../../shared/inference-protocol.js';
import { assignWeights, disposeCheckpoint, findCheckpoint, loadCheckpoint } from '../engine/checkpoint.js';
import { checkpointDir } from '../engine/checkpoint-names.js';
import type { CheckpointState } from '../engine/trainer.js';
import type { MethodInfo } from '../methods/base.js';
import { buildBackboneFor, buildNetwork } from '../methods/network.js';

export interface LoadedModel {
  info: MethodInfo;
  checkpoint: CheckpointWhich;
  epoch: number;
  /** state.json's modification time: identifies this checkpoint's contents. */
  stampMs: number;
  backbone: tf.LayersModel;
  /** Backbone + softmax head, for downstream (supervised) runs only. */
  classifier?: tf.LayersModel;
  /** Per-pixel mean image (HWC, in [0, 1]) the network's inputs are centred with. */
  mean: Float32Array;
  dispose(): void;
}

/** Whether a checkpoint's head is a classifier of the dataset's classes (downstream runs). */
export function hasClassifier(info: MethodInfo): boolean {
  return info.method === 'supervised' && info.task === 'classification';
}

async function stampOf(dir: string): Promise<number> {
  return Math.floor((await stat(path.join(dir, 'state.json'))).mtimeMs);
}

export async function loadModel(runDir: string, which: CheckpointWhich): Promise<LoadedModel> {
  const wanted = checkpointDir(runDir, which);
  // A running run may replace `last` while we read it: retry until the stamp holds still.
  for (let attempt = 0; ; attempt++) {
    const dir = await findCheckpoint(wanted);
    if (!dir) throw new InferenceInputError(`the run has no ${which} checkpoint`, 'precondition');
    const before = await stampOf(dir).catch(() => -1);
    let ckpt: Awaited<ReturnType<typeof loadCheckpoint<CheckpointState>>>;
    try {
      ckpt = await loadCheckpoint<CheckpointState>(dir);
    } catch (err) {
      if (attempt < 3) continue;
      throw err;
    }
    const after = await stampOf(ckpt.dir).catch(() => -2);
    if (before !== after && attempt < 3) {
      disposeCheckpoint(ckpt);
      continue;
    }
    return build(ckpt, which, after);
  }
}

function build(
  ckpt: Awaited<ReturnType<typeof loadCheckpoint<CheckpointState>>>,
  which: CheckpointWhich,
  stampMs: number,
): LoadedModel {
  const { info, trainer } = ckpt.state;
  const mean = ckpt.arrays.mean;
  try {
    if (!(mean instanceof Float32Array)) throw new Error(`checkpoint ${ckpt.dir} has no mean image`);
    let backbone: tf.LayersModel;
    let classifier: tf.LayersModel | undefined;
    if (hasClassifier(info)) {
      const net = buildNetwork(info.network, info.seed);
      assignWeights(net.model, ckpt.weights);
      backbone = net.backbone;
      classifier = net.model;
    } else {
      backbone = buildBackboneFor(info.network, info.seed);
      backbone.setWeights(
        info.backboneWeights.map((i) => {
          const t = ckpt.weights[i];
          if (!t) throw new Error(`checkpoint ${ckpt.dir} has no weight #${i}`);
          return t;
        }),
      );
    }
    return {
      info,
      checkpoint: which,
      epoch: trainer.epoch,
      stampMs,
      backbone,
      classifier,
      mean,
      dispose() {
        // The classifier holds the backbone's layers: disposing it frees both.
        (classifier ?? backbone).dispose();
      },
    };
  } finally {
    disposeCheckpoint(ckpt);
  }
}

/** x/255 − mean for `n` uint8 HWC images at `pixels` (n·h·w·3 bytes). */
export function normalise(pixels: Uint8Array, mean: Float32Array, n: number): Float32Array {
  const pix = mean.length;
  const out = new Float32Array(n * pix);
  for (let i = 0; i < n; i++) {
    const o = i * pix;
    for (let p = 0; p < pix; p++) out[o + p] = pixels[o + p]! / 255 - mean[p]!;
  }
  return out;
}
