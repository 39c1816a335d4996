// The embedding picture: PCA finds the direction the points spread along, and two runs' panels
// are drawn side by side with their titles, as SVG and PNG (UMAP through umap-js, seeded).
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { pca2, writeEmbeddingPlot } from '../../clients/ts/embedding-plot.js';

test('PCA: the first component follows the direction of largest spread', () => {
  const n = 200;
  const dim = 8;
  const x = new Float32Array(n * dim);
  const t = Float64Array.from({ length: n }, (_, i) => (i - n / 2) / 10);
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < dim; j++)
      x[i * dim + j] = (j === 2 ? 3 : j === 5 ? -4 : 0) * t[i]! + Math.sin(i * 7 + j) * 0.1;
  }
  const p = pca2(x, n, dim);
  let num = 0;
  let a = 0;
  let b = 0;
  for (let i = 0; i < n; i++) {
    num += p[i * 2]! * t[i]!;
    a += p[i * 2]! ** 2;
    b += t[i]! ** 2;
  }
  assert.ok(Math.abs(num / Math.sqrt(a * b)) > 0.999, 'first component ~ t');
});

test('two runs side by side, coloured by class, as SVG and PNG', async () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'pretext-plot-'));
  try {
    const n = 60;
    const dim = 4;
    const panel = (title: string, shift: number) => ({
      title,
      dim,
      embeddings: Float32Array.from(
        { length: n * dim },
        (_, k) => (Math.floor(k / dim) % 3) + shift + Math.sin(k) * 0.2,
      ),
      labels: Int32Array.from({ length: n }, (_, i) => i % 3),
      classNames: ['cat', 'dog', 'ship'],
    });
    const files = await writeEmbeddingPlot(
      [panel('SSL backbone', 0), panel('SL baseline', 5)],
      path.join(dir, 'e'),
      'umap',
    );
    assert.deepEqual(
      files.map((f) => path.basename(f)),
      ['e.svg', 'e.png'],
    );
    const svg = readFileSync(files[0]!, 'utf8');
    for (const s of ['SSL backbone', 'SL baseline', 'cat', 'dog', 'ship']) assert.ok(svg.includes(s), s);
    const png = readFileSync(files[1]!);
    assert.equal(png.subarray(1, 4).toString(), 'PNG');
    assert.ok(png.readUInt32BE(16) > 600, 'two panels wide');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
