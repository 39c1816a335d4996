// Builds a run's network from a plain spec, so that a checkpoint (which stores the spec) can be
// rebuilt in another process and on another backend.
import type * as tf from '@tensorflow/tfjs';
import { parseArchitecture } from '../../shared/contract/catalog.js';
import { buildBackbone, buildClassifier, buildSmallConvEncoder } from '../models/resnet.js';
import { buildResNet18 } from '../models/resnet18.js';

export interface NetworkSpec {
  /** "resnet", "small_conv" or "resnet18". */
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

/** The backbone of a stored (resolved) config's `architecture` + `depth`, as a network spec's fields. */
export function backboneOf(
  architecture: string,
  depth: number,
): { architecture: string; depth: number; width: number } {
  const parsed = parseArchitecture(architecture, depth);
  if (!parsed) throw new Error(`architecture ${JSON.stringify(architecture)} is not in the catalog`);
  return parsed;
}

export function buildBackboneFor(spec: NetworkSpec, seed: number): tf.LayersModel {
  if (spec.architecture === 'resnet')
    return buildBackbone({ depth: spec.depth, inputShape: spec.inputShape, seed });
  if (spec.architecture === 'resnet18') return buildResNet18({ inputShape: spec.inputShape, seed });
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
