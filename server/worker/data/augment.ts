// Contrastive augmentation (SimCLR / SimSiam / NNCLR style) on typed arrays: random resized
// crop (bilinear), horizontal flip, colour jitter (brightness, contrast, saturation, hue; in a
// random order, as torchvision) with a probability, greyscale with a probability. Seeded by the
// caller's Rng; writes float32 NHWC in [0, 1] (or minus a mean image); no allocation per batch
// once the scratch buffers have grown.
import type { Rng } from './rng.js';
import type { ImageSet } from '../../shared/data/types.js';

export interface ContrastiveAugOptions {
  /** Output side in pixels; default the input's height (images are square). */
  size?: number;
  /** Crop area as a fraction of the image; default [0.2, 1]. */
  cropScale?: [number, number];
  /** Crop aspect ratio range (w/h); default [3/4, 4/3]. */
  cropRatio?: [number, number];
  /** Horizontal flip probability; default 0.5. */
  flipProb?: number;
  /** Probability that colour jitter is applied; default 0.8. */
  jitterProb?: number;
  /** Jitter strengths (factors drawn from [1-s, 1+s]; hue from [-h, h] of a full turn). */
  brightness?: number;
  contrast?: number;
  saturation?: number;
  hue?: number;
  /** Greyscale probability; default 0.2. */
  greyscaleProb?: number;
  /** Multiplies the four jitter strengths (ContrastiveOptions.augment_strength); default 1. */
  strength?: number;
  /** Subtracted per pixel at the end (length size*size*3); default none: values stay in [0, 1]. */
  mean?: Float32Array;
}

const DEFAULTS = {
  cropScale: [0.2, 1] as [number, number],
  cropRatio: [3 / 4, 4 / 3] as [number, number],
  flipProb: 0.5,
  jitterProb: 0.8,
  brightness: 0.4,
  contrast: 0.4,
  saturation: 0.4,
  hue: 0.1,
  greyscaleProb: 0.2,
};

// Scratch, grown on demand: bilinear x-coordinates, the crop's rows resampled horizontally
// (the resize is separable: each source row once, then one vertical blend per output row),
// and each of those rows' channel sums (for the exact mean colour of the output).
const scratch = {
  x0: new Int32Array(0),
  x1: new Int32Array(0),
  wx: new Float32Array(0),
  rows: new Float32Array(0),
  rowSums: new Float64Array(0),
};

function grow(size: number, h: number): void {
  if (scratch.x0.length < size) {
    scratch.x0 = new Int32Array(size);
    scratch.x1 = new Int32Array(size);
    scratch.wx = new Float32Array(size);
  }
  if (scratch.rows.length < h * size * 3) scratch.rows = new Float32Array(h * size * 3);
  if (scratch.rowSums.length < h * 3) scratch.rowSums = new Float64Array(h * 3);
}

/** torchvision RandomResizedCrop.get_params: [top, left, height, width] (exported for tests). */
export function cropBox(
  rng: Rng,
  h: number,
  w: number,
  scale: [number, number],
  ratio: [number, number],
): number[] {
  const area = h * w;
  const logLo = Math.log(ratio[0]);
  const logHi = Math.log(ratio[1]);
  for (let t = 0; t < 10; t++) {
    const target = area * rng.uniform(scale[0], scale[1]);
    const ar = Math.exp(rng.uniform(logLo, logHi));
    const cw = Math.round(Math.sqrt(target * ar));
    const ch = Math.round(Math.sqrt(target / ar));
    if (cw > 0 && cw <= w && ch > 0 && ch <= h) return [rng.int(h - ch + 1), rng.int(w - cw + 1), ch, cw];
  }
  // Fallback: the largest central crop within the ratio range.
  const inRatio = w / h;
  let cw = w;
  let ch = h;
  if (inRatio < ratio[0]) ch = Math.round(w / ratio[0]);
  else if (inRatio > ratio[1]) cw = Math.round(h * ratio[1]);
  return [Math.floor((h - ch) / 2), Math.floor((w - cw) / 2), ch, cw];
}

