// A picture of embeddings: a 2-D projection (UMAP through umap-js, seeded; or PCA) of each run's
// test embeddings, coloured by class, one panel per run side by side, as SVG and PNG.
import { writeFile } from 'node:fs/promises';
import { UMAP } from 'umap-js';
import type * as vl from 'vega-lite';
import { render } from './report/render.js';

export type Projection = 'umap' | 'pca';

export interface PlotPanel {
  title: string;
  embeddings: Float32Array;
  dim: number;
  labels: ArrayLike<number>;
  classNames: string[];
}

/** Mulberry32: a small seeded generator, so the same embeddings give the same picture. */
function seeded(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** The first two principal components (power iteration on the covariance, deflated). */
export function pca2(x: Float32Array, n: number, dim: number): Float64Array {
  const mean = new Float64Array(dim);
  for (let i = 0; i < n; i++) for (let j = 0; j < dim; j++) mean[j]! += x[i * dim + j]! / n;
  const cov = new Float64Array(dim * dim);
  for (let i = 0; i < n; i++) {
    for (let a = 0; a < dim; a++) {
      const da = x[i * dim + a]! - mean[a]!;
      for (let b = a; b < dim; b++) cov[a * dim + b]! += (da * (x[i * dim + b]! - mean[b]!)) / n;
    }
  }
  for (let a = 0; a < dim; a++) for (let b = 0; b < a; b++) cov[a * dim + b] = cov[b * dim + a]!;
  const rng = seeded(1);
  const comps: Float64Array[] = [];
  for (let c = 0; c < 2; c++) {
    let v = Float64Array.from({ length: dim }, () => rng() - 0.5);
    for (let it = 0; it < 200; it++) {
      const w = new Float64Array(dim);
      for (let a = 0; a < dim; a++) for (let b = 0; b < dim; b++) w[a]! += cov[a * dim + b]! * v[b]!;
      for (const p of comps) {
        let d = 0;
        for (let a = 0; a < dim; a++) d += w[a]! * p[a]!;
        for (let a = 0; a < dim; a++) w[a]! -= d * p[a]!;
      }
      const norm = Math.hypot(...w) || 1;
      v = w.map((q) => q / norm);
    }
    comps.push(v);
  }
  const out = new Float64Array(n * 2);
  for (let i = 0; i < n; i++) {
    for (let c = 0; c < 2; c++) {
      let s = 0;
      for (let a = 0; a < dim; a++) s += (x[i * dim + a]! - mean[a]!) * comps[c]![a]!;
      out[i * 2 + c] = s;
    }
  }
  return out;
}

export function project(x: Float32Array, n: number, dim: number, how: Projection): Float64Array {
  if (how === 'pca' || n < 16) return pca2(x, n, dim);
  const rows = Array.from({ length: n }, (_, i) => Array.from(x.subarray(i * dim, (i + 1) * dim)));
  const umap = new UMAP({ nComponents: 2, nNeighbors: Math.min(15, n - 1), minDist: 0.1, random: seeded(1) });
  const y = umap.fit(rows);
  return Float64Array.from(y.flat());
}

export function scatterSpec(
  panels: Array<{ title: string; points: Float64Array; labels: ArrayLike<number>; classNames: string[] }>,
  how: Projection,
): vl.TopLevelSpec {
  const values = panels.flatMap((p) =>
    Array.from({ length: p.points.length / 2 }, (_, i) => ({
      panel: p.title,
      x: p.points[i * 2]!,
      y: p.points[i * 2 + 1]!,
      class: p.classNames[p.labels[i]!] ?? (p.labels[i]! < 0 ? 'unlabeled' : String(p.labels[i])),
    })),
  );
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v5.json',
    title: `Test embeddings, ${how.toUpperCase()} projection, coloured by class`,
    data: { values },
    facet: { column: { field: 'panel', type: 'nominal', title: null, sort: panels.map((p) => p.title) } },
    resolve: { scale: { x: 'independent', y: 'independent' } },
    spec: {
      width: 320,
      height: 320,
      mark: { type: 'circle', size: 14, opacity: 0.7 },
      encoding: {
        x: { field: 'x', type: 'quantitative', axis: null },
        y: { field: 'y', type: 'quantitative', axis: null },
        color: { field: 'class', type: 'nominal', scale: { scheme: 'category10' } },
      },
    },
  };
}

/** Projects each panel and writes `<stem>.svg` and `<stem>.png`; returns the two paths. */
export async function writeEmbeddingPlot(
  panels: PlotPanel[],
  stem: string,
  how: Projection,
): Promise<string[]> {
  const projected = panels.map((p) => ({
    title: p.title,
    points: project(p.embeddings, p.labels.length, p.dim, how),
    labels: p.labels,
    classNames: p.classNames,
  }));
  const { svg, png } = await render(scatterSpec(projected, how));
  await writeFile(`${stem}.svg`, svg);
  await writeFile(`${stem}.png`, png);
  return [`${stem}.svg`, `${stem}.png`];
}
