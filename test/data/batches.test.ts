// Batch drawing: normalization, the reference augmentation and rotations, checked pixel by pixel
// against a naive per-pixel reimplementation of their definitions.
import assert from 'node:assert/strict';
import { before, describe, test } from 'node:test';
import {
  allRotations,
  fillBatch,
  fillRotationBatch,
  meanImage,
  randomRotations,
} from '../../server/worker/data/batches.js';
import { readCifar10 } from '../../server/shared/data/cifar10.js';
import { Rng } from '../../server/worker/data/rng.js';
import { readStl10 } from '../../server/shared/data/stl10.js';
import type { ImageSet } from '../../server/shared/data/types.js';
import { CIFAR_DIR, STL_SAMPLE_DIR } from '../helpers/paths.js';

let set: ImageSet;
let mean: Float32Array;
before(() => {
  set = readCifar10(CIFAR_DIR, 'test');
  mean = meanImage(set);
});

/** numpy.rot90(img, k)[i, j] for a square side s: the source (row, col) of output (i, j). */
function rot90Source(k: number, s: number, i: number, j: number): [number, number] {
  if (k === 0) return [i, j];
  if (k === 1) return [j, s - 1 - i];
  if (k === 2) return [s - 1 - i, s - 1 - j];
  return [s - 1 - j, i];
}

/** The definition: shift (nearest fill), then flip, then rotate; x/255 - mean at the source pixel. */
function naive(
  s: ImageSet,
  m: Float32Array,
  idx: number,
  k: number,
  dy: number,
  dx: number,
  flip: boolean,
): Float32Array {
  const { height: h, width: w } = s;
  const out = new Float32Array(h * w * 3);
  for (let i = 0; i < h; i++) {
    for (let j = 0; j < w; j++) {
      const [a, b0] = rot90Source(k, h, i, j);
      const b = flip ? w - 1 - b0 : b0;
      const r = Math.min(h - 1, Math.max(0, a - dy));
      const c = Math.min(w - 1, Math.max(0, b - dx));
      for (let ch = 0; ch < 3; ch++) {
        const p = (r * w + c) * 3 + ch;
        out[(i * w + j) * 3 + ch] = s.images[idx * h * w * 3 + p]! / 255 - m[p]!;
      }
    }
  }
  return out;
}

function assertClose(a: Float32Array, b: Float32Array, msg: string): void {
  assert.equal(a.length, b.length);
  for (let i = 0; i < a.length; i++) {
    if (Math.abs(a[i]! - b[i]!) > 1e-6) assert.fail(`${msg}: value ${i} is ${a[i]}, expected ${b[i]}`);
  }
}

