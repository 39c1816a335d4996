// ResNet v1 for CIFAR (REFERENCE.md §1) and the STL-10 small conv encoder (§2), in tfjs-layers.
// The backbone ends at the flattened pooled features; heads are separate so that a pretext head
// can be swapped for a classifier while the backbone's layer objects (and weights) are shared.
import * as tf from '@tensorflow/tfjs';
import { batchNormalization } from './batch-norm.js';
import { add, conv2d } from './lean-layers.js';

export interface BackboneOptions {
  /** 6n+2: 20, 32, 44, 56, ... */
  depth: number;
  /** [height, width, channels]; height and width multiples of 4. */
  inputShape: [number, number, number];
  /** Base seed of the he_normal initialisers; each layer gets seed + its index. */
  seed?: number;
}

const L2 = 1e-4;
// Keras BatchNormalization defaults, which the reference uses.
const BN_MOMENTUM = 0.99;
const BN_EPSILON = 1e-3;

/** Hands out one he_normal initialiser per layer, deterministic when a seed is given. */
function initialisers(seed: number | undefined): () => ReturnType<typeof tf.initializers.heNormal> {
  let next = 0;
  return () => {
    const layerSeed = seed === undefined ? undefined : seed + next++;
    return tf.initializers.heNormal(layerSeed === undefined ? {} : { seed: layerSeed });
  };
}

export function resnetDepthToBlocks(depth: number): number {
  if (!Number.isInteger(depth) || depth < 8 || (depth - 2) % 6 !== 0) {
    throw new Error(`ResNet v1 depth must be 6n+2 with n >= 1 (20, 32, 44, 56, ...), got ${depth}`);
  }
  return (depth - 2) / 6;
}

/** ResNet v1 backbone: stem, 3 stages × n blocks (16/32/64 filters), 8×8 average pool, flatten. */
export function buildBackbone(opts: BackboneOptions): tf.LayersModel {
  const n = resnetDepthToBlocks(opts.depth);
  const [h, w, c] = opts.inputShape;
  if (h % 4 !== 0 || w % 4 !== 0 || h < 32 || w < 32 || c < 1) {
    throw new Error(`input height and width must be multiples of 4 and at least 32, got ${opts.inputShape}`);
  }
  const init = initialisers(opts.seed);
  let convIndex = 0;
  let bnIndex = 0;

  // The reference's "resnet layer": conv (same padding, he_normal, L2) → optional BN → optional ReLU.
  const resnetLayer = (
    x: tf.SymbolicTensor,
    filters: number,
    o: { kernelSize?: number; strides?: number; activation?: boolean; batchNorm?: boolean } = {},
  ): tf.SymbolicTensor => {
    let y = conv2d({
      name: `conv2d_${convIndex++}`,
      filters,
      kernelSize: o.kernelSize ?? 3,
      strides: o.strides ?? 1,
      padding: 'same',
      kernelInitializer: init(),
      kernelRegularizer: tf.regularizers.l2({ l2: L2 }),
    }).apply(x) as tf.SymbolicTensor;
    if (o.batchNorm ?? true) {
      y = batchNormalization({
        name: `batch_norm_${bnIndex++}`,
        momentum: BN_MOMENTUM,
        epsilon: BN_EPSILON,
      }).apply(y) as tf.SymbolicTensor;
    }
    if (o.activation ?? true) y = tf.layers.activation({ activation: 'relu' }).apply(y) as tf.SymbolicTensor;
    return y;
  };

  const input = tf.input({ shape: opts.inputShape, name: 'image' });
  let x = resnetLayer(input, 16);
  let filters = 16;
  for (let stage = 0; stage < 3; stage++) {
    for (let block = 0; block < n; block++) {
      const downsample = stage > 0 && block === 0;
      const strides = downsample ? 2 : 1;
      let y = resnetLayer(x, filters, { strides });
      y = resnetLayer(y, filters, { activation: false });
      // Projection shortcut: 1×1 conv, stride 2, no BN, no activation.
      if (downsample)
        x = resnetLayer(x, filters, { kernelSize: 1, strides, activation: false, batchNorm: false });
      x = add().apply([x, y]) as tf.SymbolicTensor;
      x = tf.layers.activation({ activation: 'relu' }).apply(x) as tf.SymbolicTensor;
    }
    filters *= 2;
  }
  x = tf.layers.averagePooling2d({ poolSize: 8 }).apply(x) as tf.SymbolicTensor;
  const features = tf.layers.flatten({ name: 'features' }).apply(x) as tf.SymbolicTensor;
  return tf.model({ inputs: input, outputs: features, name: `resnet${opts.depth}_v1_backbone` });
}

/**
 * Backbone + a fresh Dense(numClasses, softmax, he_normal). The new model is built on the
 * backbone's own symbolic tensors, so it holds the very same layer objects: weights are shared,
 * and `backbone.trainable = false` freezes them in the classifier too (linear probe).
 */
export function buildClassifier(
  backbone: tf.LayersModel,
  numClasses: number,
  opts: { seed?: number; name?: string } = {},
): tf.LayersModel {
  if (!Number.isInteger(numClasses) || numClasses < 1)
    throw new Error(`numClasses must be >= 1, got ${numClasses}`);
  const features = backbone.outputs[0];
  if (!features || backbone.outputs.length !== 1)
    throw new Error('the backbone must have exactly one output');
  const head = tf.layers.dense({
    name: `${opts.name ?? 'head'}_dense`,
    units: numClasses,
    activation: 'softmax',
    kernelInitializer: tf.initializers.heNormal(opts.seed === undefined ? {} : { seed: opts.seed }),
  });
  const out = head.apply(features) as tf.SymbolicTensor;
  return tf.model({
    inputs: backbone.inputs,
    outputs: out,
    name: opts.name ?? `${backbone.name}_classifier`,
  });
}

/**
 * The reference's STL-10 encoder (Keras SimCLR/NNCLR example): four stride-2 Conv(width, 3×3,
 * relu, valid padding) → Flatten → Dense(width, relu).
 */
export function buildSmallConvEncoder(opts: {
  inputShape: [number, number, number];
  width?: number;
  seed?: number;
}): tf.LayersModel {
  const width = opts.width ?? 128;
  const init = initialisers(opts.seed);
  const input = tf.input({ shape: opts.inputShape, name: 'image' });
  let x: tf.SymbolicTensor = input;
  for (let i = 0; i < 4; i++) {
    x = conv2d({
      filters: width,
      kernelSize: 3,
      strides: 2,
      activation: 'relu',
      kernelInitializer: init(),
    }).apply(x) as tf.SymbolicTensor;
  }
  x = tf.layers.flatten().apply(x) as tf.SymbolicTensor;
  const features = tf.layers
    .dense({ name: 'features', units: width, activation: 'relu', kernelInitializer: init() })
    .apply(x) as tf.SymbolicTensor;
  return tf.model({ inputs: input, outputs: features, name: 'small_conv_encoder' });
}
