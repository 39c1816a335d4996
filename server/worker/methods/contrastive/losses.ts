// The contrastive losses as pure functions of embeddings (solo-learn's losses/): no layers, no
// state, so they can be checked against an independent computation and differentiated anywhere.
import * as tf from '@tensorflow/tfjs';

/** Rows scaled to unit L2 norm (eps keeps an all-zero row finite). */
export function l2Normalize(x: tf.Tensor2D, eps = 1e-12): tf.Tensor2D {
  return tf.tidy(() => tf.div(x, tf.sqrt(tf.maximum(tf.sum(tf.square(x), -1, true), eps))));
}

// tfjs has no stop_gradient: the identity whose gradient is zero.
const stop = tf.customGrad(((x: tf.Tensor) => ({
  value: tf.clone(x),
  gradFunc: (dy: tf.Tensor) => tf.zerosLike(dy),
})) as unknown as Parameters<typeof tf.customGrad>[0]);

/** `x` unchanged in value, cut from the gradient (SimSiam's target branch, NNCLR's neighbours). */
export function stopGradient<T extends tf.Tensor>(x: T): T {
  return stop(x) as T;
}

/** Mean over rows of logsumexp(row) - row[target]: cross-entropy of logits with integer targets. */
function crossEntropyRows(logits: tf.Tensor2D, targets: tf.Tensor1D): tf.Scalar {
  const cols = logits.shape[1];
  const picked = tf.sum(tf.mul(logits, tf.oneHot(targets, cols)), -1);
  return tf.mean(tf.sub(tf.logSumExp(logits, -1), picked)) as tf.Scalar;
}

/**
 * NT-Xent (SimCLR): the 2N views of N images; for each view the other view of its image is the
 * positive and the remaining 2N-2 views the negatives; cosine similarities over `temperature`.
 */
export function ntXentLoss(za: tf.Tensor2D, zb: tf.Tensor2D, temperature: number): tf.Scalar {
  if (!(temperature > 0)) throw new RangeError(`temperature must be positive, got ${temperature}`);
  return tf.tidy(() => {
    const n = za.shape[0];
    const z = l2Normalize(tf.concat([za, zb], 0));
    const sim = tf.div(tf.matMul(z, z, false, true), temperature) as tf.Tensor2D;
    // A view is never its own negative: push the diagonal to -inf (finite, so 0·x stays 0).
    const logits = tf.sub(sim, tf.mul(tf.eye(2 * n), 1e9)) as tf.Tensor2D;
    const targets = tf.concat([tf.range(n, 2 * n, 1, 'int32'), tf.range(0, n, 1, 'int32')]) as tf.Tensor1D;
    return crossEntropyRows(logits, targets);
  });
}

/**
 * InfoNCE of anchors against positives: row i of `anchors` should match row i of `positives`
 * among all rows (NNCLR's loss with the neighbours as anchors, as solo-learn's nnclr_loss_func).
 */
export function infoNceLoss(anchors: tf.Tensor2D, positives: tf.Tensor2D, temperature: number): tf.Scalar {
  if (!(temperature > 0)) throw new RangeError(`temperature must be positive, got ${temperature}`);
  return tf.tidy(() => {
    const n = anchors.shape[0];
    const logits = tf.div(
      tf.matMul(l2Normalize(anchors), l2Normalize(positives), false, true),
      temperature,
    ) as tf.Tensor2D;
    return crossEntropyRows(logits, tf.range(0, n, 1, 'int32') as tf.Tensor1D);
  });
}

/**
 * NNCLR: the nearest neighbour of each view's embedding (from the support queue, no gradient)
 * stands in for that view as the positive of the other view; symmetrised.
 */
export function nnclrLoss(
  nnA: tf.Tensor2D,
  zB: tf.Tensor2D,
  nnB: tf.Tensor2D,
  zA: tf.Tensor2D,
  temperature: number,
): tf.Scalar {
  return tf.tidy(
    () =>
      tf.mul(
        0.5,
        tf.add(
          infoNceLoss(stopGradient(nnA), zB, temperature),
          infoNceLoss(stopGradient(nnB), zA, temperature),
        ),
      ) as tf.Scalar,
  );
}

/** -mean cos(p, z) with z cut from the gradient (SimSiam's D). */
export function negativeCosine(p: tf.Tensor2D, z: tf.Tensor2D): tf.Scalar {
  return tf.tidy(
    () => tf.neg(tf.mean(tf.sum(tf.mul(l2Normalize(p), l2Normalize(stopGradient(z))), -1))) as tf.Scalar,
  );
}

/** SimSiam: D(p1, z2)/2 + D(p2, z1)/2; its minimum is -1. */
export function simsiamLoss(p1: tf.Tensor2D, p2: tf.Tensor2D, z1: tf.Tensor2D, z2: tf.Tensor2D): tf.Scalar {
  return tf.tidy(() => tf.mul(0.5, tf.add(negativeCosine(p1, z2), negativeCosine(p2, z1))) as tf.Scalar);
}

/**
 * Collapse indicator (SimSiam paper §4.1): mean over dimensions of the per-dimension std of the
 * L2-normalised embeddings. About 1/sqrt(d) for spread-out embeddings, 0 when collapsed.
 */
export function embeddingStd(z: tf.Tensor2D): tf.Scalar {
  return tf.tidy(() => {
    const u = l2Normalize(z);
    const { variance } = tf.moments(u, 0);
    return tf.mean(tf.sqrt(variance)) as tf.Scalar;
  });
}
