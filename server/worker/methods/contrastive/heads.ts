// Projection and prediction heads, built on the backbone's own symbolic output (as
// buildClassifier does), so that the contrastive model shares the backbone's layer objects and
// a downstream run can take the backbone's weights out of the checkpoint by index.
import * as tf from '@tensorflow/tfjs';

export interface MlpOptions {
  /** Layer-name prefix, unique within the model. */
  name: string;
  hidden: number;
  out: number;
  /** BN after the hidden layer (and after the output with `outputNorm`), as SimSiam. */
  batchNorm: boolean;
  outputNorm?: boolean;
  seed: number;
}

/** Dense(hidden) [→ BN] → ReLU → Dense(out) [→ BN]. */
export function mlpHead(input: tf.SymbolicTensor, o: MlpOptions): tf.SymbolicTensor {
  const dense = (units: number, i: number, bias: boolean) =>
    tf.layers.dense({
      name: `${o.name}_dense_${i}`,
      units,
      useBias: bias,
      kernelInitializer: tf.initializers.glorotUniform({ seed: (o.seed + i) >>> 0 }),
    });
  // A bias before BN is redundant (BN's beta shifts anyway).
  let x = dense(o.hidden, 0, !o.batchNorm).apply(input) as tf.SymbolicTensor;
  if (o.batchNorm) x = tf.layers.batchNormalization({ name: `${o.name}_bn_0` }).apply(x) as tf.SymbolicTensor;
  x = tf.layers.activation({ name: `${o.name}_relu_0`, activation: 'relu' }).apply(x) as tf.SymbolicTensor;
  x = dense(o.out, 1, !o.outputNorm).apply(x) as tf.SymbolicTensor;
  if (o.outputNorm)
    x = tf.layers.batchNormalization({ name: `${o.name}_bn_1` }).apply(x) as tf.SymbolicTensor;
  return x;
}

/** backbone → heads as one model whose outputs are `build(features)`, in order. */
export function contrastiveModel(
  backbone: tf.LayersModel,
  build: (features: tf.SymbolicTensor) => tf.SymbolicTensor[],
  name: string,
): tf.LayersModel {
  const features = backbone.outputs[0];
  if (!features || backbone.outputs.length !== 1)
    throw new Error('the backbone must have exactly one output');
  return tf.model({ inputs: backbone.inputs, outputs: build(features), name });
}
