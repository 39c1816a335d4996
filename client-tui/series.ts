// Bounded per-step series: at most `cap` stored points however long the run. When full, pairs
// of points merge and each stored point stands for twice as many steps, so memory and chart
// cost stay flat at 10,000+ steps while the shape of the curve survives.

export interface Series {
  /** Step (x) of each stored point: the last step of its bucket. */
  x: number[];
  /** Mean of each metric over the bucket, by name. */
  y: Record<string, number[]>;
  /** Raw points per stored point. */
  bucket: number;
  /** Raw points in the open bucket and their sums. */
  pendingN: number;
  pendingSum: Record<string, number>;
  pendingX: number;
  cap: number;
}

export function emptySeries(names: readonly string[], cap = 512): Series {
  const y: Record<string, number[]> = {};
  const pendingSum: Record<string, number> = {};
  for (const n of names) {
    y[n] = [];
    pendingSum[n] = 0;
  }
  return { x: [], y, bucket: 1, pendingN: 0, pendingSum, pendingX: 0, cap };
}

/** Copies a series so a batch of appends can mutate the copy (the reducer stays pure). */
export function cloneSeries(s: Series): Series {
  const y: Record<string, number[]> = {};
  for (const [k, v] of Object.entries(s.y)) y[k] = v.slice();
  return { ...s, x: s.x.slice(), y, pendingSum: { ...s.pendingSum } };
}

/** Appends one raw point in place (use on a clone). */
export function appendPoint(s: Series, x: number, values: Record<string, number>): void {
  s.pendingN += 1;
  s.pendingX = x;
  for (const k of Object.keys(s.y)) s.pendingSum[k] = (s.pendingSum[k] ?? 0) + (values[k] ?? 0);
  if (s.pendingN < s.bucket) return;
  s.x.push(s.pendingX);
  for (const [k, arr] of Object.entries(s.y)) {
    arr.push((s.pendingSum[k] ?? 0) / s.pendingN);
    s.pendingSum[k] = 0;
  }
  s.pendingN = 0;
  if (s.x.length >= s.cap) halve(s);
}

function halve(s: Series): void {
  const half = (a: number[], pick: (l: number, r: number) => number) => {
    const out: number[] = [];
    for (let i = 0; i + 1 < a.length; i += 2) out.push(pick(a[i] as number, a[i + 1] as number));
    return out;
  };
  s.x = half(s.x, (_, r) => r);
  for (const k of Object.keys(s.y)) s.y[k] = half(s.y[k] ?? [], (l, r) => (l + r) / 2);
  s.bucket *= 2;
}

/** Stored points plus the open bucket, for drawing. */
export function seriesPoints(s: Series, name: string): { x: number[]; y: number[] } {
  const y = (s.y[name] ?? []).slice();
  const x = s.x.slice();
  if (s.pendingN > 0) {
    x.push(s.pendingX);
    y.push((s.pendingSum[name] ?? 0) / s.pendingN);
  }
  return { x, y };
}
