// Sum over every axis but the last (each convolution's bias gradient): stock tfjs-wasm
// transposes the whole activation first, 115 ms of a ResNet20 step. Other sums go to the stock
// kernel. (The native backend replaces this with threaded C++.)
import type * as tf from '@tensorflow/tfjs';
import { channelSum, reducesAllButLast } from '../channel-loops.js';
import { memoryOf } from '../kernel-memory.js';

export function makeChannelSumConfig(stock: tf.KernelConfig | undefined): tf.KernelConfig {
  return {
    kernelName: 'Sum',
    backendName: 'wasm',
    kernelFunc: (args) => {
      const { x } = args.inputs as { x: tf.TensorInfo };
      const { axis, keepDims } = args.attrs as unknown as { axis: number | number[]; keepDims: boolean };
      if (x.dtype !== 'float32' || !reducesAllButLast(x.shape, axis)) {
        if (!stock) throw new Error('Sum: no stock wasm kernel to fall back to');
        return stock.kernelFunc(args);
      }
      const c = x.shape[x.shape.length - 1]!;
      const mem = memoryOf('wasm', args.backend as tf.KernelBackend);
      const out = mem.alloc(keepDims ? x.shape.map((d, i) => (i === x.shape.length - 1 ? d : 1)) : [c]);
      const sums = new Float64Array(c);
      channelSum(mem.read(x), c, sums);
      mem.view(out).set(sums);
      return out;
    },
  };
}
