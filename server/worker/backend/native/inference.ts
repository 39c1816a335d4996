// Inference through one native plan: a tfjs-layers model's leading convolutions, each with the
// batch norm after it folded into its weights and bias, and the ReLU / residual Add after it
// fused as oneDNN post-ops, run as one chain whose activations stay in oneDNN's blocked layout
// (no reorder, no wasm op, no JS between layers). What follows the chain (pooling, flatten, the
// dense head) runs as the model's own layers. Models the chain cannot take are left alone
// (compileInference returns undefined) and predict as before.
import * as tf from '@tensorflow/tfjs';
import { loadNative, type NativeAddon, type PlanStep } from '../../../shared/backends/native-addon.js';
import { nativeKernelsActive } from './kernels.js';

interface Step {
  src: number;
  sum: number;
  relu: boolean;
  weights: Float32Array;
  bias: Float32Array;
  shape: [number, number, number, number];
  strides: [number, number];
  padTL: [number, number];
  padBR: [number, number];
}

interface LayerInternals {
  inboundNodes: unknown[];
  input: tf.SymbolicTensor | tf.SymbolicTensor[];
  output: tf.SymbolicTensor | tf.SymbolicTensor[];
}

export interface InferencePlan {
  /** The model's output for a batch of NHWC images (inference mode). */
  predict(x: tf.Tensor4D): tf.Tensor;
  /** How many convolutions run fused in the native chain. */
  readonly convolutions: number;
  /** Frees the native plan (its primitives, weights and buffers). */
  dispose(): void;
}

const list = <T>(v: T | T[]): T[] => (Array.isArray(v) ? v : [v]);

