// The 'native' backend: tfjs' wasm backend (XNNPACK for the many small ops) with its heaviest
// kernels — the three convolutions, training-mode batch norm (alone or with its residual and
// ReLU), ReLU and its gradient, same-shape Add — replaced by native calls that read and write the
// wasm heap in place. tfjs keeps NHWC/HWIO, which oneDNN and the addon's Winograd kernels (3×3,
// stride 1) take as they are.
import * as tf from '@tensorflow/tfjs';
import { CONV_FILTER_BIAS_GRAD, CONV_FILTER_BIAS_RELU_GRAD } from '../conv-relu-train.js';
import { ADAM_UPDATE, type AdamAttrs } from '../fused-adam.js';
import { BN_RELU_TRAIN, BN_RELU_TRAIN_GRAD, BN_TRAIN, BN_TRAIN_GRAD } from '../fused-batchnorm.js';
import { RELU_GRAD } from '../wasm-kernels/activation-grads.js';
import { replaceWasmKernel, type WasmBackendLike } from '../wasm-kernels/util.js';
import { reducesAllButLast } from '../channel-loops.js';
import type { ConvGeometry, NativeAddon } from '../../../shared/backends/native-addon.js';

type Info = tf.TensorInfo;

interface ConvAttrs {
  strides: number | [number, number];
  pad: 'valid' | 'same' | number | tf.backend_util.ExplicitPadding;
  dataFormat?: 'NHWC' | 'NCHW';
  dilations?: number | [number, number];
  dimRoundingMode?: 'floor' | 'round' | 'ceil';
}

/** oneDNN's view of one convolution: shapes and paddings from tfjs' own geometry helper. */
function geometry(xShape: number[], wShape: number[], attrs: ConvAttrs): ConvGeometry {
  const info = tf.backend_util.computeConv2DInfo(
    xShape as [number, number, number, number],
    wShape as [number, number, number, number],
    attrs.strides,
    attrs.dilations ?? 1,
    attrs.pad,
    attrs.dimRoundingMode,
    false,
    'channelsLast',
  );
  const { top, bottom, left, right } = info.padInfo;
  return [
    info.inShape as number[],
    wShape,
    info.outShape as number[],
    [info.strideHeight, info.strideWidth],
    [top, left],
    [bottom, right],
    [info.dilationHeight, info.dilationWidth],
  ];
}

const nhwc = (attrs: ConvAttrs) => attrs.dataFormat === undefined || attrs.dataFormat === 'NHWC';

/**
 * Per-channel [Σy…, Σy²…] of convolution outputs, by the output's data: what the training batch
 * norm that usually follows would otherwise read the whole output once more for. Keyed by dataId,
 * which tfjs makes anew for every tensor (and shares with reshapes of the same data), so an entry
 * can never describe other data.
 */
const outputMoments = new WeakMap<object, Float64Array>();
let momentsReused = 0;

/** How many batch norms took their statistics from the convolution before them (tests read it). */
export function batchNormsOnConvMoments(): number {
  return momentsReused;
}

function convForward(
  addon: NativeAddon,
  b: WasmBackendLike,
  x: Info,
  filter: Info,
  bias: Info | undefined,
  attrs: ConvAttrs,
  relu = false,
): Info {
  const g = geometry(x.shape, filter.shape, attrs);
  const out = b.makeOutput(g[2], 'float32');
  // Views after the allocation: growing wasm memory detaches older views.
  const h = (i: Info) => b.typedArrayFromHeap(i);
  if (!relu && addon.convForwardMoments) {
    const moments = new Float64Array(2 * g[2][3]!);
    if (addon.convForwardMoments(h(x), h(filter), bias ? h(bias) : null, h(out), ...g, 0, moments))
      outputMoments.set(out.dataId, moments);
  } else addon.convForward(h(x), h(filter), bias ? h(bias) : null, h(out), ...g, relu ? 1 : 0);
  return out;
}

