// Two gradients that tfjs computes slowly on wasm, as one pass each:
// - ReLU: tfjs builds dy · cast(step(x)) from three kernels and two activation-sized
//   temporaries, 19 times per ResNet20 step; here one loop (cpu and wasm backends; the native
//   backend's is C++, vectorised and threaded).
// - Average pooling whose windows tile the input (the global 8×8 pool of a ResNet): the stock
//   wasm AvgPoolGrad took 94 ms of a step on its own; spreading dy / (fh·fw) over each window
//   is one loop. Other poolings fall back to the stock kernel.
import * as tf from '@tensorflow/tfjs';
import { memoryOf } from '../kernel-memory.js';

export const RELU_GRAD = 'PretextReluGrad';
const BACKENDS = ['cpu', 'wasm'] as const;

function reluGradKernel(backendName: string): tf.KernelConfig {
  return {
    kernelName: RELU_GRAD,
    backendName,
    kernelFunc: ({ inputs, backend }) => {
      const { dy, x } = inputs as { dy: tf.TensorInfo; x: tf.TensorInfo };
      const mem = memoryOf(backendName, backend as tf.KernelBackend);
      const out = mem.alloc(x.shape);
      const g = mem.read(dy);
      const v = mem.read(x);
      const o = mem.view(out);
      // dy · step(x) as a multiply: `v > 0 ? g : 0` branches, and random signs make that 2.3× slower.
      for (let i = 0; i < o.length; i++) o[i] = g[i]! * +(v[i]! > 0);
      return out;
    },
  };
}

/**
 * ReLU's gradient from its output y: dy · step(y) (= dy · step(x), as y > 0 exactly where x > 0).
 * One kernel where the backend has it, else tfjs' own formula.
 */
export function reluGradFromOutput(dy: tf.Tensor, y: tf.Tensor): tf.Tensor {
  return y.dtype === 'float32' && dy.dtype === 'float32' && tf.getKernel(RELU_GRAD, tf.getBackend())
    ? (tf.engine().runKernel(RELU_GRAD, { dy, x: y }) as tf.Tensor)
    : tf.mul(dy, tf.cast(tf.step(y), 'float32'));
}

let installed = false;

/** Registers the ReLU gradient kernel and makes it Relu's gradient where it exists (once). */
export function installReluGrad(): void {
  if (installed) return;
  installed = true;
  for (const b of BACKENDS) if (!tf.getKernel(RELU_GRAD, b)) tf.registerKernel(reluGradKernel(b));
  if (tf.getGradient('Relu')) tf.unregisterGradient('Relu');
  // From the output, not the input: step(relu(x)) = step(x), and saving y (which the next layer
  // reads anyway) lets the input — a BN output or a residual sum — be freed after the forward op.
  tf.registerGradient({
    kernelName: 'Relu',
    outputsToSave: [true],
    gradFunc: (dy, saved) => {
      const [y] = saved as [tf.Tensor];
      return { x: () => reluGradFromOutput(dy as tf.Tensor, y) };
    },
  });
}

interface PoolAttrs {
  filterSize: number | [number, number];
  strides: number | [number, number];
  pad: 'valid' | 'same' | number | tf.backend_util.ExplicitPadding;
}

/** wasm AvgPoolGrad for pools whose windows tile the input exactly; else the stock kernel. */
export function makeAvgPoolGradConfig(stock: tf.KernelConfig | undefined): tf.KernelConfig {
  return {
    kernelName: 'AvgPoolGrad',
    backendName: 'wasm',
    kernelFunc: (args) => {
      const { dy, input } = args.inputs as { dy: tf.TensorInfo; input: tf.TensorInfo };
      const a = args.attrs as unknown as PoolAttrs;
      const [fh, fw] = typeof a.filterSize === 'number' ? [a.filterSize, a.filterSize] : a.filterSize;
      const [sh, sw] = typeof a.strides === 'number' ? [a.strides, a.strides] : a.strides;
      const [n, h, w, c] = input.shape as [number, number, number, number];
      const tiles =
        input.shape.length === 4 &&
        (a.pad === 'valid' || a.pad === 0) &&
        fh === sh &&
        fw === sw &&
        h % fh === 0 &&
        w % fw === 0 &&
        dy.dtype === 'float32';
      if (!tiles) {
        if (!stock) throw new Error('AvgPoolGrad: no stock wasm kernel to fall back to');
        return stock.kernelFunc(args);
      }
      const mem = memoryOf('wasm', args.backend as tf.KernelBackend);
      const out = mem.alloc(input.shape);
      const g = mem.read(dy);
      const o = mem.view(out);
      const [oh, ow] = [h / fh, w / fw];
      const k = 1 / (fh * fw);
      // Each window's scaled gradient once, copied to its fh·fw pixels: 0.39 ms for ResNet20's
      // global pool at batch 128, against 1.68 element by element.
      const scaled = new Float32Array(c);
      for (let b = 0; b < n; b++)
        for (let py = 0; py < oh; py++)
          for (let px = 0; px < ow; px++) {
            const base = ((b * oh + py) * ow + px) * c;
            for (let ch = 0; ch < c; ch++) scaled[ch] = g[base + ch]! * k;
            for (let y = py * fh; y < (py + 1) * fh; y++)
              for (let x = px * fw; x < (px + 1) * fw; x++) o.set(scaled, ((b * h + y) * w + x) * c);
          }
      return out;
    },
  };
}
