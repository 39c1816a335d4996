// Contrastive augmentation on real CIFAR-10 (32×32) and STL-10 (96×96) images.
import assert from 'node:assert/strict';
import { before, describe, test } from 'node:test';
import { cropBox, fillContrastiveBatch, fillTwoViews } from '../../server/worker/data/augment.js';
import { readCifar10 } from '../../server/shared/data/cifar10.js';
import { Rng } from '../../server/worker/data/rng.js';
import { readStl10 } from '../../server/shared/data/stl10.js';
import type { ImageSet } from '../../server/shared/data/types.js';
import { CIFAR_DIR, STL_SAMPLE_DIR } from '../helpers/paths.js';

let cifar: ImageSet;
let stl: ImageSet;
before(() => {
  cifar = readCifar10(CIFAR_DIR, 'test', 64);
  stl = readStl10(STL_SAMPLE_DIR, 'test');
});

const IDENTITY = {
  cropScale: [1, 1] as [number, number],
  cropRatio: [1, 1] as [number, number],
  flipProb: 0,
  jitterProb: 0,
  greyscaleProb: 0,
};

describe('contrastive augmentation', () => {
  test('identity settings reproduce x/255 exactly; flip mirrors', () => {
    const out = new Float32Array(4 * 3072);
    fillContrastiveBatch(cifar, [0, 1, 2, 3], out, new Rng(1), IDENTITY);
    for (let i = 0; i < out.length; i++) assert.ok(Math.abs(out[i]! - cifar.images[i]! / 255) < 1e-6);
    fillContrastiveBatch(cifar, [5], out, new Rng(1), { ...IDENTITY, flipProb: 1 });
    for (const [r, c, ch] of [
      [0, 0, 0],
      [10, 3, 1],
      [31, 17, 2],
    ] as const) {
      assert.ok(
        Math.abs(out[(r * 32 + c) * 3 + ch]! - cifar.images[5 * 3072 + (r * 32 + 31 - c) * 3 + ch]! / 255) <
          1e-6,
      );
    }
  });

  for (const [name, side, size] of [
    ['CIFAR-10 32×32', 32, 32],
    ['STL-10 96×96', 96, 96],
    ['STL-10 96×96 to 64×64', 96, 64],
  ] as const) {
    test(`${name}: shape, range [0, 1], determinism, views differ`, () => {
      const set = side === 32 ? cifar : stl;
      const n = 10;
      const idx = Int32Array.from({ length: n }, (_, i) => i);
      const pix = size * size * 3;
      // One float past the batch must stay untouched.
      const a = new Float32Array(n * pix + 1).fill(-7);
      const b = new Float32Array(n * pix + 1).fill(-7);
      fillTwoViews(set, idx, a, b, new Rng(3), { size, strength: 1.5 });
      assert.equal(a[n * pix], -7);
      assert.ok(a.subarray(0, n * pix).every((v) => v >= 0 && v <= 1));
      assert.ok(b.subarray(0, n * pix).every((v) => v >= 0 && v <= 1));
      assert.notDeepEqual(a, b);
      const a2 = new Float32Array(n * pix + 1).fill(-7);
      const b2 = new Float32Array(n * pix + 1).fill(-7);
      fillTwoViews(set, idx, a2, b2, new Rng(3), { size, strength: 1.5 });
      assert.deepEqual(a2, a);
      assert.deepEqual(b2, b);
      fillTwoViews(set, idx, a2, b2, new Rng(4), { size, strength: 1.5 });
      assert.notDeepEqual(a2, a);
    });
  }

  test('greyscale with probability 1 gives r = g = b', () => {
    const out = new Float32Array(8 * 3072);
    fillContrastiveBatch(cifar, [0, 1, 2, 3, 4, 5, 6, 7], out, new Rng(2), { greyscaleProb: 1 });
    for (let p = 0; p < out.length; p += 3) {
      assert.equal(out[p], out[p + 1]);
      assert.equal(out[p], out[p + 2]);
    }
  });

  test('brightness only scales every pixel of an image by one factor', () => {
    const out = new Float32Array(3072);
    fillContrastiveBatch(cifar, [9], out, new Rng(5), {
      ...IDENTITY,
      jitterProb: 1,
      brightness: 0.5,
      contrast: 0,
      saturation: 0,
      hue: 0,
    });
    let factor = Number.NaN;
    for (let p = 0; p < 3072; p++) {
      const x = cifar.images[9 * 3072 + p]! / 255;
      if (x < 0.05 || out[p]! >= 1) continue;
      const f = out[p]! / x;
      if (Number.isNaN(factor)) factor = f;
      assert.ok(Math.abs(f - factor) < 1e-4, `pixel ${p}: ${f} vs ${factor}`);
    }
    assert.ok(factor >= 0.5 && factor <= 1.5 && Math.abs(factor - 1) > 1e-3, `factor ${factor}`);
  });

  test('contrast pivots on the mean luma; hue keeps luma; saturation 0 is greyscale', () => {
    const luma = (a: ArrayLike<number>, p: number, k = 1) =>
      (0.299 * a[p]! + 0.587 * a[p + 1]! + 0.114 * a[p + 2]!) * k;
    const only = (o: object) => ({
      ...IDENTITY,
      jitterProb: 1,
      brightness: 0,
      contrast: 0,
      saturation: 0,
      hue: 0,
      ...o,
    });
    const x = cifar.images.subarray(11 * 3072, 12 * 3072);
    let m = 0;
    for (let p = 0; p < 3072; p += 3) m += luma(x, p, 1 / 255);
    m /= 1024;
    const out = new Float32Array(3072);
    fillContrastiveBatch(cifar, [11], out, new Rng(6), only({ contrast: 0.6 }));
    // out = f·x + (1-f)·m where unclamped: solve f from one pixel, check the rest.
    let f = Number.NaN;
    for (let p = 0; p < 3072; p++) {
      const xv = x[p]! / 255;
      if (out[p]! <= 0 || out[p]! >= 1 || Math.abs(xv - m) < 0.1) continue;
      const fp = (out[p]! - m) / (xv - m);
      if (Number.isNaN(f)) f = fp;
      assert.ok(Math.abs(fp - f) < 1e-3, `pixel ${p}: ${fp} vs ${f}`);
    }
    assert.ok(f >= 0.4 && f <= 1.6, `contrast factor ${f}`);
    fillContrastiveBatch(cifar, [11], out, new Rng(7), only({ hue: 0.5 }));
    let moved = 0;
    for (let p = 0; p < 3072; p += 3) {
      if ([0, 1, 2].some((c) => out[p + c]! <= 0 || out[p + c]! >= 1)) continue;
      assert.ok(Math.abs(luma(out, p) - luma(x, p, 1 / 255)) < 0.01, `luma changed at ${p}`);
      if (Math.abs(out[p]! - x[p]! / 255) > 0.02) moved++;
    }
    assert.ok(moved > 50, `hue moved ${moved} pixels`);
    fillContrastiveBatch(cifar, [11], out, new Rng(7), only({ saturation: 1, brightness: 0 }));
    // A factor drawn from [0, 2]: where it is near 0 the image is grey; in any case luma is kept.
    for (let p = 0; p < 3072; p += 3) {
      if ([0, 1, 2].some((c) => out[p + c]! <= 0 || out[p + c]! >= 1)) continue;
      assert.ok(Math.abs(luma(out, p) - luma(x, p, 1 / 255)) < 1e-4);
    }
  });

  test('random resized crop: box within bounds, scale and ratio; pixels are the bilinear resize of the box', () => {
    const rng = new Rng(12);
    for (let t = 0; t < 500; t++) {
      const [top, left, ch, cw] = cropBox(rng, 96, 96, [0.2, 1], [3 / 4, 4 / 3]) as [
        number,
        number,
        number,
        number,
      ];
      assert.ok(top >= 0 && left >= 0 && top + ch <= 96 && left + cw <= 96);
      const area = (ch * cw) / (96 * 96);
      assert.ok(area > 0.18 && area <= 1, `area ${area}`);
      assert.ok(cw / ch > 0.7 && cw / ch < 1.4, `ratio ${cw / ch}`);
    }
    // Replay the draws of one image: the box comes first, then the flip.
    const size = 40;
    const out = new Float32Array(size * size * 3);
    const r = new Rng(21);
    const replay = Rng.fromState(r.getState());
    fillContrastiveBatch(stl, [4], out, r, {
      ...IDENTITY,
      size,
      cropScale: [0.3, 0.6],
      cropRatio: [0.8, 1.25],
    });
    const [top, left, ch, cw] = cropBox(replay, 96, 96, [0.3, 0.6], [0.8, 1.25]) as [
      number,
      number,
      number,
      number,
    ];
    const img = stl.images.subarray(4 * 96 * 96 * 3, 5 * 96 * 96 * 3);
    const at = (y: number, x: number, c: number) => img[((top + y) * 96 + left + x) * 3 + c]! / 255;
    for (let y = 0; y < size; y++) {
      for (let x = 0; x < size; x++) {
        const v = Math.min(ch - 1, Math.max(0, ((y + 0.5) * ch) / size - 0.5));
        const u = Math.min(cw - 1, Math.max(0, ((x + 0.5) * cw) / size - 0.5));
        const v0 = Math.floor(v);
        const u0 = Math.floor(u);
        const v1 = Math.min(v0 + 1, ch - 1);
        const u1 = Math.min(u0 + 1, cw - 1);
        for (let c = 0; c < 3; c++) {
          const e =
            at(v0, u0, c) * (1 - (v - v0)) * (1 - (u - u0)) +
            at(v0, u1, c) * (1 - (v - v0)) * (u - u0) +
            at(v1, u0, c) * (v - v0) * (1 - (u - u0)) +
            at(v1, u1, c) * (v - v0) * (u - u0);
          assert.ok(Math.abs(out[(y * size + x) * 3 + c]! - e) < 1e-5, `(${y},${x},${c})`);
        }
      }
    }
  });

  test('a small crop zooms in: neighbouring output pixels are smoother than the input', () => {
    const n = 32;
    const idx = Int32Array.from({ length: n }, (_, i) => i);
    const out = new Float32Array(n * 3072);
    fillContrastiveBatch(cifar, idx, out, new Rng(8), { ...IDENTITY, cropScale: [0.1, 0.1] });
    let dOut = 0;
    let dIn = 0;
    for (let i = 0; i < n * 1024 - 1; i++) {
      if (i % 32 === 31) continue;
      dOut += Math.abs(out[(i + 1) * 3]! - out[i * 3]!);
      dIn += Math.abs(cifar.images[(i + 1) * 3]! - cifar.images[i * 3]!) / 255;
    }
    assert.ok(dOut < dIn * 0.6, `mean abs neighbour difference ${dOut} vs ${dIn}`);
  });

  test('mean subtraction and argument checks', () => {
    const mean = new Float32Array(3072).fill(0.5);
    const out = new Float32Array(3072);
    fillContrastiveBatch(cifar, [0], out, new Rng(1), { ...IDENTITY, mean });
    assert.ok(Math.abs(out[0]! - (cifar.images[0]! / 255 - 0.5)) < 1e-6);
    assert.throws(() => fillContrastiveBatch(cifar, [0, 1], out, new Rng(1)), /needs 6144/);
    assert.throws(() => fillContrastiveBatch(cifar, [64], out, new Rng(1)), /outside/);
  });
});
