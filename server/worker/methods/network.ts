// Builds a run's network from a plain spec, so that a checkpoint (which stores the spec) can be
// rebuilt in another process and on another backend.
import type * as tf from '@tensorflow/tfjs';
import { buildBackbone, buildClassifier, buildSmallConvEncoder } from '../models/resnet.js';

export interface NetworkSpec {
  /** "resnet" or "small_conv". */
  architecture: string;
  /** ResNet depth (6n+2); 0 for small_conv. */
  depth: number;
  /** small_conv width; 0 for resnet. */
  width: number;
  inputShape: [number, number, number];
  /** Output units of the softmax head and its layer-name prefix. */
  headUnits: number;
  headName: string;
}

export interface Network {
  backbone: tf.LayersModel;
  model: tf.LayersModel;
}

/**
 * Reads the proto's `architecture` + `depth`. Besides "resnet" and "small_conv" (width 128, the
 * reference's STL-10 encoder), "small_conv_<width>" picks a narrower encoder for quick runs.
 */
export function parseArchitecture(
  architecture: string,
  depth: number,
): { architecture: string; depth: number; width: number } {
  const arch = architecture || 'resnet';
  if (arch === 'resnet') return { architecture: 'resnet', depth: depth || 20, width: 0 };
  const m = /^small_conv(?:_(\d+))?$/.exec(arch);
  if (m) {
    const width = m[1] ? Number(m[1]) : 128;
    if (!(width >= 1 && width <= 1024)) throw new Error(`small_conv width must be in 1..1024, got ${width}`);
    return { architecture: 'small_conv', depth: 0, width };
  }
  throw new Error(`unknown architecture "${arch}" (resnet, small_conv or small_conv_<width>)`);
}

export function buildBackboneFor(spec: NetworkSpec, seed: number): tf.LayersModel {
  if (spec.architecture === 'resnet')
    return buildBackbone({ depth: spec.depth, inputShape: spec.inputShape, seed });
  if (spec.architecture === 'small_conv') {
    return buildSmallConvEncoder({ inputShape: spec.inputShape, width: spec.width, seed });
  }
  throw new Error(`unknown architecture "${spec.architecture}"`);
}

/** Backbone + a fresh softmax head (seeded apart from the backbone). */
export function buildNetwork(spec: NetworkSpec, seed: number, backbone?: tf.LayersModel): Network {
  const bb = backbone ?? buildBackboneFor(spec, seed);
  const model = buildClassifier(bb, spec.headUnits, { seed: (seed + 7919) >>> 0, name: spec.headName });
  return { backbone: bb, model };
}

/** Positions of the backbone's weights inside the model's weight list. */
export function backboneWeightIndices(net: Network): number[] {
  const all = net.model.weights;
  return net.backbone.weights.map((w) => {
    const i = all.indexOf(w);
    if (i < 0) throw new Error(`backbone weight ${w.originalName} is not part of the model`);
    return i;
  });
}
