// The wasm backend's kernels that run pretext's SIMD module (simd-pool.ts): the convolution
// forward (with bias and ReLU) and gradients (the filter's with its bias's, and the input's), and
// training batch norm (with residual and ReLU). Each returns undefined for shapes the module does not take (channel counts
// that are not multiples of 4 or 8, see kernels.c), and the caller keeps its previous kernel.
import type * as tf from '@tensorflow/tfjs';
import {
  BN_RELU_TRAIN,
  BN_RELU_TRAIN_GRAD,
  BN_TRAIN,
  BN_TRAIN_GRAD,
  gradientCoefficients,
  jsBatchNormBackward,
  jsBatchNormForward,
  normaliseCoefficients,
} from '../fused-batchnorm.js';
import { memoryOf } from '../kernel-memory.js';
import { heapOffset, JobKind, type SimdPool, simdPool } from './simd-pool.js';
import { convInfo, type TensorInfo, type WasmBackendLike } from './util.js';

/** Reductions are split into this many parts whatever the thread count: the same bits on any. */
const FILTER_PARTS = 8;
const SUM_PARTS = 32;
/** Element-wise passes: enough parts to balance any thread count. */
const APPLY_PARTS = 64;

export interface FilterGradAttrs {
  strides: number | [number, number];
  pad: 'valid' | 'same' | number | tf.backend_util.ExplicitPadding;
  dimRoundingMode?: 'floor' | 'round' | 'ceil';
}

function size(shape: number[]): number {
  return shape.reduce((a, b) => a * b, 1);
}

/** A convolution's geometry as both gradient tasks of kernels.c read it, after their pointers. */
function geometryArgs(
  [n, h, w, c]: number[],
  info: tf.backend_util.Conv2DInfo,
  o: number,
  kh: number,
  kw: number,
): number[] {
  const { outHeight, outWidth, strideHeight, strideWidth, padInfo } = info;
  return [
    n!,
    h!,
    w!,
    c!,
    outHeight,
    outWidth,
    o,
    kh,
    kw,
    strideHeight,
    strideWidth,
    padInfo.top,
    padInfo.left,
  ];
}

/**
 * dW (and Σdy per output channel with `bias`) for a channels-last convolution with dilation 1;
 * undefined where the module does not apply.
 */
export function simdFilterGradients(
  backend: WasmBackendLike,
  x: TensorInfo,
  dy: TensorInfo,
  filterShape: number[],
  attrs: FilterGradAttrs,
  bias: boolean,
): TensorInfo[] | undefined {
  const [kh, kw, c, o] = filterShape as [number, number, number, number];
  if (x.dtype !== 'float32' || dy.dtype !== 'float32' || c % 4 !== 0 || o % 8 !== 0) return undefined;
  const pool = simdPool(backend);
  if (!pool) return undefined;
  const info = convInfo(x.shape, filterShape, attrs);
  const [n, h, w] = x.shape as [number, number, number, number];
  if (n === 0 || info.outHeight === 0 || info.outWidth === 0) return undefined;
  const parts = Math.min(FILTER_PARTS, n);
  const len = kh * kw * c * o;
  const dw = backend.makeOutput(filterShape, 'float32');
  const db = bias ? backend.makeOutput([o], 'float32') : undefined;
  const filterBytes = parts * len * 4;
  const scratch = pool.scratch(filterBytes + (bias ? parts * o * 8 : 0));
  const biasAt = bias ? scratch + filterBytes : 0;
  pool.run(JobKind.ConvFilterGrad, parts, [
    heapOffset(backend, x),
    heapOffset(backend, dy),
    scratch,
    biasAt,
    ...geometryArgs([n, h, w, c], info, o, kh, kw),
  ]);
  pool.exports.sum_parts_f32(heapOffset(backend, dw), scratch, parts, len);
  if (!db) return [dw];
  pool.exports.sum_parts_f64(heapOffset(backend, db), biasAt, parts, o);
  return [dw, db];
}

