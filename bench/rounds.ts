// Summaries of the interleaved bench's rounds: each round measures pretext and the peer back to
// back, so a ratio is only ever taken within one round (same load), and the rounds' ratios are
// reported as their median with the min–max range.

export interface Spread {
  median: number;
  min: number;
  max: number;
  n: number;
}

/** Median, min and max of the finite values; null when there are none. */
export function spread(values: ReadonlyArray<number | null | undefined>): Spread | null {
  const v = values
    .filter((x): x is number => typeof x === 'number' && Number.isFinite(x))
    .sort((a, b) => a - b);
  if (v.length === 0) return null;
  const mid = v.length >> 1;
  const median = v.length % 2 === 1 ? v[mid]! : (v[mid - 1]! + v[mid]!) / 2;
  return { median, min: v[0]!, max: v.at(-1)!, n: v.length };
}

/** a[i] / b[i] for each round where both sides were measured. */
export function pairedRatios(
  a: ReadonlyArray<number | null | undefined>,
  b: ReadonlyArray<number | null | undefined>,
): number[] {
  const out: number[] = [];
  for (let i = 0; i < Math.min(a.length, b.length); i++) {
    const x = a[i];
    const y = b[i];
    if (typeof x === 'number' && typeof y === 'number' && y > 0 && Number.isFinite(x)) out.push(x / y);
  }
  return out;
}

/** "0.81 (0.72–0.93, 3 rounds)" */
export function formatSpread(s: Spread | null, digits = 2): string {
  if (!s) return '-';
  return `${s.median.toFixed(digits)} (${s.min.toFixed(digits)}–${s.max.toFixed(digits)}, ${s.n} round${s.n === 1 ? '' : 's'})`;
}

const round3 = (v: number) => Math.round(v * 1000) / 1000;

/** The JSON fields for one ratio: name, name_min, name_max (null when unmeasured). */
export function ratioFields(name: string, s: Spread | null): Record<string, number | null> {
  return {
    [name]: s ? round3(s.median) : null,
    [`${name}_min`]: s ? round3(s.min) : null,
    [`${name}_max`]: s ? round3(s.max) : null,
  };
}
