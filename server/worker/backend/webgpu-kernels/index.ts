// pretext's fused training kernels for the webgpu backend, registered under the same names as
// the cpu/wasm ones (fused-adam.ts, fused-batchnorm.ts), so the optimizer and the batch-norm
// layer pick them up unchanged: Adam in 3 dispatches per variable (tfjs: ~13), batch norm in 3
// forward (tfjs: moments + normalisation, ~8) and 3 backward (tfjs' autograd: ~15), and the
// moving averages' update in 1 (tfjs: 3).
import * as tf from '@tensorflow/tfjs';
import { ADAM_UPDATE } from '../fused-adam.js';
import { BN_TRAIN, BN_TRAIN_GRAD, MOVING_AVERAGE } from '../fused-batchnorm.js';
import {
  ADAM_INPUTS,
  adamProgram,
  inputGradProgram,
  meanProgram,
  movingAverageProgram,
  normalizeProgram,
  type Program,
  sumDyProgram,
  sumDyXhatProgram,
  varianceProgram,
} from './programs.js';

type Info = tf.TensorInfo;
type Uniform = { type: 'float32' | 'int32'; data: number[] };

interface WebGPUBackendInternals {
  runWebGPUProgram(program: Program, inputs: Info[], dtype: 'float32', uniforms?: Uniform[]): Info;
}

const size = (info: Info) => info.shape.reduce((a, b) => a * b, 1);
/** The same buffer seen as 1-D: the programs index flat arrays (a view, no copy, no dispatch). */
const flat = (info: Info): Info => ({ dataId: info.dataId, shape: [size(info)], dtype: info.dtype });
const shaped = (out: Info, shape: number[]): Info => ({ ...out, shape });

function run(backend: tf.KernelBackend, program: Program, inputs: Info[], uniforms: Uniform[]): Info {
  return (backend as unknown as WebGPUBackendInternals).runWebGPUProgram(
    program,
    inputs.map(flat),
    'float32',
    uniforms,
  );
}

const f32 = (...data: number[]): Uniform => ({ type: 'float32', data });
const i32 = (...data: number[]): Uniform => ({ type: 'int32', data });

interface AdamAttrs {
  learningRate: number;
  beta1: number;
  beta2: number;
  epsilon: number;
}

function adam(backend: tf.KernelBackend, inputs: Record<string, Info>, a: AdamAttrs): Info[] {
  const { x, m, v, g, accBeta1, accBeta2 } = inputs as Record<
    'x' | 'm' | 'v' | 'g' | 'accBeta1' | 'accBeta2',
    Info
  >;
  const n = size(x);
  const uniforms = [f32(a.learningRate), f32(a.beta1), f32(a.beta2), f32(a.epsilon)];
  const byName: Record<string, Info> = { X: x, M: m, V: v, G: g, B1: accBeta1, B2: accBeta2 };
  return (['x', 'm', 'v'] as const).map((part) => {
    const inputs = ADAM_INPUTS[part].map((name) => byName[name]!);
    return shaped(run(backend, adamProgram(n, part), inputs, uniforms), x.shape);
  });
}

function channelsOf(x: Info): { c: number; rows: number } {
  const c = x.shape[x.shape.length - 1]!;
  return { c, rows: size(x) / c };
}

function bnForward(backend: tf.KernelBackend, x: Info, scale: Info, offset: Info, epsilon: number): Info[] {
  const { c, rows } = channelsOf(x);
  const stats = [i32(c), i32(rows), f32(epsilon)];
  const mean = run(backend, meanProgram(c), [x], stats);
  const variance = run(backend, varianceProgram(c), [x, mean], stats);
  const y = run(
    backend,
    normalizeProgram(size(x)),
    [x, mean, variance, scale, offset],
    [i32(c), f32(epsilon)],
  );
  return [shaped(y, x.shape), mean, variance];
}

function bnBackward(backend: tf.KernelBackend, inputs: Record<string, Info>, epsilon: number): Info[] {
  const { dy, x, mean, variance, scale } = inputs as Record<'dy' | 'x' | 'mean' | 'variance' | 'scale', Info>;
  const { c, rows } = channelsOf(x);
  const uniforms = [i32(c), i32(rows), f32(epsilon)];
  const dOffset = run(backend, sumDyProgram(c), [dy], uniforms);
  const dScale = run(backend, sumDyXhatProgram(c), [dy, x, mean, variance], uniforms);
  const dx = run(
    backend,
    inputGradProgram(size(x)),
    [dy, x, mean, variance, scale, dScale, dOffset],
    uniforms,
  );
  return [shaped(dx, x.shape), dScale, dOffset];
}

let registered = false;

/** Registers the fused kernels for 'webgpu' (idempotent; the gradients are fused-batchnorm.ts'). */
export function registerWebgpuKernels(): void {
  if (registered) return;
  registered = true;
  tf.registerKernel({
    kernelName: ADAM_UPDATE,
    backendName: 'webgpu',
    kernelFunc: ({ inputs, backend, attrs }) =>
      adam(backend as tf.KernelBackend, inputs as Record<string, Info>, attrs as unknown as AdamAttrs),
  });
  tf.registerKernel({
    kernelName: BN_TRAIN,
    backendName: 'webgpu',
    kernelFunc: ({ inputs, backend, attrs }) => {
      const { x, scale, offset } = inputs as { x: Info; scale: Info; offset: Info };
      return bnForward(backend as tf.KernelBackend, x, scale, offset, attrs?.epsilon as number);
    },
  });
  tf.registerKernel({
    kernelName: BN_TRAIN_GRAD,
    backendName: 'webgpu',
    kernelFunc: ({ inputs, backend, attrs }) =>
      bnBackward(backend as tf.KernelBackend, inputs as Record<string, Info>, attrs?.epsilon as number),
  });
  tf.registerKernel({
    kernelName: MOVING_AVERAGE,
    backendName: 'webgpu',
    kernelFunc: ({ inputs, backend, attrs }) => {
      const { old, value } = inputs as { old: Info; value: Info };
      const out = run(
        backend as tf.KernelBackend,
        movingAverageProgram(size(old)),
        [old, value],
        [f32(attrs?.decay as number)],
      );
      return shaped(out, old.shape);
    },
  });
}

/** Removes them again: tfjs' own ops run instead (for comparisons in tests and benchmarks). */
export function unregisterWebgpuKernels(): void {
  if (!registered) return;
  registered = false;
  for (const name of [ADAM_UPDATE, BN_TRAIN, BN_TRAIN_GRAD, MOVING_AVERAGE])
    tf.unregisterKernel(name, 'webgpu');
}