/** dX of a channels-last convolution with dilation 1; undefined where the module does not apply. */
export function simdInputGradient(
  backend: WasmBackendLike,
  dy: TensorInfo,
  filter: TensorInfo,
  inputShape: number[],
  attrs: FilterGradAttrs,
): TensorInfo | undefined {
  const [kh, kw, c, o] = filter.shape as [number, number, number, number];
  if (dy.dtype !== 'float32' || filter.dtype !== 'float32' || c % 8 !== 0) return undefined;
  const pool = simdPool(backend);
  if (!pool) return undefined;
  const info = convInfo(inputShape, filter.shape, attrs);
  const [n, h, w] = inputShape as [number, number, number, number];
  if (n === 0 || h === 0 || w === 0) return undefined;
  const dx = backend.makeOutput(inputShape, 'float32');
  const wt = pool.scratch(kh * kw * c * o * 4);
  pool.exports.transpose_filter(wt, heapOffset(backend, filter), kh * kw, c, o);
  pool.run(JobKind.ConvInputGrad, Math.min(n, APPLY_PARTS), [
    heapOffset(backend, dy),
    wt,
    heapOffset(backend, dx),
    ...geometryArgs([n, h, w, c], info, o, kh, kw),
  ]);
  return dx;
}

/**
 * A channels-last convolution with dilation 1, + bias, then ReLU if `relu`; undefined where the
 * module does not apply (output channels not in 8s).
 */
export function simdForward(
  backend: WasmBackendLike,
  x: TensorInfo,
  filter: TensorInfo,
  bias: TensorInfo | undefined,
  attrs: FilterGradAttrs,
  relu: boolean,
): TensorInfo | undefined {
  const [kh, kw, c, o] = filter.shape as [number, number, number, number];
  if (x.dtype !== 'float32' || filter.dtype !== 'float32' || o % 8 !== 0) return undefined;
  if (bias && (bias.dtype !== 'float32' || size(bias.shape) !== o)) return undefined;
  const pool = simdPool(backend);
  if (!pool) return undefined;
  const info = convInfo(x.shape, filter.shape, attrs);
  const [n, h, w] = x.shape as [number, number, number, number];
  if (n === 0 || info.outHeight <= 0 || info.outWidth <= 0 || c === 0) return undefined;
  const y = backend.makeOutput([n, info.outHeight, info.outWidth, o], 'float32');
  pool.run(JobKind.ConvForward, Math.min(n, APPLY_PARTS), [
    heapOffset(backend, x),
    heapOffset(backend, filter),
    bias ? heapOffset(backend, bias) : 0,
    heapOffset(backend, y),
    ...geometryArgs([n, h, w, c], info, o, kh, kw),
    relu ? 1 : 0,
  ]);
  return y;
}

/** Float32 per-channel vectors the apply passes read, in scratch after `at`. */
function writeVectors(pool: SimdPool, at: number, vectors: Float32Array[]): number[] {
  const heap = new Float32Array(pool.memoryBuffer());
  return vectors.map((v, i) => {
    const p = at + i * v.length * 4;
    heap.set(v, p >> 2);
    return p;
  });
}

/** Σ over the parts of the float64 partials [parts][2][c] in part order: [s1, s2]. */
function sumPartials(pool: SimdPool, at: number, parts: number, c: number): [Float64Array, Float64Array] {
  const all = new Float64Array(pool.memoryBuffer(), at, parts * 2 * c);
  const s1 = new Float64Array(c);
  const s2 = new Float64Array(c);
  for (let t = 0; t < parts; t++)
    for (let k = 0; k < c; k++) {
      s1[k]! += all[t * 2 * c + k]!;
      s2[k]! += all[t * 2 * c + c + k]!;
    }
  return [s1, s2];
}

/**
 * Training batch norm forward: [y, mean, variance] (biased variance), y = a·x + b with
 * a = γ/√(var+ε), b = β − μ·a; with `relu`, y = relu(a·x + b [+ residual]).
 */