/**
 * Horizontal half of a bilinear resize (half-pixel centres) of a crop of image `src` to `size`
 * columns, optionally flipped: fills scratch.rows (ch rows × size × 3, in 0..255) and their
 * channel sums, for `cropMean` and `verticalPass`.
 */
function horizontalPass(
  images: Uint8Array,
  h: number,
  w: number,
  src: number,
  box: number[],
  size: number,
  flip: boolean,
): void {
  const top = box[0]!;
  const left = box[1]!;
  const ch = box[2]!;
  const cw = box[3]!;
  grow(size, h);
  const X0 = scratch.x0;
  const X1 = scratch.x1;
  const WX = scratch.wx;
  const rows = scratch.rows;
  const sums = scratch.rowSums;
  const fx = cw / size;
  for (let x = 0; x < size; x++) {
    const xs = flip ? size - 1 - x : x;
    const u = Math.min(cw - 1, Math.max(0, (xs + 0.5) * fx - 0.5));
    const u0 = Math.floor(u);
    X0[x] = (left + u0) * 3;
    X1[x] = (left + Math.min(u0 + 1, cw - 1)) * 3;
    WX[x] = u - u0;
  }
  const base = src * h * w * 3;
  let k = 0;
  for (let yy = 0; yy < ch; yy++) {
    const row = base + (top + yy) * w * 3;
    let sr = 0;
    let sg = 0;
    let sb = 0;
    for (let x = 0; x < size; x++) {
      const a = row + X0[x]!;
      const b = row + X1[x]!;
      const wb = WX[x]!;
      const wa = 1 - wb;
      const r = images[a]! * wa + images[b]! * wb;
      const g = images[a + 1]! * wa + images[b + 1]! * wb;
      const bl = images[a + 2]! * wa + images[b + 2]! * wb;
      rows[k] = r;
      rows[k + 1] = g;
      rows[k + 2] = bl;
      k += 3;
      sr += r;
      sg += g;
      sb += bl;
    }
    sums[yy * 3] = sr;
    sums[yy * 3 + 1] = sg;
    sums[yy * 3 + 2] = sb;
  }
}

/** Fractional source row (within the crop) of output row y of a crop of `ch` rows resized to `size`. */
function sampleRow(y: number, ch: number, size: number): number {
  return Math.min(ch - 1, Math.max(0, (y + 0.5) * (ch / size) - 0.5));
}

/** Mean colour (in [0, 1]) of the resized crop, exactly, from the row sums. */
function cropMean(ch: number, size: number, into: Float64Array): void {
  const sums = scratch.rowSums;
  let r = 0;
  let g = 0;
  let b = 0;
  for (let y = 0; y < size; y++) {
    const v = sampleRow(y, ch, size);
    const v0 = Math.floor(v);
    const v1 = Math.min(v0 + 1, ch - 1);
    const wy = v - v0;
    r += sums[v0 * 3]! * (1 - wy) + sums[v1 * 3]! * wy;
    g += sums[v0 * 3 + 1]! * (1 - wy) + sums[v1 * 3 + 1]! * wy;
    b += sums[v0 * 3 + 2]! * (1 - wy) + sums[v1 * 3 + 2]! * wy;
  }
  const n = size * size * 255;
  into[0] = r / n;
  into[1] = g / n;
  into[2] = b / n;
}

/**
 * Vertical half of the resize, fused with the colour transform: out = clamp01(M·x + t) - mean,
 * x in [0, 1]. With `identity` (and no mean) only the blend runs.
 */
