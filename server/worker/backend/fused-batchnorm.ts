// Training-mode batch normalisation as one kernel forward and one backward (channels last).
// tfjs-layers builds it from moments + batchNorm, and autograd then runs ~15 activation-sized
// ops per layer, most of them broadcasting or axis reductions that tfjs-wasm does slowly
// (transpose + reduce, per-element index arithmetic). Here each direction is two linear passes
// over the activation, in JS directly on the backend's memory, with float64 channel sums.
// BN_RELU_TRAIN adds a residual and applies ReLU in the same pass (a ResNet's BN → ReLU and
// BN → add → ReLU), and its gradient masks dy by the output: no pre-activation tensor exists.
import * as tf from '@tensorflow/tfjs';
import { channelAffine, channelAffine2, channelDots, channelMoments } from './channel-loops.js';
import { type KernelMemory, memoryOf } from './kernel-memory.js';

export const BN_TRAIN = 'PretextBatchNormTrain';
export const BN_TRAIN_GRAD = 'PretextBatchNormTrainGrad';
/** relu(bn(x) [+ residual]): inputs x, scale, offset[, residual]; attrs epsilon, residual. */
export const BN_RELU_TRAIN = 'PretextBatchNormReluTrain';
/** Its gradient: inputs dy, x, mean, variance, scale, y; outputs dx, dScale, dOffset[, dResidual]. */
export const BN_RELU_TRAIN_GRAD = 'PretextBatchNormReluTrainGrad';
/** v ← v − (v − value)·decay as one kernel (per-op cost: 114 tiny ops a ResNet20 step as three). */
export const MOVING_AVERAGE = 'PretextMovingAverage';

type Info = tf.TensorInfo;

export function jsBatchNormForward(
  mem: KernelMemory,
  x: Info,
  scale: Info,
  offset: Info,
  epsilon: number,
  act?: { residual?: Info },
): Info[] {
  const c = x.shape[x.shape.length - 1]!;
  const yInfo = mem.alloc(x.shape);
  const meanInfo = mem.alloc([c]);
  const varInfo = mem.alloc([c]);
  // Views after the last allocation (wasm memory growth detaches older views).
  const xs = mem.read(x);
  const gamma = mem.read(scale);
  const beta = mem.read(offset);
  const n = xs.length;
  const m = n / c;
  const sum = new Float64Array(c);
  const sumSq = new Float64Array(c);
  channelMoments(xs, c, sum, sumSq);
  const meanOut = mem.view(meanInfo);
  const varOut = mem.view(varInfo);
  for (let k = 0; k < c; k++) {
    // In float64: μ rounded to float32 first would cost E[x²]−μ² its digits.
    const mu = sum[k]! / m;
    meanOut[k] = mu;
    varOut[k] = Math.max(sumSq[k]! / m - mu * mu, 0);
  }
  const { a, b } = normaliseCoefficients(meanOut, varOut, gamma, beta, epsilon);
  const y = mem.view(yInfo);
  channelAffine(xs, a, b, c, y);
  if (act) {
    const rs = act.residual ? mem.read(act.residual) : undefined;
    if (rs) for (let i = 0; i < n; i++) y[i]! += rs[i]!;
    // As tfjs' cpu ReLU, Math.max(0, v): NaN passes, −0 becomes 0.
    for (let i = 0; i < n; i++) if (y[i]! <= 0) y[i] = 0;
  }
  return [yInfo, meanInfo, varInfo];
}

/** y = a·x + b per channel: a = γ/√(var+ε), b = β − μ·a (every batch-norm kernel's). */
export function normaliseCoefficients(
  mean: ArrayLike<number>,
  variance: ArrayLike<number>,
  gamma: ArrayLike<number>,
  beta: ArrayLike<number>,
  epsilon: number,
): { a: Float32Array; b: Float32Array } {
  const c = mean.length;
  const a = new Float32Array(c);
  const b = new Float32Array(c);
  for (let k = 0; k < c; k++) {
    a[k] = gamma[k]! / Math.sqrt(variance[k]! + epsilon);
    b[k] = beta[k]! - mean[k]! * a[k]!;
  }
  return { a, b };
}

/**
 * The gradient's per-channel terms from Σg and Σg·(x−μ) over m pixels: writes dβ = Σg and
 * dγ = Σg·x̂, and returns p, q, r with dx = p·g + q·x + r (every batch-norm kernel's).
 */
export function gradientCoefficients(
  sums: {
    sumG: ArrayLike<number>;
    sumGXc: ArrayLike<number>;
    mean: ArrayLike<number>;
    variance: ArrayLike<number>;
    gamma: ArrayLike<number>;
    epsilon: number;
    m: number;
  },
  dScale: Float32Array,
  dOffset: Float32Array,
): { p: Float32Array; q: Float32Array; r: Float32Array } {
  const { sumG, sumGXc, mean, variance, gamma, epsilon, m } = sums;
  const c = mean.length;
  const p = new Float32Array(c);
  const q = new Float32Array(c);
  const r = new Float32Array(c);
  for (let k = 0; k < c; k++) {
    const inv = 1 / Math.sqrt(variance[k]! + epsilon);
    const dBeta = sumG[k]!;
    const dGamma = sumGXc[k]! * inv;
    dOffset[k] = dBeta;
    dScale[k] = dGamma;
    const s = gamma[k]! * inv;
    p[k] = s;
    q[k] = (-s * inv * dGamma) / m;
    r[k] = (-s * dBeta) / m - q[k]! * mean[k]!;
  }
  return { p, q, r };
}

