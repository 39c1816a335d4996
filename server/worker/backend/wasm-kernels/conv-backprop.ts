// Convolution gradients for the wasm backend, both expressed as ordinary forward convolutions so
// that they run on XNNPACK (SIMD, threaded). Stock tfjs-wasm has no Conv2DBackpropFilter at all
// and its Conv2DBackpropInput is a naive scalar loop.
import type * as tf from '@tensorflow/tfjs';
import { CONV_FILTER_BIAS_GRAD } from '../conv-relu-train.js';
import { simdFilterGradients, simdForward, simdInputGradient } from './simd-kernels.js';
import {
  convInfo,
  dispose,
  type NamedAttrs,
  run,
  type TensorInfo,
  transpose,
  type WasmBackendLike,
} from './util.js';

interface ConvGradAttrs {
  strides: number | [number, number];
  pad: 'valid' | 'same' | number | tf.backend_util.ExplicitPadding;
  dataFormat: 'NHWC' | 'NCHW';
  dimRoundingMode?: 'floor' | 'round' | 'ceil';
}

/** The original (stock) kernels handle what these do not: NCHW. */
function supported(attrs: ConvGradAttrs): boolean {
  return attrs.dataFormat === 'NHWC' || attrs.dataFormat === undefined;
}

/**
 * dW[i,j,c,o] = Σ_{n,y,x} X[n, y·s+i−pt, x·s+j−pl, c] · dY[n,y,x,o]: a convolution of X with
 * channels and batch swapped ([C, H, W, N]) by dY as the filter ([Ho, Wo, N, O]), dilated by
 * the stride; its output [C, kh, kw, O] is transposed to [kh, kw, C, O].
 */
export function conv2DBackpropFilter(
  backend: WasmBackendLike,
  x: TensorInfo,
  dy: TensorInfo,
  filterShape: number[],
  attrs: ConvGradAttrs,
): TensorInfo {
  const info = convInfo(x.shape, filterShape, attrs);
  const { filterHeight: kh, filterWidth: kw, strideHeight: sh, strideWidth: sw } = info;
  const { top, left } = info.padInfo;
  const [, h, w] = x.shape as [number, number, number, number];
  const { outHeight: ho, outWidth: wo } = info;
  // Padding after the image so that exactly kh×kw outputs come out; negative = rows never read.
  const bottom = kh + (ho - 1) * sh - h - top;
  const right = kw + (wo - 1) * sw - w - left;

  let xT = transpose(backend, x, [3, 1, 2, 0]);
  if (bottom < 0 || right < 0) {
    const cropped = run(
      'Slice',
      backend,
      { x: xT },
      { begin: [0, 0, 0, 0], size: [-1, h + Math.min(bottom, 0), w + Math.min(right, 0), -1] },
    );
    dispose(backend, xT);
    xT = cropped;
  }
  const dyT = transpose(backend, dy, [1, 2, 0, 3]);
  const pad: tf.backend_util.ExplicitPadding = [
    [0, 0],
    [top, Math.max(bottom, 0)],
    [left, Math.max(right, 0)],
    [0, 0],
  ];
  const out = run('Conv2D', backend, { x: xT, filter: dyT }, {
    strides: [1, 1],
    pad,
    dilations: [sh, sw],
    dataFormat: 'NHWC',
    dimRoundingMode: undefined,
  } as unknown as NamedAttrs);
  dispose(backend, xT, dyT);
  const dw = transpose(backend, out, [1, 2, 0, 3]);
  dispose(backend, out);
  return dw;
}

/** Spreads dy's pixels `stride` apart (zeros between): the input of a transposed convolution. */
function dilate(backend: WasmBackendLike, dy: TensorInfo, sh: number, sw: number): TensorInfo {
  const [n, ho, wo, c] = dy.shape as [number, number, number, number];
  const hd = (ho - 1) * sh + 1;
  const wd = (wo - 1) * sw + 1;
  const out = backend.makeOutput([n, hd, wd, c], 'float32');
  // Views are taken after the allocation: growing wasm memory detaches older views.
  const src = backend.typedArrayFromHeap(dy);
  const dst = backend.typedArrayFromHeap(out);
  dst.fill(0);
  for (let b = 0; b < n; b++) {
    for (let y = 0; y < ho; y++) {
      const rowSrc = (b * ho + y) * wo * c;
      const rowDst = (b * hd + y * sh) * wd * c;
      for (let x = 0; x < wo; x++) {
        const s = rowSrc + x * c;
        dst.set(src.subarray(s, s + c), rowDst + x * sw * c);
      }
    }
  }
  return out;
}

/**
 * dX = the transposed convolution of dY: a forward convolution of dY (dilated by the stride)
 * with the filter flipped spatially and its in/out channels swapped.
 */