function verticalPass(
  ch: number,
  size: number,
  out: Float32Array,
  o: number,
  a: Float64Array,
  identity: boolean,
  mean: Float32Array | undefined,
): void {
  const rows = scratch.rows;
  const line = size * 3;
  const s = 1 / 255;
  const m0 = a[0]!;
  const m1 = a[1]!;
  const m2 = a[2]!;
  const m3 = a[3]!;
  const m4 = a[4]!;
  const m5 = a[5]!;
  const m6 = a[6]!;
  const m7 = a[7]!;
  const m8 = a[8]!;
  const t0 = a[9]!;
  const t1 = a[10]!;
  const t2 = a[11]!;
  for (let y = 0; y < size; y++) {
    const v = sampleRow(y, ch, size);
    const v0 = Math.floor(v);
    const ra = v0 * line;
    const rb = Math.min(v0 + 1, ch - 1) * line;
    const wb = (v - v0) * s;
    const wa = s - wb;
    const q0 = o + y * line;
    if (identity && !mean) {
      for (let k = 0; k < line; k++) out[q0 + k] = rows[ra + k]! * wa + rows[rb + k]! * wb;
      continue;
    }
    const mq = y * line;
    for (let k = 0; k < line; k += 3) {
      const r = rows[ra + k]! * wa + rows[rb + k]! * wb;
      const g = rows[ra + k + 1]! * wa + rows[rb + k + 1]! * wb;
      const b = rows[ra + k + 2]! * wa + rows[rb + k + 2]! * wb;
      let v0c = Math.min(1, Math.max(0, m0 * r + m1 * g + m2 * b + t0));
      let v1c = Math.min(1, Math.max(0, m3 * r + m4 * g + m5 * b + t1));
      let v2c = Math.min(1, Math.max(0, m6 * r + m7 * g + m8 * b + t2));
      if (mean) {
        v0c -= mean[mq + k]!;
        v1c -= mean[mq + k + 1]!;
        v2c -= mean[mq + k + 2]!;
      }
      out[q0 + k] = v0c;
      out[q0 + k + 1] = v1c;
      out[q0 + k + 2] = v2c;
    }
  }
}

// Luma weights (ITU-R 601, as torchvision's rgb_to_grayscale).
const LR = 0.299;
const LG = 0.587;
const LB = 0.114;
// YIQ transform and its inverse: a hue shift is a rotation of the (I, Q) plane.
const YIQ = [0.299, 0.587, 0.114, 0.596, -0.274, -0.322, 0.211, -0.523, 0.312];
const YIQ_INV = [1, 0.956, 0.621, 1, -0.272, -0.647, 1, -1.106, 1.703];

/**
 * The colour transform of one image as an affine map x -> M·x + t (M row-major 3×3 in
 * a[0..8], t in a[9..11]). Composing the ops exactly and clamping once at the end costs one
 * pass per image; torchvision clamps after each op, which differs only where an intermediate
 * value left [0, 1].
 */
class Affine {
  readonly a = new Float64Array(12);
  private readonly t = new Float64Array(12);
  reset(): void {
    this.a.fill(0);
    this.a[0] = 1;
    this.a[4] = 1;
    this.a[8] = 1;
  }
  /** this = [m | c] ∘ this. */
  private apply(m: ArrayLike<number>, c0: number, c1: number, c2: number): void {
    const a = this.a;
    const t = this.t;
    for (let i = 0; i < 3; i++) {
      for (let j = 0; j < 3; j++)
        t[i * 3 + j] = m[i * 3]! * a[j]! + m[i * 3 + 1]! * a[3 + j]! + m[i * 3 + 2]! * a[6 + j]!;
      t[9 + i] = m[i * 3]! * a[9]! + m[i * 3 + 1]! * a[10]! + m[i * 3 + 2]! * a[11]!;
    }
    t[9] = t[9]! + c0;
    t[10] = t[10]! + c1;
    t[11] = t[11]! + c2;
    a.set(t);
  }
  scale(f: number): void {
    this.apply([f, 0, 0, 0, f, 0, 0, 0, f], 0, 0, 0);
  }
  /** Blend with the grey level of each pixel: f·x + (1-f)·luma(x). f = 0 is greyscale. */
  saturate(f: number): void {
    const g = 1 - f;
    this.apply([f + g * LR, g * LG, g * LB, g * LR, f + g * LG, g * LB, g * LR, g * LG, f + g * LB], 0, 0, 0);
  }
  /** Blend with the mean luma of the image (after the ops so far): f·x + (1-f)·m. */
  contrast(f: number, meanRgb: Float64Array): void {
    const a = this.a;
    let m = 0;
    for (let i = 0; i < 3; i++) {
      const v =
        a[i * 3]! * meanRgb[0]! + a[i * 3 + 1]! * meanRgb[1]! + a[i * 3 + 2]! * meanRgb[2]! + a[9 + i]!;
      m += [LR, LG, LB][i]! * v;
    }
    this.apply([f, 0, 0, 0, f, 0, 0, 0, f], (1 - f) * m, (1 - f) * m, (1 - f) * m);
  }
  hue(turn: number): void {
    const th = 2 * Math.PI * turn;
    const c = Math.cos(th);
    const s = Math.sin(th);
    this.apply(YIQ, 0, 0, 0);
    this.apply([1, 0, 0, 0, c, -s, 0, s, c], 0, 0, 0);
    this.apply(YIQ_INV, 0, 0, 0);
  }
}