/**
 * With x̂ = (x−μ)/σ: dβ = Σdy, dγ = Σdy·x̂, dx = γ/(σM)·(M·dy − dβ − x̂·dγ) — the batch
 * statistics' own dependence on x included, so mean/variance outputs carry no gradient.
 */
export function jsBatchNormBackward(
  mem: KernelMemory,
  dy: Info,
  x: Info,
  mean: Info,
  variance: Info,
  scale: Info,
  epsilon: number,
  act?: { y: Info; residual: boolean },
): Info[] {
  const c = x.shape[x.shape.length - 1]!;
  const dxInfo = mem.alloc(x.shape);
  const dScaleInfo = mem.alloc([c]);
  const dOffsetInfo = mem.alloc([c]);
  // Through ReLU first, dy · step(y) (that is also the residual's gradient).
  const dResInfo = act?.residual ? mem.alloc(x.shape) : undefined;
  let dys = mem.read(dy);
  if (act) {
    const ys = mem.read(act.y);
    const g = dResInfo ? mem.view(dResInfo) : new Float32Array(ys.length);
    for (let i = 0; i < g.length; i++) g[i] = dys[i]! * +(ys[i]! > 0);
    dys = g;
  }
  const xs = mem.read(x);
  const mu = mem.read(mean);
  const vr = mem.read(variance);
  const gamma = mem.read(scale);
  const n = xs.length;
  const m = n / c;
  const sumDy = new Float64Array(c);
  const sumDyX = new Float64Array(c);
  channelDots(dys, xs, c, sumDy, sumDyX);
  // Σ dy·(x − μ) = Σ dy·x − μ·Σ dy.
  for (let k = 0; k < c; k++) sumDyX[k] = sumDyX[k]! - mu[k]! * sumDy[k]!;
  const { p, q, r } = gradientCoefficients(
    { sumG: sumDy, sumGXc: sumDyX, mean: mu, variance: vr, gamma, epsilon, m },
    mem.view(dScaleInfo),
    mem.view(dOffsetInfo),
  );
  channelAffine2(dys, xs, p, q, r, c, mem.view(dxInfo));
  return dResInfo ? [dxInfo, dScaleInfo, dOffsetInfo, dResInfo] : [dxInfo, dScaleInfo, dOffsetInfo];
}

export const FUSED_BN_BACKENDS = ['cpu', 'wasm'] as const;

let registered = false;

