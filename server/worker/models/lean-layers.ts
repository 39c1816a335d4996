// Conv2D and Add layers (Keras semantics, the stock class names, so saved models and exports are
// unchanged) that keep less for backprop when a gradient tape is recording:
// - Conv2D with ReLU runs as one op saving x, the filter and the output, not the pre-activation;
//   without an activation, as one op whose gradients are computed only where needed (not the
//   input images' at a network's first layer) (backend/conv-relu-train.ts);
// - Add of two same-shaped tensors saves nothing: its gradient passes dy to both inputs, while
//   tfjs' Add saves both inputs (for broadcasting) and so keeps a ResNet's BN output per block.
// Everything else (inference, weights, serialisation) is the stock layer's.
import * as tf from '@tensorflow/tfjs';
import { conv2dBiasTrain } from '../backend/conv-relu-train.js';

type Kwargs = Record<string, unknown>;
type Conv2DArgs = Parameters<typeof tf.layers.conv2d>[0];

const recording = () =>
  (tf.engine() as unknown as { state: { gradientDepth: number } }).state.gradientDepth > 0;

/** What the subclass reads of tfjs-layers' Conv fields. */
interface ConvInternals {
  rank: number;
  dataFormat: string;
  dilationRate: number | number[];
  strides: number[];
  padding: string;
  activation: { getClassName(): string };
  kernel: { read(): tf.Tensor };
  bias: { read(): tf.Tensor } | null;
}

// tfjs does not export the classes; take them from instances.
const StockConv2D = Object.getPrototypeOf(tf.layers.conv2d({ filters: 1, kernelSize: 1 }))
  .constructor as new (
  args: Conv2DArgs,
) => tf.layers.Layer;
const StockAdd = Object.getPrototypeOf(tf.layers.add({})).constructor as new (
  args?: object,
) => tf.layers.Layer;

class LeanConv2D extends StockConv2D {
  static className = 'Conv2D';

  override call(inputs: tf.Tensor | tf.Tensor[], kwargs: Kwargs): tf.Tensor | tf.Tensor[] {
    const self = this as unknown as ConvInternals;
    const x = Array.isArray(inputs) ? inputs[0]! : inputs;
    const dilations = [self.dilationRate].flat();
    const activation = self.activation.getClassName();
    const fits =
      recording() &&
      self.rank === 2 &&
      self.dataFormat === 'channelsLast' &&
      (activation === 'relu' || activation === 'linear') &&
      self.bias !== null &&
      dilations.every((d) => d === 1) &&
      (self.padding === 'same' || self.padding === 'valid') &&
      x.rank === 4;
    if (fits) {
      const y = tf.tidy(() =>
        conv2dBiasTrain(
          x as tf.Tensor4D,
          self.kernel.read() as tf.Tensor4D,
          self.bias!.read() as tf.Tensor1D,
          {
            strides: [self.strides[0]!, self.strides[1] ?? self.strides[0]!],
            pad: self.padding as 'same' | 'valid',
          },
          activation === 'relu',
        ),
      );
      if (y) return y;
    }
    return super.call(inputs, kwargs);
  }
}

type CustomGradient = Parameters<typeof tf.customGrad>[0];
const addSavingNothing = tf.customGrad(((a: tf.Tensor, b: tf.Tensor) => ({
  value: tf.add(a, b),
  // New tensor objects (shared data): tfjs disposes an input's gradient when it accumulates it.
  gradFunc: (dy: tf.Tensor) => [tf.reshape(dy, a.shape), tf.reshape(dy, b.shape)],
})) as unknown as CustomGradient) as (a: tf.Tensor, b: tf.Tensor) => tf.Tensor;

class LeanAdd extends StockAdd {
  static className = 'Add';

  override call(inputs: tf.Tensor | tf.Tensor[], kwargs: Kwargs): tf.Tensor | tf.Tensor[] {
    const list = Array.isArray(inputs) ? inputs : [inputs];
    const [a, b] = list;
    if (recording() && list.length === 2 && a && b && tf.util.arraysEqual(a.shape, b.shape))
      return addSavingNothing(a, b);
    return super.call(inputs, kwargs);
  }
}

// Models loaded from a model.json get these too.
for (const cls of [LeanConv2D, LeanAdd])
  tf.serialization.registerClass(cls as unknown as tf.serialization.SerializableConstructor<tf.layers.Layer>);

/** tf.layers.conv2d with the lean training path. */
export function conv2d(args: Conv2DArgs): tf.layers.Layer {
  return new LeanConv2D(args);
}

/** tf.layers.add with the lean training path. */
export function add(args: object = {}): tf.layers.Layer {
  return new LeanAdd(args);
}