describe('meanImage and fillBatch', () => {
  test('mean is the per-pixel mean of x/255', () => {
    assert.equal(mean.length, 32 * 32 * 3);
    for (const p of [0, 1, 1000, 3071]) {
      let s = 0;
      for (let i = 0; i < set.count; i++) s += set.images[i * 3072 + p]!;
      assert.ok(Math.abs(mean[p]! - s / set.count / 255) < 1e-6);
    }
    const sub = Int32Array.from([3, 5]);
    const m2 = meanImage(set, sub);
    assert.ok(Math.abs(m2[10]! - (set.images[3 * 3072 + 10]! + set.images[5 * 3072 + 10]!) / 2 / 255) < 1e-6);
  });

  test('no augmentation: exactly x/255 - mean, in index order', () => {
    const idx = [7, 0, 9_999];
    const out = new Float32Array(3 * 3072);
    fillBatch(set, idx, mean, out);
    idx.forEach((src, b) => {
      assertClose(
        out.subarray(b * 3072, (b + 1) * 3072),
        naive(set, mean, src, 0, 0, 0, false),
        `image ${src}`,
      );
    });
  });

  test('shift and flip follow the definition, draw order dy, dx, flip', () => {
    const n = 64;
    const idx = Int32Array.from({ length: n }, (_, i) => i * 97);
    const out = new Float32Array(n * 3072);
    const rng = new Rng(5);
    const replay = Rng.fromState(rng.getState());
    fillBatch(set, idx, mean, out, { rng, shift: 0.1, flip: true });
    let shifted = 0;
    let flipped = 0;
    for (let b = 0; b < n; b++) {
      const dy = Math.round(replay.uniform(-0.1, 0.1) * 32);
      const dx = Math.round(replay.uniform(-0.1, 0.1) * 32);
      const flip = replay.next() < 0.5;
      assert.ok(Math.abs(dy) <= 3 && Math.abs(dx) <= 3);
      if (dy !== 0 || dx !== 0) shifted++;
      if (flip) flipped++;
      assertClose(
        out.subarray(b * 3072, (b + 1) * 3072),
        naive(set, mean, idx[b]!, 0, dy, dx, flip),
        `image ${b}`,
      );
    }
    assert.ok(shifted > 20 && flipped > 10 && flipped < 54, `${shifted} shifted, ${flipped} flipped`);
  });

  test('deterministic for a seed; values in [-1, 1]', () => {
    const idx = Int32Array.from({ length: 32 }, (_, i) => i);
    const a = new Float32Array(32 * 3072);
    const b = new Float32Array(32 * 3072);
    fillBatch(set, idx, mean, a, { rng: new Rng(1) });
    fillBatch(set, idx, mean, b, { rng: new Rng(1) });
    assert.deepEqual(a, b);
    fillBatch(set, idx, mean, b, { rng: new Rng(2) });
    assert.notDeepEqual(a, b);
    assert.ok(a.every((v) => v >= -1 && v <= 1));
  });

  test('bad arguments are errors', () => {
    assert.throws(() => fillBatch(set, [0, 1], mean, new Float32Array(3072)), /needs 6144/);
    assert.throws(() => fillBatch(set, [10_000], mean, new Float32Array(3072)), /outside/);
    assert.throws(() => fillBatch(set, [0], new Float32Array(5), new Float32Array(3072)), /mean has 5/);
  });
});

describe('rotations', () => {
  test('k·90° counter-clockwise as numpy.rot90: the top-right corner goes to the top-left for k=1', () => {
    const out = new Float32Array(4 * 3072);
    fillRotationBatch(set, [3, 3, 3, 3], mean, Int32Array.from([0, 1, 2, 3]), out);
    const at = (b: number, r: number, c: number) => out[b * 3072 + (r * 32 + c) * 3]!;
    assert.equal(at(1, 0, 0), at(0, 0, 31));
    assert.equal(at(2, 0, 0), at(0, 31, 31));
    assert.equal(at(3, 0, 0), at(0, 31, 0));
    for (let k = 0; k < 4; k++) {
      assertClose(out.subarray(k * 3072, (k + 1) * 3072), naive(set, mean, 3, k, 0, 0, false), `k=${k}`);
    }
  });

  test('rotation after augmentation, on 96×96 STL-10 images too', () => {
    const stl = readStl10(STL_SAMPLE_DIR, 'test');
    const m = meanImage(stl);
    const px = 96 * 96 * 3;
    const rng = new Rng(9);
    const replay = Rng.fromState(rng.getState());
    const rot = Int32Array.from([0, 1, 2, 3, 1, 3, 2, 0, 1, 2]);
    const idx = Int32Array.from({ length: 10 }, (_, i) => i);
    const out = new Float32Array(10 * px);
    fillRotationBatch(stl, idx, m, rot, out, { rng });
    for (let b = 0; b < 10; b++) {
      const dy = Math.round(replay.uniform(-0.1, 0.1) * 96);
      const dx = Math.round(replay.uniform(-0.1, 0.1) * 96);
      const flip = replay.next() < 0.5;
      assertClose(
        out.subarray(b * px, (b + 1) * px),
        naive(stl, m, b, rot[b]!, dy, dx, flip),
        `stl image ${b}`,
      );
    }
  });

  test('randomRotations and allRotations', () => {
    const r = randomRotations(10_000, new Rng(4));
    const c = [0, 0, 0, 0];
    for (const k of r) c[k]!++;
    for (const v of c) assert.ok(v > 2300 && v < 2700);
    const oi = new Int32Array(8);
    const ok = new Int32Array(8);
    allRotations([5, 9], oi, ok);
    assert.deepEqual(Array.from(oi), [5, 5, 5, 5, 9, 9, 9, 9]);
    assert.deepEqual(Array.from(ok), [0, 1, 2, 3, 0, 1, 2, 3]);
  });
});
