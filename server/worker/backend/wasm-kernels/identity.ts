// Identity that shares the input's data (a reference count), as the cpu backend's does. Stock
// tfjs-wasm copies it, and tfjs clones every tensor it saves for backprop: each saved activation
// was held twice, ~290 MB extra for ResNet20 at batch 128.
import type * as tf from '@tensorflow/tfjs';

interface RefCounting {
  incRef(dataId: object): void;
}

export function makeIdentityConfig(stock: tf.KernelConfig | undefined): tf.KernelConfig {
  return {
    kernelName: 'Identity',
    backendName: 'wasm',
    kernelFunc: (args) => {
      const { x } = args.inputs as { x: tf.TensorInfo };
      if (x.dtype === 'string' && stock) return stock.kernelFunc(args);
      (args.backend as unknown as RefCounting).incRef(x.dataId);
      return { dataId: x.dataId, shape: x.shape, dtype: x.dtype };
    },
  };
}