export function conv2DBackpropInput(
  backend: WasmBackendLike,
  dy: TensorInfo,
  filter: TensorInfo,
  inputShape: number[],
  attrs: ConvGradAttrs,
): TensorInfo | undefined {
  const info = convInfo(inputShape, filter.shape, attrs);
  const { filterHeight: kh, filterWidth: kw, strideHeight: sh, strideWidth: sw } = info;
  const { top, left } = info.padInfo;
  const [, h, w] = inputShape as [number, number, number, number];
  const hd = (info.outHeight - 1) * sh + 1;
  const wd = (info.outWidth - 1) * sw + 1;
  const pt = kh - 1 - top;
  const pl = kw - 1 - left;
  const pb = h - hd - pt + kh - 1;
  const pr = w - wd - pl + kw - 1;
  if (pt < 0 || pl < 0 || pb < 0 || pr < 0) return undefined;

  const flipped = run('Reverse', backend, { x: filter }, { dims: [0, 1] });
  const swapped = transpose(backend, flipped, [0, 1, 3, 2]);
  dispose(backend, flipped);
  const input = sh > 1 || sw > 1 ? dilate(backend, dy, sh, sw) : dy;
  const dx = run('Conv2D', backend, { x: input, filter: swapped }, {
    strides: [1, 1],
    pad: [
      [0, 0],
      [pt, pb],
      [pl, pr],
      [0, 0],
    ],
    dilations: [1, 1],
    dataFormat: 'NHWC',
    dimRoundingMode: undefined,
  } as unknown as NamedAttrs);
  dispose(backend, swapped);
  if (input !== dy) dispose(backend, input);
  return dx;
}

/** [dW] or [dW, dBias]: pretext's SIMD kernel where it applies, else XNNPACK (and a channel sum). */
function filterGradients(
  backend: WasmBackendLike,
  x: TensorInfo,
  dy: TensorInfo,
  a: ConvGradAttrs & { filterShape: number[] },
  bias: boolean,
): TensorInfo[] {
  const simd = simdFilterGradients(backend, x, dy, a.filterShape, a, bias);
  if (simd) return simd;
  const dw = conv2DBackpropFilter(backend, x, dy, a.filterShape, a);
  if (!bias) return [dw];
  return [dw, run('Sum', backend, { x: dy }, { axis: [0, 1, 2], keepDims: false })];
}

interface FusedConvAttrs extends ConvGradAttrs {
  dilations: number | [number, number];
  activation: string;
}

/** FusedConv2D through pretext's SIMD module (NHWC, no dilation, linear or ReLU), else `stock`. */
export function makeFusedConvConfig(stock: tf.KernelConfig | undefined): tf.KernelConfig {
  return {
    kernelName: 'FusedConv2D',
    backendName: 'wasm',
    kernelFunc: (args) => {
      const a = args.attrs as unknown as FusedConvAttrs;
      const { x, filter, bias, preluActivationWeights } = args.inputs as Record<
        string,
        TensorInfo | undefined
      >;
      const dilated = typeof a.dilations === 'number' ? a.dilations !== 1 : a.dilations.some((d) => d !== 1);
      const activation = a.activation ?? 'linear';
      const simd =
        supported(a) &&
        !dilated &&
        !preluActivationWeights &&
        (activation === 'linear' || activation === 'relu')
          ? simdForward(
              args.backend as unknown as WasmBackendLike,
              x!,
              filter!,
              bias,
              a,
              activation === 'relu',
            )
          : undefined;
      if (simd) return simd;
      if (!stock) throw new Error('FusedConv2D: no stock wasm kernel to fall back to');
      return stock.kernelFunc(args);
    },
  };
}

export function makeConvBackpropConfigs(stockInput: tf.KernelConfig | undefined): tf.KernelConfig[] {
  return [
    {
      kernelName: 'Conv2DBackpropFilter',
      backendName: 'wasm',
      kernelFunc: ({ inputs, backend, attrs }) => {
        const a = attrs as unknown as ConvGradAttrs & { filterShape: number[] };
        if (!supported(a)) throw new Error('pretext wasm Conv2DBackpropFilter supports NHWC only');
        const { x, dy } = inputs as { x: TensorInfo; dy: TensorInfo };
        return filterGradients(backend as unknown as WasmBackendLike, x, dy, a, false)[0]!;
      },
    },
    {
      // The filter's and the bias's gradients together (conv-relu-train.ts asks with NHWC only).
      kernelName: CONV_FILTER_BIAS_GRAD,
      backendName: 'wasm',
      kernelFunc: ({ inputs, backend, attrs }) => {
        const a = attrs as unknown as ConvGradAttrs & { filterShape: number[] };
        if (!supported(a)) throw new Error('pretext wasm Conv2DBackpropFilter supports NHWC only');
        const { x, dy } = inputs as { x: TensorInfo; dy: TensorInfo };
        return filterGradients(backend as unknown as WasmBackendLike, x, dy, a, true);
      },
    },
    {
      kernelName: 'Conv2DBackpropInput',
      backendName: 'wasm',
      kernelFunc: (args) => {
        const a = args.attrs as unknown as ConvGradAttrs & { inputShape: number[] };
        const { dy, filter } = args.inputs as { dy: TensorInfo; filter: TensorInfo };
        const b = args.backend as unknown as WasmBackendLike;
        const simd = supported(a) ? simdInputGradient(b, dy, filter, a.inputShape, a) : undefined;
        if (simd) return simd;
        const fast = supported(a)
          ? conv2DBackpropInput(args.backend as unknown as WasmBackendLike, dy, filter, a.inputShape, a)
          : undefined;
        if (fast) return fast;
        if (!stockInput) throw new Error('Conv2DBackpropInput: unsupported attributes for the fast path');
        return stockInput.kernelFunc(args);
      },
    },
  ];
}