/** The model's inference as a native plan, or undefined where its layers do not fit one. */
export function compileInference(model: tf.LayersModel, addon: NativeAddon): InferencePlan | undefined {
  if (model.inputs.length !== 1 || model.outputs.length !== 1) return undefined;
  const input = model.inputs[0]!;
  const [, h, w, c] = input.shape;
  if (input.shape.length !== 4 || !h || !w || !c) return undefined;

  // How many layers read each symbolic tensor (a fused tensor must have one reader).
  const readers = new Map<number, number>();
  for (const layer of model.layers) {
    if ((layer as unknown as LayerInternals).inboundNodes.length !== 1) return undefined;
    if (layer.getClassName() === 'InputLayer') continue;
    for (const t of list(layer.input)) readers.set(t.id, (readers.get(t.id) ?? 0) + 1);
  }
  const onlyReader = (t: tf.SymbolicTensor) => readers.get(t.id) === 1 && t.id !== model.outputs[0]!.id;

  const steps: Step[] = [];
  const dims: Array<[number, number, number]> = [[h, w, c]];
  const tensorOf = new Map<number, number>([[input.id, 0]]);
  // A step a later layer may still fuse into: its output read by that layer alone.
  const open = (t: tf.SymbolicTensor): Step | undefined => {
    const idx = tensorOf.get(t.id);
    if (idx === undefined || idx === 0 || !onlyReader(t)) return undefined;
    const step = steps[idx - 1]!;
    return step.relu ? undefined : step;
  };

  let tail = model.layers.length;
  for (let i = 0; i < model.layers.length; i++) {
    const layer = model.layers[i]!;
    const cls = layer.getClassName();
    if (cls === 'InputLayer') continue;
    const ins = list(layer.input);
    const out = layer.output as tf.SymbolicTensor;
    if (Array.isArray(layer.output) || ins.some((t) => !tensorOf.has(t.id))) {
      tail = i;
      break;
    }
    const config = layer.getConfig();
    const fused = (() => {
      if (cls === 'Conv2D' && ins.length === 1) {
        const src = tensorOf.get(ins[0]!.id)!;
        const activation = config.activation ?? 'linear';
        const dilation = list(config.dilationRate as number | number[]);
        if (
          (config.dataFormat ?? 'channelsLast') !== 'channelsLast' ||
          dilation.some((d) => d !== 1) ||
          (activation !== 'linear' && activation !== 'relu')
        )
          return false;
        const weights = layer.getWeights();
        const kernel = weights[0]!;
        const shape = kernel.shape as [number, number, number, number];
        const [sh, sw, sc] = dims[src]!;
        const info = tf.backend_util.computeConv2DInfo(
          [1, sh, sw, sc],
          shape,
          config.strides as [number, number],
          1,
          config.padding as 'same' | 'valid',
          undefined,
          false,
          'channelsLast',
        );
        const bias =
          config.useBias && weights[1] ? (weights[1].dataSync() as Float32Array) : new Float32Array(shape[3]);
        steps.push({
          src,
          sum: -1,
          relu: activation === 'relu',
          weights: Float32Array.from(kernel.dataSync() as Float32Array),
          bias: Float32Array.from(bias),
          shape,
          strides: [info.strideHeight, info.strideWidth],
          padTL: [info.padInfo.top, info.padInfo.left],
          padBR: [info.padInfo.bottom, info.padInfo.right],
        });
        dims.push([info.outHeight, info.outWidth, info.outChannels]);
        tensorOf.set(out.id, steps.length);
        return true;
      }
      if (cls === 'BatchNormalization' && ins.length === 1) {
        const step = open(ins[0]!);
        const axis = config.axis as number;
        if (!step || step.sum >= 0 || (axis !== -1 && axis !== 3)) return false;
        // y = γ (conv + b − mean) / √(var + ε) + β: the convolution's weights and bias, rescaled.
        const wts = layer.getWeights().map((t) => t.dataSync() as Float32Array);
        let k = 0;
        const cout = step.shape[3];
        const gamma = config.scale ? wts[k++]! : new Float32Array(cout).fill(1);
        const beta = config.center ? wts[k++]! : new Float32Array(cout);
        const mean = wts[k++]!;
        const variance = wts[k++]!;
        const eps = config.epsilon as number;
        for (let o = 0; o < cout; o++) {
          const s = gamma[o]! / Math.sqrt(variance[o]! + eps);
          step.bias[o] = (step.bias[o]! - mean[o]!) * s + beta[o]!;
          for (let j = o; j < step.weights.length; j += cout) step.weights[j]! *= s;
        }
        tensorOf.set(out.id, tensorOf.get(ins[0]!.id)!);
        return true;
      }
      if (
        (cls === 'Activation' && config.activation === 'relu') ||
        (cls === 'ReLU' && config.maxValue == null)
      ) {
        const step = open(ins[0]!);
        if (!step || ins.length !== 1) return false;
        step.relu = true;
        tensorOf.set(out.id, tensorOf.get(ins[0]!.id)!);
        return true;
      }
      if (cls === 'Add' && ins.length === 2) {
        // The later-computed operand's convolution adds the other one (already computed).
        const [a, b] = [...ins].sort((p, q) => tensorOf.get(q.id)! - tensorOf.get(p.id)!);
        const step = open(a!);
        const other = tensorOf.get(b!.id)!;
        if (!step || step.sum >= 0 || other === tensorOf.get(a!.id)) return false;
        step.sum = other;
        tensorOf.set(out.id, tensorOf.get(a!.id)!);
        return true;
      }
      return false;
    })();
    if (!fused) {
      tail = i;
      break;
    }
  }
  if (steps.length === 0) return undefined;

  // What follows the chain runs as the model's layers: one chain of single-input layers that
  // reads nothing of the plan but its output.
  const rest = model.layers.slice(tail);
  const first = rest[0] ? list(rest[0].input) : [model.outputs[0]!];
  if (first.length !== 1) return undefined;
  const output = tensorOf.get(first[0]!.id);
  if (output === undefined || output === 0) return undefined;
  for (let i = 1; i < rest.length; i++) {
    const ins = list(rest[i]!.input);
    if (ins.length !== 1 || ins[0]!.id !== (rest[i - 1]!.output as tf.SymbolicTensor).id) return undefined;
  }
  if (rest.length > 0 && (rest.at(-1)!.output as tf.SymbolicTensor).id !== model.outputs[0]!.id)
    return undefined;

  const native: PlanStep[] = steps.map((s) => [
    s.src,
    s.sum,
    s.relu ? 1 : 0,
    s.weights,
    s.bias,
    s.shape,
    s.strides,
    s.padTL,
    s.padBR,
  ]);
  let id: number | undefined = addon.planCreate([h, w, c], native, output);
  const [oh, ow, oc] = addon.planOutputShape(id);
  return {
    convolutions: steps.length,
    predict(x: tf.Tensor4D): tf.Tensor {
      if (id === undefined) throw new Error('inference plan used after dispose()');
      const [n, xh, xw, xc] = x.shape;
      if (xh !== h || xw !== w || xc !== c)
        throw new Error(`inference plan takes [n, ${h}, ${w}, ${c}] images, got [${x.shape}]`);
      const out = new Float32Array(n * oh * ow * oc);
      addon.planRun(id, x.dataSync() as Float32Array, n, out);
      return tf.tidy(() => {
        let y: tf.Tensor = tf.tensor4d(out, [n, oh, ow, oc]);
        for (const layer of rest) y = layer.apply(y) as tf.Tensor;
        return y;
      });
    },
    dispose() {
      if (id !== undefined) addon.planFree(id);
      id = undefined;
    },
  };
}

/**
 * The plan for `model` where the native kernels are the active backend's (PRETEXT_INFER_PLAN=0
 * turns it off), else undefined: callers then predict with the layers model. Built from the
 * weights as they are now: compile per evaluation, and dispose after it.
 */
export function nativeInferencePlan(model: tf.LayersModel): InferencePlan | undefined {
  if (!nativeKernelsActive() || tf.getBackend() !== 'wasm' || process.env.PRETEXT_INFER_PLAN === '0')
    return undefined;
  return compileInference(model, loadNative());
}
