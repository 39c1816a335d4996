// Rebuilding a run's network from its checkpoint: one path for every method and every caller
// (SSL+SL's backbone, Evaluate, kNN evaluation). The checkpoint's MethodInfo says what to build.
import type * as tf from '@tensorflow/tfjs';
import { assignWeights } from '../engine/checkpoint.js';
import type { MethodInfo } from './base.js';
import { buildBackboneFor, buildNetwork, type Network } from './network.js';

/** The checkpoint's backbone alone, with its trained weights (the caller disposes it). */
export function restoreBackbone(info: MethodInfo, weights: tf.Tensor[]): tf.LayersModel {
  const backbone = buildBackboneFor(info.network, info.seed);
  try {
    backbone.setWeights(
      info.backboneWeights.map((i) => {
        const t = weights[i];
        if (!t) throw new Error(`the checkpoint has no weight #${i} (its backbone lists it)`);
        return t;
      }),
    );
  } catch (e) {
    backbone.dispose();
    throw e;
  }
  return backbone;
}

/** The checkpoint's whole network (backbone + head) with its trained weights. */
export function restoreNetwork(info: MethodInfo, weights: tf.Tensor[]): Network {
  const net = buildNetwork(info.network, info.seed);
  try {
    assignWeights(net.model, weights);
  } catch (e) {
    net.model.dispose();
    throw e;
  }
  return net;
}
