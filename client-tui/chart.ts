// Text charts: series resampled to the plot width (bucket means when there are more points
// than columns, straight-line interpolation when there are fewer), then placed on rows.

export interface ChartSeries {
  name: string;
  y: readonly number[];
  /** x of each point (increasing); index when absent. */
  x?: readonly number[];
}

export interface ChartCell {
  ch: string;
  /** Index of the series that drew the cell; -1 for axes and blanks. */
  series: number;
}

export interface ChartGrid {
  rows: ChartCell[][];
  min: number;
  max: number;
  /** Width of the y-axis label column, included in each row. */
  labelWidth: number;
}

/** Column values (NaN = nothing in that column) and whether each is a real point. */
export function resample(
  y: readonly number[],
  x: readonly number[] | undefined,
  width: number,
): { v: number[]; exact: boolean[] } {
  const v = new Array<number>(width).fill(Number.NaN);
  const exact = new Array<boolean>(width).fill(false);
  const n = y.length;
  if (n === 0 || width <= 0) return { v, exact };
  const xs = x && x.length === n ? x : y.map((_, i) => i);
  const x0 = xs[0] as number;
  const span = (xs[n - 1] as number) - x0;
  const col = (i: number) => (span > 0 ? Math.round((((xs[i] as number) - x0) / span) * (width - 1)) : 0);
  if (n > width) {
    const sum = new Array<number>(width).fill(0);
    const cnt = new Array<number>(width).fill(0);
    for (let i = 0; i < n; i++) {
      const val = y[i] as number;
      if (!Number.isFinite(val)) continue;
      const c = col(i);
      sum[c] = (sum[c] as number) + val;
      cnt[c] = (cnt[c] as number) + 1;
    }
    for (let c = 0; c < width; c++) {
      if ((cnt[c] as number) > 0) {
        v[c] = (sum[c] as number) / (cnt[c] as number);
        exact[c] = true;
      }
    }
    return { v, exact };
  }
  let prevC = -1;
  let prevV = Number.NaN;
  for (let i = 0; i < n; i++) {
    const val = y[i] as number;
    if (!Number.isFinite(val)) continue;
    const c = col(i);
    if (prevC >= 0 && c > prevC + 1) {
      for (let k = prevC + 1; k < c; k++) v[k] = prevV + ((val - prevV) * (k - prevC)) / (c - prevC);
    }
    v[c] = val;
    exact[c] = true;
    prevC = c;
    prevV = val;
  }
  return { v, exact };
}

function label(x: number): string {
  if (!Number.isFinite(x)) return '';
  const a = Math.abs(x);
  if (a === 0) return '0';
  if (a >= 1000) return x.toExponential(0);
  if (a >= 10) return x.toFixed(0);
  if (a >= 0.01) return x.toPrecision(2);
  return x.toExponential(0);
}

export function renderChart(
  series: readonly ChartSeries[],
  width: number,
  height: number,
  glyphs = ['•', '•'],
): ChartGrid {
  const labelWidth = 6;
  const plotW = Math.max(2, width - labelWidth - 1);
  const h = Math.max(2, height);
  const cols = series.map((s) => resample(s.y, s.x, plotW));
  let min = Number.POSITIVE_INFINITY;
  let max = Number.NEGATIVE_INFINITY;
  for (const c of cols) {
    for (const val of c.v) {
      if (Number.isFinite(val)) {
        min = Math.min(min, val);
        max = Math.max(max, val);
      }
    }
  }
  if (!Number.isFinite(min)) {
    min = 0;
    max = 1;
  }
  if (max - min < 1e-12) {
    max += 0.5 * (Math.abs(max) || 1) * 0.01;
    min -= 0.5 * (Math.abs(min) || 1) * 0.01;
  }
  const grid: ChartCell[][] = Array.from({ length: h }, () =>
    Array.from({ length: plotW }, () => ({ ch: ' ', series: -1 })),
  );
  cols.forEach((c, si) => {
    for (let k = 0; k < plotW; k++) {
      const val = c.v[k] as number;
      if (!Number.isFinite(val)) continue;
      const r = h - 1 - Math.round(((val - min) / (max - min)) * (h - 1));
      const row = grid[r];
      if (row) row[k] = { ch: c.exact[k] ? (glyphs[si] ?? '•') : '·', series: si };
    }
  });
  const rows = grid.map((cells, r) => {
    const l = r === 0 ? label(max) : r === h - 1 ? label(min) : '';
    return [{ ch: `${l.padStart(labelWidth)}│`, series: -1 }, ...cells];
  });
  return { rows, min, max, labelWidth };
}

/** Cells merged into runs of the same series, for coloured <Text> segments. */
export function segments(row: readonly ChartCell[]): { text: string; series: number }[] {
  const out: { text: string; series: number }[] = [];
  for (const c of row) {
    const last = out[out.length - 1];
    if (last && last.series === c.series) last.text += c.ch;
    else out.push({ text: c.ch, series: c.series });
  }
  return out;
}
