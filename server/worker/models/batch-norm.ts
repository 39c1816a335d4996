// Keras BatchNormalization whose training-mode call runs pretext's fused kernel (one pass
// forward, one backward) where the backend has it; everything else — inference, weights,
// serialisation (class name 'BatchNormalization'), moving-average updates — is the stock layer's.
import * as tf from '@tensorflow/tfjs';
import {
  batchNormReluAvailable,
  batchNormReluTrain,
  batchNormTrain,
  fusedBatchNormAvailable,
  movingAverage,
  registerFusedBatchNorm,
} from '../backend/fused-batchnorm.js';

registerFusedBatchNorm();

type BatchNormArgs = Parameters<typeof tf.layers.batchNormalization>[0];
type Kwargs = Record<string, unknown>;

/** What the subclass reads of tfjs-layers' private BatchNormalization fields. */
interface BatchNormInternals {
  axis: number;
  momentum: number;
  epsilon: number;
  center: boolean;
  scale: boolean;
  gamma: { read(): tf.Tensor };
  beta: { read(): tf.Tensor };
  movingMean: { read(): tf.Tensor; write(t: tf.Tensor): void };
  movingVariance: { read(): tf.Tensor; write(t: tf.Tensor): void };
}

// tfjs does not export the class itself; take it from an instance.
const StockBatchNorm = Object.getPrototypeOf(tf.layers.batchNormalization({})).constructor as new (
  args?: BatchNormArgs,
) => tf.layers.Layer;

class FastBatchNormalization extends StockBatchNorm {
  static className = 'BatchNormalization';

  override call(inputs: tf.Tensor | tf.Tensor[], kwargs: Kwargs): tf.Tensor | tf.Tensor[] {
    const self = this as unknown as BatchNormInternals;
    const input = Array.isArray(inputs) ? inputs[0]! : inputs;
    if (!kwargs.training || !this.fusable(input) || !fusedBatchNormAvailable())
      return super.call(inputs, kwargs);
    return this.train((gamma, beta) => batchNormTrain(input, gamma, beta, self.epsilon));
  }

  /**
   * Training mode: relu(this layer's output + residual) (residual optional) as one kernel, for a
   * graph runner that sees BN → [add →] ReLU; undefined where that kernel or this layer's
   * settings do not allow it (the caller then runs the layers one by one).
   */
  callRelu(input: tf.Tensor, residual?: tf.Tensor): tf.Tensor | undefined {
    const self = this as unknown as BatchNormInternals;
    if (!this.fusable(input) || !batchNormReluAvailable()) return undefined;
    if (residual && (residual.dtype !== 'float32' || !tf.util.arraysEqual(residual.shape, input.shape)))
      return undefined;
    return this.train((gamma, beta) => batchNormReluTrain(input, gamma, beta, self.epsilon, residual));
  }

  /** What the fused kernels compute: channels last, with both scale and offset. */
  private fusable(input: tf.Tensor): boolean {
    const self = this as unknown as BatchNormInternals;
    return (self.axis === -1 || self.axis === input.rank - 1) && self.center && self.scale;
  }

  /** Runs a training kernel ([y, mean, variance]) and updates the moving statistics. */
  private train(kernel: (gamma: tf.Tensor, beta: tf.Tensor) => tf.Tensor[]): tf.Tensor {
    const self = this as unknown as BatchNormInternals;
    return tf.tidy(() => {
      const [y, mean, variance] = kernel(self.gamma.read(), self.beta.read());
      // Same update as the stock layer: v ← v − (v − batch)·(1 − momentum).
      const decay = 1 - self.momentum;
      for (const [variable, value] of [
        [self.movingMean, mean!],
        [self.movingVariance, variance!],
      ] as const) {
        tf.tidy(() => variable.write(movingAverage(variable.read(), value, decay)));
      }
      return y!;
    });
  }
}

// Models loaded from a model.json (class 'BatchNormalization') get the fused path too.
tf.serialization.registerClass(
  FastBatchNormalization as unknown as tf.serialization.SerializableConstructor<tf.layers.Layer>,
);

/** A BatchNormalization layer (Keras semantics) with the fused training path. */
export function batchNormalization(args: BatchNormArgs): tf.layers.Layer {
  return new FastBatchNormalization(args);
}
