// The gradient of FusedBatchNorm without `tile`: tfjs-core tiles the [C] inverse std-dev to the
// full activation shape before multiplying (17% of a ResNet step on wasm); broadcasting the
// [C] vector gives the same values with one pass less and no activation-sized temporary.
// It is registered for every backend (gradients are backend-independent in tfjs).
import * as tf from '@tensorflow/tfjs';

export const batchNormGradConfig: tf.GradConfig = {
  kernelName: 'FusedBatchNorm',
  inputsToSave: ['x', 'mean', 'variance', 'scale'],
  gradFunc: (dy, saved, attrs) => {
    const dyT = dy as tf.Tensor;
    const { varianceEpsilon } = attrs as unknown as { varianceEpsilon: number };
    const [x, mean, variance, scale] = saved as [tf.Tensor, tf.Tensor, tf.Tensor, tf.Tensor | undefined];
    const axes = tf.backend_util.getReductionAxes(mean.shape, x.shape);
    const reduce = (t: tf.Tensor): tf.Tensor => (axes.length > 0 ? tf.sum(t, axes) : t).reshape(mean.shape);
    const invStd = tf.rsqrt(tf.add(variance, varianceEpsilon));
    const scaled = scale ? tf.mul(invStd, scale) : invStd;
    return {
      x: () => tf.mul(dyT, scaled),
      mean: () => reduce(tf.mul(dyT, tf.neg(scaled))),
      variance: () => {
        // d/dvar of (x−m)·(var+ε)^−½·γ = −½·(x−m)·(var+ε)^−3/2·γ
        const coef = tf.mul(tf.mul(scaled, tf.square(invStd)), -0.5);
        return reduce(tf.mul(tf.mul(tf.sub(x, mean), dyT), coef));
      },
      scale: () => reduce(tf.mul(dyT, tf.mul(tf.sub(x, mean), invStd))),
      offset: () => reduce(dyT),
    };
  },
};

let installed = false;

/** Replaces tfjs-core's FusedBatchNorm gradient (once per process). */
export function installBatchNormGrad(): void {
  if (installed) return;
  installed = true;
  if (tf.getGradient('FusedBatchNorm')) tf.unregisterGradient('FusedBatchNorm');
  tf.registerGradient(batchNormGradConfig);
}
