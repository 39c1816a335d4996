// STL-10 reader against the real sample (../shared/datasets/stl10-sample) and small synthetic folders.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { DatasetCorruptError, DatasetUnavailableError } from '../../server/shared/data/errors.js';
import { type DatasetHandle, openDatasetDir, resolveDataset } from '../../server/shared/data/registry.js';
import { readStl10, readStl10Folds, readStl10Labels, STL10_CLASSES } from '../../server/shared/data/stl10.js';
import type { ImageSet } from '../../server/shared/data/types.js';
import { STL_SAMPLE_DIR } from '../helpers/paths.js';

const REC = 3 * 96 * 96;
const rawTest = fs.readFileSync(path.join(STL_SAMPLE_DIR, 'test_X.bin'));
const rawUnl = fs.readFileSync(path.join(STL_SAMPLE_DIR, 'unlabeled_X.bin'));

/** The README's rule: byte c*9216 + x*96 + y of an image is (row y, column x, channel c). */
function rawPixel(raw: Buffer, i: number, row: number, col: number, ch: number): number {
  return raw[i * REC + ch * 9216 + col * 96 + row]!;
}
function pixel(set: ImageSet, i: number, row: number, col: number, ch: number): number {
  return set.images[((i * 96 + row) * 96 + col) * 3 + ch]!;
}

let handle: DatasetHandle;
let testSet: ImageSet;
before(async () => {
  handle = await openDatasetDir('stl10', STL_SAMPLE_DIR);
  testSet = await handle.load('test');
});

describe('stl10 sample', () => {
  test('class names and shape', () => {
    assert.deepEqual(handle.classNames, STL10_CLASSES);
    assert.equal(handle.height, 96);
    assert.equal(testSet.count, 10);
    assert.equal(testSet.images.length, 10 * REC);
    assert.match(handle.checksum, /^[0-9a-f]{64}$/);
  });

  test('orientation: column-major planes become rows (not transposed)', () => {
    for (const [i, row, col, ch] of [
      [0, 0, 1, 0],
      [0, 1, 0, 0],
      [3, 10, 80, 1],
      [9, 95, 2, 2],
      [5, 47, 48, 0],
    ] as const) {
      assert.equal(
        pixel(testSet, i, row, col, ch),
        rawPixel(rawTest, i, row, col, ch),
        `image ${i} (${row},${col},${ch})`,
      );
    }
    // A wrong (row-major) reading would differ on many off-diagonal pixels of real images.
    let differ = 0;
    for (let r = 0; r < 96; r++) {
      for (let c = 0; c < 96; c++) if (pixel(testSet, 0, r, c, 0) !== rawTest[r * 96 + c]) differ++;
    }
    assert.ok(differ > 4000, `${differ} pixels differ from a row-major reading`);
  });

  test('labels 1–10 become 0–9 and match test_indices.txt and the full label file', () => {
    const lines = fs
      .readFileSync(path.join(STL_SAMPLE_DIR, 'test_indices.txt'), 'utf8')
      .trim()
      .split('\n')
      .map((l) => l.split('\t'));
    const full = readStl10Labels(path.join(STL_SAMPLE_DIR, 'full_labels', 'test_y.bin'));
    assert.equal(lines.length, 10);
    lines.forEach(([index, label, name], i) => {
      assert.equal(testSet.labels[i], Number(label) - 1);
      assert.equal(testSet.classNames[testSet.labels[i]!], name);
      assert.equal(full[Number(index)], testSet.labels[i]);
    });
    assert.deepEqual(
      Array.from(testSet.labels).sort((a, b) => a - b),
      [0, 1, 2, 3, 4, 5, 6, 7, 8, 9],
    );
  });

  test('full label files: 5,000 and 8,000 labels, 500 and 800 per class', () => {
    for (const [file, n] of [
      ['train_y.bin', 5000],
      ['test_y.bin', 8000],
    ] as const) {
      const y = readStl10Labels(path.join(STL_SAMPLE_DIR, 'full_labels', file));
      assert.equal(y.length, n);
      const c = new Array(10).fill(0);
      for (const v of y) c[v]++;
      assert.deepEqual(c, new Array(10).fill(n / 10));
    }
  });

  test('unlabeled: 246 images, labels 255, offset/limit reads a slice', async () => {
    assert.equal(handle.count('unlabeled'), 246);
    const all = await handle.load('unlabeled');
    assert.equal(all.count, 246);
    assert.ok(all.labels.every((v) => v === 255));
    assert.equal(pixel(all, 200, 30, 60, 2), rawPixel(rawUnl, 200, 30, 60, 2));
    const part = await handle.load('unlabeled', { offset: 100, limit: 50 });
    assert.equal(part.count, 50);
    assert.deepEqual(part.images, all.images.subarray(100 * REC, 150 * REC));
  });

  test('missing optional files: train split and folds say which file to put where', async () => {
    assert.equal(handle.hasSplit('train'), false);
    assert.equal(handle.hasSplit('test'), true);
    await assert.rejects(handle.load('train'), (e: Error) => {
      assert.ok(e instanceof DatasetUnavailableError);
      assert.ok(e.message.includes(path.join(STL_SAMPLE_DIR, 'train_X.bin')));
      return true;
    });
    assert.throws(
      () => handle.folds(),
      (e: Error) => e instanceof DatasetUnavailableError && /fold_indices\.txt/.test(e.message),
    );
  });
});