/** Registers the fused kernels for the cpu and wasm backends and their gradient (idempotent). */
export function registerFusedBatchNorm(): void {
  if (registered) return;
  registered = true;
  for (const backendName of FUSED_BN_BACKENDS) {
    tf.registerKernel({
      kernelName: BN_TRAIN,
      backendName,
      kernelFunc: ({ inputs, backend, attrs }) => {
        const { x, scale, offset } = inputs as { x: Info; scale: Info; offset: Info };
        const mem = memoryOf(backendName, backend as tf.KernelBackend);
        return jsBatchNormForward(mem, x, scale, offset, attrs?.epsilon as number);
      },
    });
    tf.registerKernel({
      kernelName: BN_TRAIN_GRAD,
      backendName,
      kernelFunc: ({ inputs, backend, attrs }) => {
        const { dy, x, mean, variance, scale } = inputs as Record<string, Info>;
        const mem = memoryOf(backendName, backend as tf.KernelBackend);
        return jsBatchNormBackward(mem, dy!, x!, mean!, variance!, scale!, attrs?.epsilon as number);
      },
    });
    tf.registerKernel({
      kernelName: MOVING_AVERAGE,
      backendName,
      kernelFunc: ({ inputs, backend, attrs }) => {
        const { old, value } = inputs as { old: Info; value: Info };
        const mem = memoryOf(backendName, backend as tf.KernelBackend);
        const out = mem.alloc(old.shape);
        const [o, v, r] = [mem.read(old), mem.read(value), mem.view(out)];
        // Rounded to float32 after each operation: the same bits as the three ops it replaces.
        const decay = Math.fround(attrs?.decay as number);
        for (let i = 0; i < o.length; i++) r[i] = o[i]! - Math.fround(Math.fround(o[i]! - v[i]!) * decay);
        return out;
      },
    });
    // In JS on cpu only: on wasm, XNNPACK's Add and ReLU (SIMD, threaded) beat extra JS passes
    // (ResNet20 trained at 42.7 img/s with these against 47.8 without); native has C++ ones.
    if (backendName !== 'cpu') continue;
    tf.registerKernel({
      kernelName: BN_RELU_TRAIN,
      backendName,
      kernelFunc: ({ inputs, backend, attrs }) => {
        const { x, scale, offset, residual } = inputs as Record<string, Info | undefined>;
        const mem = memoryOf(backendName, backend as tf.KernelBackend);
        return jsBatchNormForward(mem, x!, scale!, offset!, attrs?.epsilon as number, { residual });
      },
    });
    tf.registerKernel({
      kernelName: BN_RELU_TRAIN_GRAD,
      backendName,
      kernelFunc: ({ inputs, backend, attrs }) => {
        const { dy, x, mean, variance, scale, y } = inputs as Record<string, Info>;
        const mem = memoryOf(backendName, backend as tf.KernelBackend);
        return jsBatchNormBackward(mem, dy!, x!, mean!, variance!, scale!, attrs?.epsilon as number, {
          y: y!,
          residual: attrs?.residual === true,
        });
      },
    });
  }
  tf.registerGradient({
    kernelName: BN_RELU_TRAIN,
    inputsToSave: ['x', 'scale'],
    outputsToSave: [true, true, true],
    gradFunc: (dys, saved, attrs) => {
      const [dy] = dys as tf.Tensor[];
      const [x, scale, y, mean, variance] = saved as tf.Tensor[];
      const [dx, dScale, dOffset, dResidual] = tf.engine().runKernel(
        BN_RELU_TRAIN_GRAD,
        {
          dy: dy!,
          x: x!,
          mean: mean!,
          variance: variance!,
          scale: scale!,
          y: y!,
        } as unknown as tf.NamedTensorMap,
        attrs,
      ) as tf.Tensor[];
      const grads: Record<string, () => tf.Tensor> = {
        x: () => dx!,
        scale: () => dScale!,
        offset: () => dOffset!,
      };
      if (dResidual) grads.residual = () => dResidual;
      return grads;
    },
  });
  tf.registerGradient({
    kernelName: BN_TRAIN,
    inputsToSave: ['x', 'scale'],
    outputsToSave: [false, true, true],
    gradFunc: (dys, saved, attrs) => {
      const [dy] = dys as tf.Tensor[];
      const [x, scale, mean, variance] = saved as [tf.Tensor, tf.Tensor, tf.Tensor, tf.Tensor];
      const [dx, dScale, dOffset] = tf
        .engine()
        .runKernel(
          BN_TRAIN_GRAD,
          { dy: dy!, x, mean, variance, scale } as unknown as tf.NamedTensorMap,
          attrs,
        ) as tf.Tensor[];
      return { x: () => dx!, scale: () => dScale!, offset: () => dOffset! };
    },
  });
}

/** Whether the active backend has the fused kernels. */
export function fusedBatchNormAvailable(): boolean {
  return registered && tf.getKernel(BN_TRAIN, tf.getBackend()) !== undefined;
}

/** Whether the active backend has the BN (+ residual) + ReLU kernels. */
export function batchNormReluAvailable(): boolean {
  return registered && tf.getKernel(BN_RELU_TRAIN, tf.getBackend()) !== undefined;
}

/**
 * relu(bn(x) + residual) (residual optional), x normalised with its own batch statistics:
 * returns [y, mean, variance]. Gradients flow to x, scale, offset and the residual; backprop
 * keeps x and y only.
 */
export function batchNormReluTrain(
  x: tf.Tensor,
  scale: tf.Tensor,
  offset: tf.Tensor,
  epsilon: number,
  residual?: tf.Tensor,
): tf.Tensor[] {
  const inputs = residual ? { x, scale, offset, residual } : { x, scale, offset };
  return tf.engine().runKernel(BN_RELU_TRAIN, inputs as unknown as tf.NamedTensorMap, {
    epsilon,
    residual: residual !== undefined,
  }) as tf.Tensor[];
}

/**
 * Normalises x (channels last) with its own batch statistics: returns [y, mean, variance]
 * (biased variance, as tf.moments). Gradients flow to x, scale and offset.
 */
export function batchNormTrain(
  x: tf.Tensor,
  scale: tf.Tensor,
  offset: tf.Tensor,
  epsilon: number,
): tf.Tensor[] {
  return tf.engine().runKernel(BN_TRAIN, { x, scale, offset } as unknown as tf.NamedTensorMap, {
    epsilon,
  }) as tf.Tensor[];
}

/** A moving average's update, old − (old − value)·decay: one kernel where the backend has it. */
export function movingAverage(old: tf.Tensor, value: tf.Tensor, decay: number): tf.Tensor {
  if (tf.getKernel(MOVING_AVERAGE, tf.getBackend()) === undefined)
    return tf.tidy(() => tf.sub(old, tf.mul(tf.sub(old, value), decay)));
  return tf.engine().runKernel(MOVING_AVERAGE, { old, value } as unknown as tf.NamedTensorMap, {
    decay,
  }) as tf.Tensor;
}
