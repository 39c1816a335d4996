// Per-channel loops over channels-last data for pretext's JavaScript kernels (cpu and wasm).
// They walk blocks of rows one channel at a time, with the running sums in locals: the plain
// row-by-row loop, which updates a per-channel array for every element, ran at 4–5 ns an element
// in V8; these at about half that (measured for 2M elements, 16 and 64 channels).
const ROWS = 256;

/**
 * Calls visit(start, end, k) for each block of ROWS rows and each channel k: the block's
 * elements of channel k are start + k, start + k + c, … below end. (A callback per run of a
 * channel costs little; one per element would cost what the blocking saves.)
 */
function eachChannelRun(n: number, c: number, visit: (start: number, end: number, k: number) => void): void {
  const block = ROWS * c;
  for (let start = 0; start < n; start += block) {
    const end = Math.min(n, start + block);
    for (let k = 0; k < c; k++) visit(start, end, k);
  }
}

/** sum[k] += Σ x, sumSq[k] += Σ x² over the rows of channel k. */
export function channelMoments(xs: Float32Array, c: number, sum: Float64Array, sumSq: Float64Array): void {
  eachChannelRun(xs.length, c, (start, end, k) => {
    let s = 0;
    let s2 = 0;
    for (let i = start + k; i < end; i += c) {
      const v = xs[i]!;
      s += v;
      s2 += v * v;
    }
    sum[k]! += s;
    sumSq[k]! += s2;
  });
}

/** sumA[k] += Σ a, sumAB[k] += Σ a·b over the rows of channel k. */
export function channelDots(
  as: Float32Array,
  bs: Float32Array,
  c: number,
  sumA: Float64Array,
  sumAB: Float64Array,
): void {
  eachChannelRun(as.length, c, (start, end, k) => {
    let s = 0;
    let s2 = 0;
    for (let i = start + k; i < end; i += c) {
      const v = as[i]!;
      s += v;
      s2 += v * bs[i]!;
    }
    sumA[k]! += s;
    sumAB[k]! += s2;
  });
}

/** sum[k] += Σ x over the rows of channel k. */
export function channelSum(xs: Float32Array, c: number, sum: Float64Array): void {
  eachChannelRun(xs.length, c, (start, end, k) => {
    let s = 0;
    for (let i = start + k; i < end; i += c) s += xs[i]!;
    sum[k]! += s;
  });
}

/** out = x·a[k] + b[k]. */
export function channelAffine(
  xs: Float32Array,
  a: Float32Array,
  b: Float32Array,
  c: number,
  out: Float32Array,
): void {
  eachChannelRun(xs.length, c, (start, end, k) => {
    const ak = a[k]!;
    const bk = b[k]!;
    for (let i = start + k; i < end; i += c) out[i] = xs[i]! * ak + bk;
  });
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
  eachChannelRun(us.length, c, (start, end, k) => {
    const pk = p[k]!;
    const qk = q[k]!;
    const rk = r[k]!;
    for (let i = start + k; i < end; i += c) out[i] = pk * us[i]! + qk * vs[i]! + rk;
  });
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
