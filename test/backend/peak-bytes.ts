// Peak memory of what the backend's kernels allocate while a function runs.
import * as tf from '@tensorflow/tfjs';

/**
 * Peak bytes of backend buffers that kernels allocate while `f` runs: each output counted from
 * its allocation until the backend really frees it (tf.memory() counts tensors that share one
 * buffer once each, so it cannot see what Identity or early release save).
 */
export function peakBytes<T>(f: () => T): { value: T; peak: number } {
  const backend = tf.engine().backend as unknown as {
    makeOutput(shape: number[], dtype: string): tf.TensorInfo;
    disposeData(dataId: object, force?: boolean): boolean;
  };
  const { makeOutput, disposeData } = backend;
  const live = new Map<object, number>();
  let total = 0;
  let peak = 0;
  backend.makeOutput = (shape, dtype) => {
    const out = makeOutput.call(backend, shape, dtype);
    const bytes = shape.reduce((a, b) => a * b, 1) * 4;
    live.set(out.dataId, bytes);
    total += bytes;
    peak = Math.max(peak, total);
    return out;
  };
  backend.disposeData = (dataId, force) => {
    const freed = disposeData.call(backend, dataId, force);
    if (freed && live.has(dataId)) {
      total -= live.get(dataId)!;
      live.delete(dataId);
    }
    return freed;
  };
  try {
    return { value: f(), peak };
  } finally {
    backend.makeOutput = makeOutput;
    backend.disposeData = disposeData;
  }
}