/** Conv2DBackpropFilter's dW, and with `withBias` the bias's gradient from the same pass over dy. */
function convFilterGradients(
  addon: NativeAddon,
  args: Parameters<tf.KernelFunc>[0],
  withBias: boolean,
): Info[] {
  const attrs = args.attrs as unknown as ConvAttrs & { filterShape: number[] };
  // y: the output of the ReLU after the convolution (the masked kernel only).
  const { x, dy, y } = args.inputs as { x: Info; dy: Info; y?: Info };
  const b = args.backend as unknown as WasmBackendLike;
  const g = geometry(x.shape, attrs.filterShape, attrs);
  const dw = b.makeOutput(g[1], 'float32');
  const db = withBias ? b.makeOutput([g[1][3]!], 'float32') : undefined;
  const h = (i: Info) => b.typedArrayFromHeap(i);
  if (y) addon.convBackwardWeightsMasked!(h(x), h(dy), h(dw), ...g, db ? h(db) : null, h(y));
  else if (db) addon.convBackwardWeightsBias!(h(x), h(dy), h(dw), ...g, h(db));
  else addon.convBackwardWeights(h(x), h(dy), h(dw), ...g);
  return db ? [dw, db] : [dw];
}

/** Kernel configs for backend 'wasm'; each falls back to `stock` for what it does not cover. */
export function makeNativeKernelConfigs(addon: NativeAddon): tf.KernelConfig[] {
  // The kernels in place before ours (stock or pretext's wasm ones) take NCHW and fused
  // activations, which these do not.
  const stock = new Map(
    ['Conv2D', 'FusedConv2D', 'Conv2DBackpropInput', 'Conv2DBackpropFilter', 'Sum', 'Relu', 'Add'].map(
      (n) => [n, tf.getKernel(n, 'wasm')],
    ),
  );
  const call = (name: string, args: Parameters<tf.KernelFunc>[0]) => {
    const k = stock.get(name);
    if (!k) throw new Error(`${name}: attributes not supported by the native kernel`);
    return k.kernelFunc(args);
  };
  return [
    {
      kernelName: 'Conv2D',
      backendName: 'wasm',
      kernelFunc: (args) => {
        const attrs = args.attrs as unknown as ConvAttrs;
        if (!nhwc(attrs)) return call('Conv2D', args);
        const { x, filter } = args.inputs as { x: Info; filter: Info };
        return convForward(addon, args.backend as unknown as WasmBackendLike, x, filter, undefined, attrs);
      },
    },
    {
      kernelName: 'FusedConv2D',
      backendName: 'wasm',
      kernelFunc: (args) => {
        const attrs = args.attrs as unknown as ConvAttrs & { activation?: string };
        const { x, filter, bias, preluActivationWeights } = args.inputs as Record<string, Info | undefined>;
        const linear = attrs.activation === undefined || attrs.activation === 'linear';
        const relu = attrs.activation === 'relu';
        if (!nhwc(attrs) || !(linear || relu) || preluActivationWeights || (bias && bias.shape.length !== 1))
          return call('FusedConv2D', args);
        return convForward(addon, args.backend as unknown as WasmBackendLike, x!, filter!, bias, attrs, relu);
      },
    },
    {
      kernelName: 'Conv2DBackpropInput',
      backendName: 'wasm',
      kernelFunc: (args) => {
        const attrs = args.attrs as unknown as ConvAttrs & { inputShape: number[] };
        if (!nhwc(attrs)) return call('Conv2DBackpropInput', args);
        const { dy, filter } = args.inputs as { dy: Info; filter: Info };
        const b = args.backend as unknown as WasmBackendLike;
        const g = geometry(attrs.inputShape, filter.shape, attrs);
        const dx = b.makeOutput(g[0], 'float32');
        const h = (i: Info) => b.typedArrayFromHeap(i);
        addon.convBackwardData(h(dy), h(filter), h(dx), ...g);
        return dx;
      },
    },
    {
      kernelName: 'Conv2DBackpropFilter',
      backendName: 'wasm',
      kernelFunc: (args) => {
        if (!nhwc(args.attrs as unknown as ConvAttrs)) return call('Conv2DBackpropFilter', args);
        return convFilterGradients(addon, args, false)[0]!;
      },
    },
    ...(addon.adamUpdate
      ? [
          {
            // fused-adam.ts' update, threaded in the addon (the same bits).
            kernelName: ADAM_UPDATE,
            backendName: 'wasm',
            kernelFunc: (args: Parameters<tf.KernelFunc>[0]) => {
              const { x, m, v, g, accBeta1, accBeta2 } = args.inputs as Record<string, Info>;
              const a = args.attrs as unknown as AdamAttrs;
              const b = args.backend as unknown as WasmBackendLike;
              const outs = [x!, x!, x!].map((i) => b.makeOutput(i.shape, 'float32'));
              const h = (i: Info) => b.typedArrayFromHeap(i);
              const c1 = 1 - h(accBeta1!)[0]!;
              const c2 = 1 - h(accBeta2!)[0]!;
              const [ox, om, ov] = outs.map(h) as [Float32Array, Float32Array, Float32Array];
              addon.adamUpdate!(
                h(x!),
                h(m!),
                h(v!),
                h(g!),
                ox,
                om,
                ov,
                c1,
                c2,
                a.learningRate,
                a.beta1,
                a.beta2,
                a.epsilon,
              );
              return outs;
            },
          },
        ]
      : []),
    ...(addon.convBackwardWeightsMasked
      ? [
          {
            // Through the ReLU after the convolution: the filter's and the bias's gradients of
            // dy·step(y) (conv-relu-train.ts asks with NHWC only).
            kernelName: CONV_FILTER_BIAS_RELU_GRAD,
            backendName: 'wasm',
            kernelFunc: (args: Parameters<tf.KernelFunc>[0]) => convFilterGradients(addon, args, true),
          },
        ]
      : []),
    ...(addon.convBackwardWeightsBias
      ? [
          {
            // The filter's and the bias's gradients from one pass over dy.
            kernelName: CONV_FILTER_BIAS_GRAD,
            backendName: 'wasm',
            kernelFunc: (args: Parameters<tf.KernelFunc>[0]) => {
              // conv-relu-train.ts asks for it with NHWC only.
              return convFilterGradients(addon, args, true);
            },
          },
        ]
      : []),
    {
      // Conv bias gradients: threaded, vectorised channel sums.
      kernelName: 'Sum',
      backendName: 'wasm',
      kernelFunc: (args) => {
        const { x } = args.inputs as { x: Info };
        const { axis, keepDims } = args.attrs as unknown as { axis: number | number[]; keepDims: boolean };
        if (x.dtype !== 'float32' || !reducesAllButLast(x.shape, axis)) return call('Sum', args);
        const b = args.backend as unknown as WasmBackendLike;
        const c = x.shape[x.shape.length - 1]!;
        const out = b.makeOutput(
          keepDims ? x.shape.map((d, i) => (i === x.shape.length - 1 ? d : 1)) : [c],
          'float32',
        );
        addon.channelSum(b.typedArrayFromHeap(x), b.typedArrayFromHeap(out), c);
        return out;
      },
    },
    ...elementwiseConfigs(addon, call),
    {
      kernelName: RELU_GRAD,
      backendName: 'wasm',
      kernelFunc: ({ inputs, backend }) => {
        const { dy, x } = inputs as { dy: Info; x: Info };
        const b = backend as unknown as WasmBackendLike;
        const dx = b.makeOutput(x.shape, 'float32');
        addon.reluGrad(b.typedArrayFromHeap(dy), b.typedArrayFromHeap(x), b.typedArrayFromHeap(dx));
        return dx;
      },
    },
    { kernelName: BN_TRAIN, backendName: 'wasm', kernelFunc: batchNormForward(addon, false) },
    { kernelName: BN_TRAIN_GRAD, backendName: 'wasm', kernelFunc: batchNormBackward(addon, false) },
    // BN (+ residual) + ReLU where the addon has it (older builds keep the JS kernels).
    ...(addon.bnActForward && addon.bnActBackward
      ? [
          { kernelName: BN_RELU_TRAIN, backendName: 'wasm', kernelFunc: batchNormForward(addon, true) },
          { kernelName: BN_RELU_TRAIN_GRAD, backendName: 'wasm', kernelFunc: batchNormBackward(addon, true) },
        ]
      : []),
  ];
}

