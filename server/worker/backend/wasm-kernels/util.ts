// Helpers for kernels that run inside the wasm backend: call its own registered kernels
// directly (no tfjs op dispatch, no autograd bookkeeping) and free intermediates at once.
import * as tf from '@tensorflow/tfjs';

export type TensorInfo = tf.TensorInfo;
export type NamedAttrs = tf.NamedAttrMap;

/** The slice of tfjs' BackendWasm these kernels use. */
export interface WasmBackendLike {
  makeOutput(shape: number[], dtype: tf.DataType): TensorInfo;
  typedArrayFromHeap(info: TensorInfo): Float32Array;
  disposeData(dataId: object, force?: boolean): boolean;
}

export function wasmKernel(name: string): tf.KernelFunc {
  const config = tf.getKernel(name, 'wasm');
  if (!config) throw new Error(`the wasm backend has no "${name}" kernel`);
  return config.kernelFunc;
}

/** Calls a wasm kernel by name with the given backend. */
export function run(
  name: string,
  backend: WasmBackendLike,
  inputs: Record<string, TensorInfo>,
  attrs: NamedAttrs = {},
): TensorInfo {
  const kernel = wasmKernel(name);
  return kernel({ inputs, backend: backend as unknown as tf.KernelBackend, attrs }) as TensorInfo;
}

export function dispose(backend: WasmBackendLike, ...infos: TensorInfo[]): void {
  for (const info of infos) backend.disposeData(info.dataId);
}

export function transpose(backend: WasmBackendLike, x: TensorInfo, perm: number[]): TensorInfo {
  return run('Transpose', backend, { x }, { perm });
}

/**
 * Registers `config` in place of the wasm kernel of the same name and returns that kernel. The
 * replaced kernel's setup (binding its wasm function) still runs: ours fall back to it.
 */
export function replaceWasmKernel(config: tf.KernelConfig): tf.KernelConfig | undefined {
  const previous = tf.getKernel(config.kernelName, 'wasm');
  if (previous) tf.unregisterKernel(config.kernelName, 'wasm');
  tf.registerKernel(previous?.setupFunc ? { ...config, setupFunc: previous.setupFunc } : config);
  return previous;
}

/** A channels-last, undilated convolution's geometry (strides, padding, output size). */
export function convInfo(
  xShape: number[],
  filterShape: number[],
  attrs: {
    strides: number | [number, number];
    pad: 'valid' | 'same' | number | tf.backend_util.ExplicitPadding;
    dimRoundingMode?: 'floor' | 'round' | 'ceil';
  },
): tf.backend_util.Conv2DInfo {
  return tf.backend_util.computeConv2DInfo(
    xShape as [number, number, number, number],
    filterShape as [number, number, number, number],
    attrs.strides,
    1,
    attrs.pad,
    attrs.dimRoundingMode,
    false,
    'channelsLast',
  );
}
