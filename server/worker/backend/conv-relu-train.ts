// conv + bias (+ ReLU) as one taped op for training.
// - With ReLU: under a gradient tape tfjs splits fused.conv2d with an activation into Conv2D, Add
//   and Relu, and Add saves both of its inputs for backprop: the whole pre-activation lives until
//   the backward pass (290 MB per view for the first layer of the STL-10 encoder at batch 256).
//   Here the forward is the backend's own FusedConv2D kernel, and backprop keeps only x, the
//   filter and the output — which the next layer keeps anyway — because ReLU's gradient needs
//   only where the output is positive.
// - Without: tfjs' fused conv2d computes its gradients eagerly (customGrad), so a network's first
//   convolution computes the gradient of its input images, which nothing reads (6 ms of a
//   ResNet20 step on native). Here each gradient is a thunk that tfjs calls only when needed.
import * as tf from '@tensorflow/tfjs';
import { nodeReleaser, releaseWithNode } from './release-gradients.js';
import { reluGradFromOutput } from './wasm-kernels/activation-grads.js';

export const CONV_BIAS_RELU = 'PretextConv2DBiasRelu';
export const CONV_BIAS = 'PretextConv2DBias';
/** The filter's and the bias's gradients in one kernel ([dW, dBias]), where a backend has it. */
export const CONV_FILTER_BIAS_GRAD = 'PretextConv2DBackpropFilterBias';
/**
 * The same through the ReLU after the convolution, from dy and its output y ([dW, dBias] of
 * dy·step(y)), where a backend has it: a first layer's masked gradient is then never made whole
 * (580 MB for the SimCLR encoder's first layer at 512 views).
 */
export const CONV_FILTER_BIAS_RELU_GRAD = 'PretextConv2DBackpropFilterBiasRelu';

export interface ConvReluAttrs {
  strides: [number, number];
  pad: 'same' | 'valid';
}

/** Registers both ops on the active backend, delegating to its FusedConv2D; false where it has none. */
function ensureKernels(): boolean {
  const backendName = tf.getBackend();
  if (tf.getKernel(CONV_BIAS_RELU, backendName)) return true;
  if (!tf.getKernel('FusedConv2D', backendName)) return false;
  for (const kernelName of [CONV_BIAS_RELU, CONV_BIAS])
    tf.registerKernel({
      kernelName,
      backendName,
      // Looked up per call: the native backend swaps wasm's FusedConv2D for its own.
      kernelFunc: (args) => tf.getKernel('FusedConv2D', backendName)!.kernelFunc(args),
    });
  return true;
}

/**
 * A bias gradient computed with its filter's, waiting for its own thunk. tfjs calls one node's
 * thunks back to back (x, filter, bias), so one left here when the next filter thunk runs was
 * never asked for (its bias is not being differentiated): that one is freed then.
 */
let pendingBias: tf.Tensor | undefined;

/**
 * The three gradients as thunks of g(), the gradient at the pre-activation. With `unmasked`
 * (dy and the ReLU's output, while g has not been made), the filter's comes from the masked
 * kernel instead.
 */
