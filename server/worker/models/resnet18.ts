// ResNet-18 (He et al. 2016; torchvision's layout), the usual SSL backbone in the literature,
// for inputs of 64–224 px: a 7×7 stride-2 stem and a 3×3 stride-2 max pool, four stages of two
// basic blocks (64, 128, 256, 512 filters; stride 2 and a 1×1 projection at the start of stages
// 2–4), global average pooling → 512 features. BN after every conv, ReLU after the sum.
import * as tf from '@tensorflow/tfjs';
import { batchNormalization } from './batch-norm.js';
import { add, conv2d } from './lean-layers.js';

// torchvision's BatchNorm2d defaults (momentum 0.1 there = 0.9 here).
const BN_MOMENTUM = 0.9;
const BN_EPSILON = 1e-5;

export function buildResNet18(opts: { inputShape: [number, number, number]; seed?: number }): tf.LayersModel {
  const [h, w] = opts.inputShape;
  if (h < 32 || w < 32) throw new Error(`ResNet-18 takes images of at least 32 px, got ${opts.inputShape}`);
  let seed = opts.seed;
  const init = () => tf.initializers.heNormal(seed === undefined ? {} : { seed: seed++ });
  let conv = 0;
  let bn = 0;
  const convBn = (
    x: tf.SymbolicTensor,
    filters: number,
    kernelSize: number,
    strides: number,
    relu: boolean,
  ) => {
    let y = conv2d({
      name: `r18_conv_${conv++}`,
      filters,
      kernelSize,
      strides,
      padding: 'same',
      useBias: false,
      kernelInitializer: init(),
    }).apply(x) as tf.SymbolicTensor;
    y = batchNormalization({ name: `r18_bn_${bn++}`, momentum: BN_MOMENTUM, epsilon: BN_EPSILON }).apply(
      y,
    ) as tf.SymbolicTensor;
    return relu ? (tf.layers.activation({ activation: 'relu' }).apply(y) as tf.SymbolicTensor) : y;
  };
  const input = tf.input({ shape: opts.inputShape, name: 'image' });
  let x = convBn(input, 64, 7, 2, true);
  x = tf.layers.maxPooling2d({ poolSize: 3, strides: 2, padding: 'same' }).apply(x) as tf.SymbolicTensor;
  let filters = 64;
  for (let stage = 0; stage < 4; stage++) {
    for (let block = 0; block < 2; block++) {
      const strides = stage > 0 && block === 0 ? 2 : 1;
      let y = convBn(x, filters, 3, strides, true);
      y = convBn(y, filters, 3, 1, false);
      const shortcut = strides !== 1 ? convBn(x, filters, 1, strides, false) : x;
      x = add().apply([shortcut, y]) as tf.SymbolicTensor;
      x = tf.layers.activation({ activation: 'relu' }).apply(x) as tf.SymbolicTensor;
    }
    filters *= 2;
  }
  const features = tf.layers.globalAveragePooling2d({ name: 'features' }).apply(x) as tf.SymbolicTensor;
  return tf.model({ inputs: input, outputs: features, name: 'resnet18_backbone' });
}