/** Training batch norm forward, [y, mean, variance]; with `relu`, y = relu(bn(x) [+ residual]). */
function batchNormForward(addon: NativeAddon, relu: boolean): tf.KernelFunc {
  return ({ inputs, backend, attrs }) => {
    const { x, scale, offset, residual } = inputs as Record<string, Info | undefined>;
    const b = backend as unknown as WasmBackendLike;
    const c = x!.shape[x!.shape.length - 1]!;
    const y = b.makeOutput(x!.shape, 'float32');
    const mean = b.makeOutput([c], 'float32');
    const variance = b.makeOutput([c], 'float32');
    const h = (i: Info) => b.typedArrayFromHeap(i);
    const args = [
      h(x!),
      h(scale!),
      h(offset!),
      h(y),
      h(mean),
      h(variance),
      c,
      attrs?.epsilon as number,
    ] as const;
    const moments = outputMoments.get(x!.dataId);
    if (moments?.length === 2 * c && addon.bnForwardMoments) {
      momentsReused++;
      addon.bnForwardMoments(...args, residual ? h(residual) : null, relu ? 1 : 0, moments);
    } else if (relu) addon.bnActForward!(...args, residual ? h(residual) : null, 1);
    else addon.bnForward(...args);
    return [y, mean, variance];
  };
}