export function simdBatchNormForward(
  backend: WasmBackendLike,
  x: TensorInfo,
  scale: TensorInfo,
  offset: TensorInfo,
  epsilon: number,
  act?: { residual?: TensorInfo },
): TensorInfo[] | undefined {
  const c = x.shape[x.shape.length - 1]!;
  if (x.dtype !== 'float32' || c % 4 !== 0) return undefined;
  const pool = simdPool(backend);
  if (!pool) return undefined;
  const m = size(x.shape) / c;
  if (m === 0) return undefined;
  const parts = Math.max(1, Math.min(SUM_PARTS, Math.ceil(m / 256)));
  const y = backend.makeOutput(x.shape, 'float32');
  const meanInfo = backend.makeOutput([c], 'float32');
  const varInfo = backend.makeOutput([c], 'float32');
  // Scratch: the shift (c floats), then a and b (c each), then the partials (16-aligned).
  const vecBytes = 16 * Math.ceil((3 * c * 4) / 16);
  const scratch = pool.scratch(vecBytes + parts * 2 * c * 8);
  const partsAt = scratch + vecBytes;
  // Shifted by the first pixel: sums of (x − K) keep the variance's digits when |μ| ≫ σ.
  const shift = backend.typedArrayFromHeap(x).slice(0, c);
  const [shiftAt] = writeVectors(pool, scratch, [shift]);
  pool.run(JobKind.BnForwardSums, parts, [heapOffset(backend, x), shiftAt!, partsAt, m, c]);
  const [s1, s2] = sumPartials(pool, partsAt, parts, c);
  const gamma = backend.typedArrayFromHeap(scale);
  const beta = backend.typedArrayFromHeap(offset);
  const meanOut = backend.typedArrayFromHeap(meanInfo);
  const varOut = backend.typedArrayFromHeap(varInfo);
  for (let k = 0; k < c; k++) {
    const d = s1[k]! / m;
    meanOut[k] = shift[k]! + d;
    varOut[k] = Math.max(s2[k]! / m - d * d, 0);
  }
  const { a, b } = normaliseCoefficients(meanOut, varOut, gamma, beta, epsilon);
  const [aAt, bAt] = writeVectors(pool, scratch + 16 * Math.ceil((c * 4) / 16), [a, b]);
  pool.run(JobKind.BnForwardApply, Math.min(APPLY_PARTS, m), [
    heapOffset(backend, x),
    act?.residual ? heapOffset(backend, act.residual) : 0,
    heapOffset(backend, y),
    aAt!,
    bAt!,
    m,
    c,
    act ? 1 : 0,
  ]);
  return [y, meanInfo, varInfo];
}

/**
 * Its gradient, with x̂ = (x−μ)/σ and g = dy (through the ReLU: dy·step(y)): dβ = Σg,
 * dγ = Σg·x̂, dx = γ/(σM)·(M·g − dβ − x̂·dγ); with a residual, its gradient is g.
 */