function convGradients(
  x: tf.Tensor4D,
  filter: tf.Tensor4D,
  g: () => tf.Tensor4D,
  a: ConvReluAttrs,
  unmasked?: () => { dy: tf.Tensor4D; y: tf.Tensor4D } | undefined,
) {
  const attrs = { strides: a.strides, pad: a.pad, dataFormat: 'NHWC', filterShape: filter.shape };
  const filterGrad = () =>
    tf
      .engine()
      .runKernel('Conv2DBackpropFilter', { x, dy: g() }, attrs as unknown as tf.NamedAttrMap) as tf.Tensor;
  const inputGrad = () => tf.conv2dTranspose(g(), filter, x.shape, a.strides, a.pad);
  const biasGrad = () => tf.sum(g(), [0, 1, 2]);
  if (!tf.getKernel(CONV_FILTER_BIAS_GRAD, tf.getBackend()))
    return { x: inputGrad, filter: filterGrad, bias: biasGrad };
  // Both from one pass over g where the backend has the kernel (native: 21 channel sums fewer a
  // ResNet20 step); the bias's is kept (tf.keep) past the filter thunk's scope until its own.
  let mine: tf.Tensor | undefined;
  let biasDone = false;
  return {
    x: inputGrad,
    filter: () => {
      if (biasDone) return filterGrad();
      const relu = unmasked?.();
      const [dw, db] = (
        relu
          ? tf
              .engine()
              .runKernel(
                CONV_FILTER_BIAS_RELU_GRAD,
                { x, dy: relu.dy, y: relu.y },
                attrs as unknown as tf.NamedAttrMap,
              )
          : tf.engine().runKernel(CONV_FILTER_BIAS_GRAD, { x, dy: g() }, attrs as unknown as tf.NamedAttrMap)
      ) as tf.Tensor[];
      pendingBias?.dispose();
      pendingBias = mine = tf.keep(db!);
      return dw!;
    },
    bias: () => {
      biasDone = true;
      if (!mine || pendingBias !== mine) return biasGrad();
      pendingBias = undefined;
      // A clone (same data) in this thunk's scope, so that scopes track the gradient as usual.
      const out = tf.clone(mine);
      mine.dispose();
      return out;
    },
  };
}

let gradientsRegistered = false;

function registerGradients(): void {
  if (gradientsRegistered) return;
  gradientsRegistered = true;
  tf.registerGradient({
    kernelName: CONV_BIAS_RELU,
    inputsToSave: ['x', 'filter'],
    outputsToSave: [true],
    gradFunc: (dy, saved, attrs) => {
      const [x, filter, y] = saved as [tf.Tensor4D, tf.Tensor4D, tf.Tensor4D];
      const a = attrs as unknown as ConvReluAttrs;
      const release = nodeReleaser();
      if (!release || !tf.getKernel(CONV_FILTER_BIAS_RELU_GRAD, tf.getBackend())) {
        const g = reluGradFromOutput(dy as tf.Tensor4D, y) as tf.Tensor4D;
        // g serves all three thunks; freed with this node when gradients are released early.
        releaseWithNode(g);
        return convGradients(x, filter, () => g, a);
      }
      // g made on first use, by the input's thunk (tfjs calls x's first) or the bias's fallback;
      // a first layer (no input gradient) computes its filter's through the masked kernel.
      let g: tf.Tensor4D | undefined;
      const grad = () => {
        if (!g) {
          g = tf.keep(reluGradFromOutput(dy as tf.Tensor4D, y) as tf.Tensor4D);
          release(g);
        }
        return g;
      };
      return convGradients(x, filter, grad, a, () => (g ? undefined : { dy: dy as tf.Tensor4D, y }));
    },
  });
  tf.registerGradient({
    kernelName: CONV_BIAS,
    inputsToSave: ['x', 'filter'],
    gradFunc: (dy, saved, attrs) => {
      const [x, filter] = saved as [tf.Tensor4D, tf.Tensor4D];
      return convGradients(x, filter, () => dy as tf.Tensor4D, attrs as unknown as ConvReluAttrs);
    },
  });
}

/**
 * conv2d(x, filter) + bias, then ReLU if `relu`, NHWC, dilation 1, as one taped op; undefined
 * where the active backend has no FusedConv2D kernel (the caller then takes tfjs' own path).
 */
export function conv2dBiasTrain(
  x: tf.Tensor4D,
  filter: tf.Tensor4D,
  bias: tf.Tensor1D,
  attrs: ConvReluAttrs,
  relu: boolean,
): tf.Tensor4D | undefined {
  if (!ensureKernels()) return undefined;
  registerGradients();
  return tf.engine().runKernel(
    relu ? CONV_BIAS_RELU : CONV_BIAS,
    { x, filter, bias } as unknown as tf.NamedTensorMap,
    {
      strides: attrs.strides,
      pad: attrs.pad,
      dataFormat: 'NHWC',
      dilations: [1, 1],
      activation: relu ? 'relu' : 'linear',
    } as unknown as tf.NamedAttrMap,
  ) as tf.Tensor4D;
}