/**
 * Its gradient, [dx, dScale, dOffset]; with `relu`, through ReLU first (input y, the forward's
 * output), and dResidual appended when attrs.residual.
 */
function batchNormBackward(addon: NativeAddon, relu: boolean): tf.KernelFunc {
  return ({ inputs, backend, attrs }) => {
    const { dy, x, mean, variance, scale, y } = inputs as Record<string, Info>;
    const b = backend as unknown as WasmBackendLike;
    const c = x!.shape[x!.shape.length - 1]!;
    const dx = b.makeOutput(x!.shape, 'float32');
    const dScale = b.makeOutput([c], 'float32');
    const dOffset = b.makeOutput([c], 'float32');
    const dResidual = relu && attrs?.residual === true ? b.makeOutput(x!.shape, 'float32') : undefined;
    const h = (i: Info) => b.typedArrayFromHeap(i);
    const args = [
      h(dy!),
      h(x!),
      h(mean!),
      h(variance!),
      h(scale!),
      h(dx),
      h(dScale),
      h(dOffset),
      c,
      attrs?.epsilon as number,
    ] as const;
    if (relu) addon.bnActBackward!(...args, h(y!), dResidual ? h(dResidual) : null);
    else addon.bnBackward(...args);
    return dResidual ? [dx, dScale, dOffset, dResidual] : [dx, dScale, dOffset];
  };
}

/**
 * ReLU and same-shape Add, threaded (tfjs-wasm's run on one thread under native: 56 ms of a
 * ResNet20 step); broadcasting adds and other dtypes go to the stock kernels.
 */
function elementwiseConfigs(
  addon: NativeAddon,
  call: (name: string, args: Parameters<tf.KernelFunc>[0]) => ReturnType<tf.KernelFunc>,
): tf.KernelConfig[] {
  const { relu, add } = addon;
  if (!relu || !add) return [];
  return [
    {
      kernelName: 'Relu',
      backendName: 'wasm',
      kernelFunc: (args) => {
        const { x } = args.inputs as { x: Info };
        if (x.dtype !== 'float32') return call('Relu', args);
        const b = args.backend as unknown as WasmBackendLike;
        const y = b.makeOutput(x.shape, 'float32');
        relu.call(addon, b.typedArrayFromHeap(x), b.typedArrayFromHeap(y));
        return y;
      },
    },
    {
      kernelName: 'Add',
      backendName: 'wasm',
      kernelFunc: (args) => {
        const { a, b: other } = args.inputs as { a: Info; b: Info };
        if (a.dtype !== 'float32' || other.dtype !== 'float32' || !tf.util.arraysEqual(a.shape, other.shape))
          return call('Add', args);
        const b = args.backend as unknown as WasmBackendLike;
        const out = b.makeOutput(a.shape, 'float32');
        add.call(addon, b.typedArrayFromHeap(a), b.typedArrayFromHeap(other), b.typedArrayFromHeap(out));
        return out;
      },
    },
  ];
}

/** The wasm kernels the native ones replaced, while they are registered. */
let replaced: Array<tf.KernelConfig | string> | undefined;

/** Replaces the wasm kernels by the native ones (idempotent); after the wasm and pretext kernels. */
export function registerNativeKernels(addon: NativeAddon): void {
  if (replaced) return;
  replaced = [];
  for (const config of makeNativeKernelConfigs(addon))
    replaced.push(replaceWasmKernel(config) ?? config.kernelName);
}

/** Puts the replaced wasm kernels back: plain 'wasm' after 'native' in one process. */
export function unregisterNativeKernels(): void {
  if (!replaced) return;
  for (const previous of replaced) {
    const name = typeof previous === 'string' ? previous : previous.kernelName;
    tf.unregisterKernel(name, 'wasm');
    if (typeof previous !== 'string') tf.registerKernel(previous);
  }
  replaced = undefined;
}

/** Whether the native kernels are the wasm backend's now. */
export function nativeKernelsActive(): boolean {
  return replaced !== undefined;
}
