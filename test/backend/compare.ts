// Comparing a backend's kernels with tfjs' reference cpu kernels: seeded inputs, and closeness
// relative to the largest expected magnitude (summation order differs between backends).
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';

export function seeded(shape: number[], seed: number): Float32Array {
  return tf.tidy(() => tf.randomUniform(shape, -1, 1, 'float32', seed).dataSync() as Float32Array);
}

export function assertClose(actual: Float32Array, expected: Float32Array, what: string, tol = 1e-4): void {
  assert.equal(actual.length, expected.length, `${what}: length`);
  let scale = 1e-6;
  for (const v of expected) scale = Math.max(scale, Math.abs(v));
  for (let i = 0; i < actual.length; i++) {
    const err = Math.abs(actual[i]! - expected[i]!) / scale;
    assert.ok(err <= tol, `${what}[${i}]: ${actual[i]} vs ${expected[i]} (relative ${err.toExponential(2)})`);
  }
}
