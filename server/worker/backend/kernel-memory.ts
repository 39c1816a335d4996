// Data access for pretext's JavaScript kernels on the cpu backend (JS arrays) and the wasm
// backend (views of its heap), so that one kernel body serves both.
import type * as tf from '@tensorflow/tfjs';

type Info = tf.TensorInfo;

export interface KernelMemory {
  /** An input's values. */
  read(info: Info): Float32Array;
  alloc(shape: number[]): Info;
  /** A writable view of an allocated output; valid until the next alloc (wasm memory may grow). */
  view(info: Info): Float32Array;
}

export function memoryOf(backendName: string, backend: tf.KernelBackend): KernelMemory {
  if (backendName === 'wasm') {
    const b = backend as unknown as {
      makeOutput(shape: number[], dtype: tf.DataType): Info;
      typedArrayFromHeap(info: Info): Float32Array;
    };
    return {
      read: (info) => b.typedArrayFromHeap(info),
      alloc: (shape) => b.makeOutput(shape, 'float32'),
      view: (info) => b.typedArrayFromHeap(info),
    };
  }
  const b = backend as unknown as {
    readSync(dataId: object): Float32Array;
    makeTensorInfo(shape: number[], dtype: tf.DataType, values?: Float32Array): Info;
    data: { get(dataId: object): { values: Float32Array } };
  };
  return {
    read: (info) => b.readSync(info.dataId),
    alloc: (shape) => b.makeTensorInfo(shape, 'float32', new Float32Array(shape.reduce((a, c) => a * c, 1))),
    view: (info) => b.data.get(info.dataId).values,
  };
}