export function simdBatchNormBackward(
  backend: WasmBackendLike,
  dy: TensorInfo,
  x: TensorInfo,
  mean: TensorInfo,
  variance: TensorInfo,
  scale: TensorInfo,
  epsilon: number,
  act?: { y: TensorInfo; residual: boolean },
): TensorInfo[] | undefined {
  const c = x.shape[x.shape.length - 1]!;
  if (x.dtype !== 'float32' || dy.dtype !== 'float32' || c % 4 !== 0) return undefined;
  const pool = simdPool(backend);
  if (!pool) return undefined;
  const m = size(x.shape) / c;
  if (m === 0) return undefined;
  const parts = Math.max(1, Math.min(SUM_PARTS, Math.ceil(m / 256)));
  const dx = backend.makeOutput(x.shape, 'float32');
  const dScaleInfo = backend.makeOutput([c], 'float32');
  const dOffsetInfo = backend.makeOutput([c], 'float32');
  const dRes = act?.residual ? backend.makeOutput(x.shape, 'float32') : undefined;
  const vecBytes = 16 * Math.ceil((3 * c * 4) / 16);
  const scratch = pool.scratch(vecBytes + parts * 2 * c * 8);
  const partsAt = scratch + vecBytes;
  const yAt = act ? heapOffset(backend, act.y) : 0;
  pool.run(JobKind.BnBackwardSums, parts, [
    heapOffset(backend, dy),
    yAt,
    heapOffset(backend, x),
    heapOffset(backend, mean),
    partsAt,
    m,
    c,
  ]);
  const [sumG, sumGX] = sumPartials(pool, partsAt, parts, c);
  const mu = backend.typedArrayFromHeap(mean);
  const vr = backend.typedArrayFromHeap(variance);
  const gamma = backend.typedArrayFromHeap(scale);
  const { p, q, r } = gradientCoefficients(
    { sumG, sumGXc: sumGX, mean: mu, variance: vr, gamma, epsilon, m },
    backend.typedArrayFromHeap(dScaleInfo),
    backend.typedArrayFromHeap(dOffsetInfo),
  );
  const [pAt, qAt, rAt] = writeVectors(pool, scratch, [p, q, r]);
  pool.run(JobKind.BnBackwardApply, Math.min(APPLY_PARTS, m), [
    heapOffset(backend, dy),
    yAt,
    heapOffset(backend, x),
    pAt!,
    qAt!,
    rAt!,
    heapOffset(backend, dx),
    dRes ? heapOffset(backend, dRes) : 0,
    m,
    c,
  ]);
  return dRes ? [dx, dScaleInfo, dOffsetInfo, dRes] : [dx, dScaleInfo, dOffsetInfo];
}

type Info = TensorInfo;

/**
 * The training batch-norm kernels for wasm: the SIMD module's where it applies, else the JS
 * kernels of fused-batchnorm.ts. With BN + ReLU here, a ResNet's BN → [add →] ReLU is one pass
 * each way (the JS version lost to XNNPACK's separate Add and ReLU, so wasm had none).
 */
export function makeSimdBatchNormConfigs(): tf.KernelConfig[] {
  const mem = (backend: unknown) => memoryOf('wasm', backend as tf.KernelBackend);
  const forward =
    (relu: boolean): tf.KernelFunc =>
    ({ inputs, backend, attrs }) => {
      const { x, scale, offset, residual } = inputs as Record<string, Info | undefined>;
      const eps = attrs?.epsilon as number;
      const act = relu ? { residual } : undefined;
      const b = backend as unknown as WasmBackendLike;
      return (
        simdBatchNormForward(b, x!, scale!, offset!, eps, act) ??
        jsBatchNormForward(mem(backend), x!, scale!, offset!, eps, act)
      );
    };
  const backward =
    (relu: boolean): tf.KernelFunc =>
    ({ inputs, backend, attrs }) => {
      const { dy, x, mean, variance, scale, y } = inputs as Record<string, Info>;
      const eps = attrs?.epsilon as number;
      const act = relu ? { y: y!, residual: attrs?.residual === true } : undefined;
      const b = backend as unknown as WasmBackendLike;
      return (
        simdBatchNormBackward(b, dy!, x!, mean!, variance!, scale!, eps, act) ??
        jsBatchNormBackward(mem(backend), dy!, x!, mean!, variance!, scale!, eps, act)
      );
    };
  return [
    { kernelName: BN_TRAIN, backendName: 'wasm', kernelFunc: forward(false) },
    { kernelName: BN_TRAIN_GRAD, backendName: 'wasm', kernelFunc: backward(false) },
    { kernelName: BN_RELU_TRAIN, backendName: 'wasm', kernelFunc: forward(true) },
    { kernelName: BN_RELU_TRAIN_GRAD, backendName: 'wasm', kernelFunc: backward(true) },
  ];
}
