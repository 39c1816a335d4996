// Sum over every axis but the last (float32): the bias gradient of every convolution. Stock
// tfjs-wasm transposes the whole activation so that the reduced axes come last, then reduces;
// here it is one linear pass with float64 channel accumulators.
import type * as tf from '@tensorflow/tfjs';
import type { TensorInfo, WasmBackendLike } from './util.js';

export function reducesAllButLast(shape: number[], axis: number | number[]): boolean {
  const axes = (Array.isArray(axis) ? axis : [axis]).map((a) => (a < 0 ? a + shape.length : a));
  if (shape.length < 2 || axes.length !== shape.length - 1) return false;
  return [...axes].sort((a, b) => a - b).every((a, i) => a === i);
}

export function makeChannelSumConfig(stock: tf.KernelConfig | undefined): tf.KernelConfig {
  return {
    kernelName: 'Sum',
    backendName: 'wasm',
    kernelFunc: (args) => {
      const { x } = args.inputs as { x: TensorInfo };
      const { axis, keepDims } = args.attrs as unknown as { axis: number | number[]; keepDims: boolean };
      if (x.dtype !== 'float32' || !reducesAllButLast(x.shape, axis)) {
        if (!stock) throw new Error('Sum: no stock wasm kernel to fall back to');
        return stock.kernelFunc(args);
      }
      const backend = args.backend as unknown as WasmBackendLike;
      const c = x.shape[x.shape.length - 1]!;
      const out = backend.makeOutput(
        keepDims ? x.shape.map((d, i) => (i === x.shape.length - 1 ? d : 1)) : [c],
        'float32',
      );
      const xs = backend.typedArrayFromHeap(x);
      const acc = new Float64Array(c);
      for (let i = 0; i < xs.length; i += c) {
        for (let k = 0; k < c; k++) acc[k]! += xs[i + k]!;
      }
      backend.typedArrayFromHeap(out).set(acc);
      return out;
    },
  };
}
