// One classifier training step as the trainer takes it (cross-entropy plus the model's weight
// regularisers, the freeing forward pass), for the benchmarks that time or compare steps.
import * as tf from '@tensorflow/tfjs';
import { applyFreeing } from '../server/worker/models/apply-freeing.js';

/** Minimises the loss on (x, y) once; returns the loss (the caller disposes it). */
export function trainStep(
  model: tf.LayersModel,
  optimizer: tf.Optimizer,
  x: tf.Tensor,
  y: tf.Tensor,
): tf.Scalar {
  return optimizer.minimize(() => {
    const data = tf.losses.softmaxCrossEntropy(y, applyFreeing(model, x, { training: true }) as tf.Tensor);
    return tf.addN([
      data,
      ...model.losses.map((l) => (typeof l === 'function' ? l() : l) as tf.Scalar),
    ]) as tf.Scalar;
  }, true)!;
}
