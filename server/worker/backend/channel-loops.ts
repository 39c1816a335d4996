// Per-channel loops over channels-last data for pretext's JavaScript kernels (cpu and wasm).
// They walk blocks of rows one channel at a time, with the running sums in locals: the plain
// row-by-row loop, which updates a per-channel array for every element, ran at 4–5 ns an element
// in V8; these at about half that (measured for 2M elements, 16 and 64 channels).
// Each loop is written out on purpose: one shared block walker taking the loop body as a callback
// made the batch-norm kernels of a ResNet20 wasm step 30–40 % slower (BN gradient 344–411 ms
// against 235–293, bench/profile-step.ts wasm).
const ROWS = 256;

/** sum[k] += Σ x, sumSq[k] += Σ x² over the rows of channel k. */
export function channelMoments(xs: Float32Array, c: number, sum: Float64Array, sumSq: Float64Array): void {
  const n = xs.length;
  const block = ROWS * c;
  for (let start = 0; start < n; start += block) {
    const end = Math.min(n, start + block);
    for (let k = 0; k < c; k++) {
      let s = 0;
      let s2 = 0;
      for (let i = start + k; i < end; i += c) {
        const v = xs[i]!;
        s += v;
        s2 += v * v;
      }
      sum[k]! += s;
      sumSq[k]! += s2;
    }
  }
}

/** sumA[k] += Σ a, sumAB[k] += Σ a·b over the rows of channel k. */
export function channelDots(
  as: Float32Array,
  bs: Float32Array,
  c: number,
  sumA: Float64Array,
  sumAB: Float64Array,
): void {
  const n = as.length;
  const block = ROWS * c;
  for (let start = 0; start < n; start += block) {
    const end = Math.min(n, start + block);
    for (let k = 0; k < c; k++) {
      let s = 0;
      let s2 = 0;
      for (let i = start + k; i < end; i += c) {
        const v = as[i]!;
        s += v;
        s2 += v * bs[i]!;
      }
      sumA[k]! += s;
      sumAB[k]! += s2;
    }
  }
}

/** out = x·a[k] + b[k]. */
export function channelAffine(
  xs: Float32Array,
  a: Float32Array,
  b: Float32Array,
  c: number,
  out: Float32Array,
): void {
  const n = xs.length;
  const block = ROWS * c;
  for (let start = 0; start < n; start += block) {
    const end = Math.min(n, start + block);
    for (let k = 0; k < c; k++) {
      const ak = a[k]!;
      const bk = b[k]!;
      for (let i = start + k; i < end; i += c) out[i] = xs[i]! * ak + bk;
    }
  }
}

/** out = p[k]·u + q[k]·v + r[k]. */
export function channelAffine2(
  us: Float32Array,
  vs: Float32Array,
  p: Float32Array,
  q: Float32Array,
  r: Float32Array,
  c: number,
  out: Float32Array,
): void {
  const n = us.length;
  const block = ROWS * c;
  for (let start = 0; start < n; start += block) {
    const end = Math.min(n, start + block);
    for (let k = 0; k < c; k++) {
      const pk = p[k]!;
      const qk = q[k]!;
      const rk = r[k]!;
      for (let i = start + k; i < end; i += c) out[i] = pk * us[i]! + qk * vs[i]! + rk;
    }
  }
}

/** sum[k] += Σ x over the rows of channel k. */
export function channelSum(xs: Float32Array, c: number, sum: Float64Array): void {
  const n = xs.length;
  const block = ROWS * c;
  for (let start = 0; start < n; start += block) {
    const end = Math.min(n, start + block);
    for (let k = 0; k < c; k++) {
      let s = 0;
      for (let i = start + k; i < end; i += c) s += xs[i]!;
      sum[k]! += s;
    }
  }
}

/**
 * Whether a Sum reduces every axis but the last: the bias gradient of every convolution, which
 * the native backend computes as threaded channel sums and the wasm one with channelSum.
 */
export function reducesAllButLast(shape: number[], axis: number | number[]): boolean {
  const axes = (Array.isArray(axis) ? axis : [axis]).map((a) => (a < 0 ? a + shape.length : a));
  if (shape.length < 2 || axes.length !== shape.length - 1) return false;
  return [...axes].sort((a, b) => a - b).every((a, i) => a === i);
}