const affine = new Affine();
const meanRgb = new Float64Array(3);

const ORDER = [0, 1, 2, 3];

/**
 * One augmented view of each image at `indices` into `out` (n × size × size × 3). Draws per image,
 * in order: crop box, flip, jitter gate (+ order and factors when applied), greyscale gate.
 */
export function fillContrastiveBatch(
  set: ImageSet,
  indices: ArrayLike<number>,
  out: Float32Array,
  rng: Rng,
  opts: ContrastiveAugOptions = {},
): void {
  const { height: h, width: w } = set;
  const size = opts.size ?? h;
  const pix = size * size * 3;
  const n = indices.length;
  if (out.length < n * pix)
    throw new RangeError(`out holds ${out.length} floats, the batch needs ${n * pix}`);
  if (opts.mean && opts.mean.length !== pix)
    throw new RangeError(`mean has ${opts.mean.length} values, expected ${pix}`);
  const k = opts.strength ?? 1;
  const bri = (opts.brightness ?? DEFAULTS.brightness) * k;
  const con = (opts.contrast ?? DEFAULTS.contrast) * k;
  const sat = (opts.saturation ?? DEFAULTS.saturation) * k;
  const hue = Math.min(0.5, (opts.hue ?? DEFAULTS.hue) * k);
  const scale = opts.cropScale ?? DEFAULTS.cropScale;
  const ratio = opts.cropRatio ?? DEFAULTS.cropRatio;
  const flipProb = opts.flipProb ?? DEFAULTS.flipProb;
  const jitterProb = opts.jitterProb ?? DEFAULTS.jitterProb;
  const greyProb = opts.greyscaleProb ?? DEFAULTS.greyscaleProb;
  for (let b = 0; b < n; b++) {
    const src = indices[b]!;
    if (!(src >= 0 && src < set.count)) throw new RangeError(`index ${src} outside 0..${set.count - 1}`);
    const o = b * pix;
    const box = cropBox(rng, h, w, scale, ratio);
    const flip = rng.next() < flipProb;
    horizontalPass(set.images, h, w, src, box, size, flip);
    cropMean(box[2]!, size, meanRgb);
    affine.reset();
    let identity = true;
    if (rng.next() < jitterProb) {
      identity = false;
      for (let i = 0; i < 4; i++) ORDER[i] = i; // reset: the order must depend on the rng only
      rng.shuffle(ORDER);
      for (const op of ORDER) {
        if (op === 0 && bri > 0) affine.scale(rng.uniform(Math.max(0, 1 - bri), 1 + bri));
        else if (op === 1 && con > 0) affine.contrast(rng.uniform(Math.max(0, 1 - con), 1 + con), meanRgb);
        else if (op === 2 && sat > 0) affine.saturate(rng.uniform(Math.max(0, 1 - sat), 1 + sat));
        else if (op === 3 && hue > 0) affine.hue(rng.uniform(-hue, hue));
      }
    }
    if (rng.next() < greyProb) {
      identity = false;
      affine.saturate(0);
    }
    verticalPass(box[2]!, size, out, o, affine.a, identity, opts.mean);
  }
}

/** Two independent views of the same images (the positive pairs of SimCLR / SimSiam / NNCLR). */
export function fillTwoViews(
  set: ImageSet,
  indices: ArrayLike<number>,
  outA: Float32Array,
  outB: Float32Array,
  rng: Rng,
  opts: ContrastiveAugOptions = {},
): void {
  fillContrastiveBatch(set, indices, outA, rng, opts);
  fillContrastiveBatch(set, indices, outB, rng, opts);
}