describe('stl10 synthetic folders', () => {
  let dir: string;
  before(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'pretext-stl-'));
  });
  after(() => fs.rmSync(dir, { recursive: true, force: true }));

  function folder(files: Record<string, Uint8Array | string>): string {
    const d = fs.mkdtempSync(path.join(dir, 'f-'));
    fs.copyFileSync(path.join(STL_SAMPLE_DIR, 'class_names.txt'), path.join(d, 'class_names.txt'));
    for (const [name, body] of Object.entries(files)) fs.writeFileSync(path.join(d, name), body);
    return d;
  }

  test('train split and folds of a small folder; registry finds stl10_binary/', async () => {
    const root = fs.mkdtempSync(path.join(dir, 'root-'));
    const d = path.join(root, 'stl10_binary');
    fs.renameSync(
      folder({
        'train_X.bin': rawTest,
        'train_y.bin': fs.readFileSync(path.join(STL_SAMPLE_DIR, 'test_y.bin')),
        'fold_indices.txt': Array.from({ length: 10 }, (_, f) => `${(f + 3) % 10} ${f} `).join('\n'),
      }),
      d,
    );
    const h = await resolveDataset('stl10', { dataDir: root, allowDownload: false });
    assert.equal(h.dir, d);
    const train = await h.load('train');
    assert.equal(train.count, 10);
    assert.deepEqual(train.images, testSet.images);
    const folds = h.folds();
    assert.equal(folds.length, 10);
    assert.deepEqual(Array.from(folds[0]!), [0, 3]);
    assert.equal(h.hasSplit('unlabeled'), false);
  });

  test('truncated X, mismatched y, bad labels and bad folds are errors naming the file', () => {
    const d1 = folder({
      'test_X.bin': rawTest.subarray(0, REC * 2 - 5),
      'test_y.bin': new Uint8Array([1, 2]),
    });
    assert.throws(
      () => readStl10(d1, 'test'),
      (e: Error) =>
        e instanceof DatasetCorruptError && e.message.includes('test_X.bin') && /55291 bytes/.test(e.message),
    );
    const d2 = folder({
      'test_X.bin': rawTest.subarray(0, REC * 2),
      'test_y.bin': new Uint8Array([1, 2, 3]),
    });
    assert.throws(() => readStl10(d2, 'test'), /test_y\.bin: 3 labels but .*test_X\.bin holds 2 images/);
    const d3 = folder({ 'test_X.bin': rawTest.subarray(0, REC), 'test_y.bin': new Uint8Array([11]) });
    assert.throws(() => readStl10(d3, 'test'), /test_y\.bin: label 11 at index 0/);
    const d4 = folder({ 'fold_indices.txt': '1 2\n3 x\n' });
    assert.throws(() => readStl10Folds(d4), /fold_indices\.txt: expected 10 lines/);
    const d5 = folder({ 'fold_indices.txt': Array.from({ length: 10 }, () => '1 7').join('\n') });
    assert.throws(() => readStl10Folds(d5, 5), /index "7" outside the train split/);
  });
});
