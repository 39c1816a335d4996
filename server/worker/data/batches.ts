// Drawing float32 batches from uint8 images: x/255 minus the per-pixel mean image, with the
// reference augmentation (random shift up to 10% with nearest fill, random horizontal flip) and
// rotations by k·90°. One loop per output pixel, no per-pixel calls, no allocation per batch.
import type { Rng } from './rng.js';
import type { ImageSet } from '../../shared/data/types.js';

const INV255 = 1 / 255;

/**
 * Per-pixel mean of x/255 over `indices` (default: the whole set), length h*w*3, NHWC.
 * The reference subtracts the mean of the full training split from train, validation and test
 * images alike; the engine computes it once per run (from the train split) and passes it in.
 */
export function meanImage(set: ImageSet, indices?: Int32Array): Float32Array {
  const pix = set.height * set.width * 3;
  const sum = new Float64Array(pix);
  const n = indices ? indices.length : set.count;
  const img = set.images;
  for (let k = 0; k < n; k++) {
    const base = (indices ? indices[k]! : k) * pix;
    for (let p = 0; p < pix; p++) sum[p]! += img[base + p]!;
  }
  const mean = new Float32Array(pix);
  if (n > 0) for (let p = 0; p < pix; p++) mean[p] = sum[p]! / n / 255;
  return mean;
}

/** The reference augmentation. Draws per image, in order: vertical shift, horizontal shift, flip. */
export interface ShiftFlipAug {
  rng: Rng;
  /** Maximum shift as a fraction of the side (uniform in ±shift, rounded to pixels); default 0.1. */
  shift?: number;
  /** Random horizontal flip with probability 1/2; default true. */
  flip?: boolean;
}

function checkArgs(set: ImageSet, n: number, mean: Float32Array, out: Float32Array): number {
  const pix = set.height * set.width * 3;
  if (mean.length !== pix) throw new RangeError(`mean has ${mean.length} values, expected ${pix}`);
  if (out.length < n * pix)
    throw new RangeError(`out holds ${out.length} floats, the batch needs ${n * pix}`);
  return pix;
}

/**
 * Writes image `src` of `set`, rotated by k·90° counter-clockwise (as numpy.rot90(img, k)) after
 * the shift/flip augmentation, at float offset `o` of `out`. Output pixel (i, j) reads the
 * augmented image at (a, b) = (ai + aj·j, bi + bj·j); the augmented image at (a, b) is the
 * source at (a - dy, flip ? W-1-b-dx : b-dx), clamped to the border (nearest fill). The mean is
 * subtracted at the source pixel, i.e. the normalized image is what gets shifted and rotated.
 */
function writeImage(
  images: Uint8Array,
  h: number,
  w: number,
  src: number,
  mean: Float32Array,
  out: Float32Array,
  o: number,
  k: number,
  dy: number,
  dx: number,
  flip: boolean,
): void {
  const pix = h * w * 3;
  const base = src * pix;
  if (k === 0 && dy === 0 && dx === 0 && !flip) {
    for (let p = 0; p < pix; p++) out[o + p] = images[base + p]! * INV255 - mean[p]!;
    return;
  }
  const hm = h - 1;
  const wm = w - 1;
  for (let i = 0; i < h; i++) {
    let ai: number;
    let aj: number;
    let bi: number;
    let bj: number;
    if (k === 0) {
      ai = i;
      aj = 0;
      bi = 0;
      bj = 1;
    } else if (k === 1) {
      ai = 0;
      aj = 1;
      bi = wm - i;
      bj = 0;
    } else if (k === 2) {
      ai = hm - i;
      aj = 0;
      bi = wm;
      bj = -1;
    } else {
      ai = hm;
      aj = -1;
      bi = i;
      bj = 0;
    }
    if (flip) {
      bi = wm - bi;
      bj = -bj;
    }
    ai -= dy;
    bi -= dx;
    for (let j = 0; j < w; j++) {
      const r = Math.min(hm, Math.max(0, ai + aj * j));
      const c = Math.min(wm, Math.max(0, bi + bj * j));
      const p = (r * w + c) * 3;
      const s = base + p;
      out[o] = images[s]! * INV255 - mean[p]!;
      out[o + 1] = images[s + 1]! * INV255 - mean[p + 1]!;
      out[o + 2] = images[s + 2]! * INV255 - mean[p + 2]!;
      o += 3;
    }
  }
}

function fill(
  set: ImageSet,
  indices: ArrayLike<number>,
  mean: Float32Array,
  rotations: Int32Array | undefined,
  out: Float32Array,
  aug: ShiftFlipAug | undefined,
): void {
  const n = indices.length;
  const pix = checkArgs(set, n, mean, out);
  const { height: h, width: w } = set;
  const shift = aug ? (aug.shift ?? 0.1) : 0;
  const flipOn = aug ? (aug.flip ?? true) : false;
  for (let b = 0; b < n; b++) {
    const src = indices[b]!;
    if (!(src >= 0 && src < set.count)) throw new RangeError(`index ${src} outside 0..${set.count - 1}`);
    let dy = 0;
    let dx = 0;
    let flip = false;
    if (aug) {
      if (shift > 0) {
        dy = Math.round(aug.rng.uniform(-shift, shift) * h);
        dx = Math.round(aug.rng.uniform(-shift, shift) * w);
      }
      if (flipOn) flip = aug.rng.next() < 0.5;
    }
    const k = rotations ? rotations[b]! & 3 : 0;
    writeImage(set.images, h, w, src, mean, out, b * pix, k, dy, dx, flip);
  }
}

/** (x/255 - mean) of the images at `indices` into `out` (NHWC float32), optionally augmented. */
export function fillBatch(
  set: ImageSet,
  indices: ArrayLike<number>,
  mean: Float32Array,
  out: Float32Array,
  aug?: ShiftFlipAug,
): void {
  fill(set, indices, mean, undefined, out, aug);
}

/**
 * Like fillBatch, each image then rotated by rotations[b]·90° counter-clockwise (numpy.rot90).
 * Augmentation comes first, so the pretext label k is exactly the rotation applied.
 * Odd k needs square images. For RotNet (4 rotations per image) see `allRotations`.
 */
export function fillRotationBatch(
  set: ImageSet,
  indices: ArrayLike<number>,
  mean: Float32Array,
  rotations: Int32Array,
  out: Float32Array,
  aug?: ShiftFlipAug,
): void {
  if (rotations.length < indices.length) throw new RangeError('rotations must have one entry per index');
  if (set.height !== set.width) {
    for (let b = 0; b < indices.length; b++) {
      if (rotations[b]! & 1) throw new RangeError('90° rotations need square images');
    }
  }
  fill(set, indices, mean, rotations, out, aug);
}

/** The reference's rotation labels: one random k in 0..3 per image, drawn once. */
export function randomRotations(n: number, rng: Rng): Int32Array {
  const out = new Int32Array(n);
  for (let i = 0; i < n; i++) out[i] = rng.int(4);
  return out;
}

/** RotNet: every index four times (i,i,i,i,...) with rotations 0,1,2,3 — writes into the given buffers. */
export function allRotations(
  indices: ArrayLike<number>,
  outIndices: Int32Array,
  outRotations: Int32Array,
): void {
  if (outIndices.length < indices.length * 4 || outRotations.length < indices.length * 4) {
    throw new RangeError('allRotations needs outputs of 4 × indices.length');
  }
  for (let i = 0; i < indices.length; i++) {
    for (let k = 0; k < 4; k++) {
      outIndices[i * 4 + k] = indices[i]!;
      outRotations[i * 4 + k] = k;
    }
  }
}
