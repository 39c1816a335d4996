// CIFAR-10 reader and registry against the real dataset in ../shared/datasets.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { hashFile } from '../../server/shared/data/checksum.js';
import { CIFAR10_CLASSES, readCifar10 } from '../../server/shared/data/cifar10.js';
import { DatasetCorruptError, DatasetUnavailableError } from '../../server/shared/data/errors.js';
import {
  type DatasetHandle,
  datasetStatus,
  openDatasetDir,
  resolveDataset,
} from '../../server/shared/data/registry.js';
import type { ImageSet } from '../../server/shared/data/types.js';
import { CIFAR_DIR, SHARED_DATASETS } from '../helpers/paths.js';

const REC = 3073;

function perClass(labels: Uint8Array): number[] {
  const c = new Array(10).fill(0);
  for (const y of labels) c[y]++;
  return c;
}

/** Pixel (row, col, channel) of record r of a raw CIFAR file, straight from its bytes. */
function rawPixel(file: string, r: number, row: number, col: number, ch: number): number {
  const fd = fs.openSync(path.join(CIFAR_DIR, file), 'r');
  const b = Buffer.alloc(1);
  fs.readSync(fd, b, 0, 1, r * REC + 1 + ch * 1024 + row * 32 + col);
  fs.closeSync(fd);
  return b[0]!;
}

function pixel(set: ImageSet, i: number, row: number, col: number, ch: number): number {
  return set.images[((i * 32 + row) * 32 + col) * 3 + ch]!;
}

let handle: DatasetHandle;
let train: ImageSet;
let testSet: ImageSet;

before(async () => {
  handle = await resolveDataset('cifar10', { dataDir: SHARED_DATASETS, allowDownload: false });
  train = await handle.load('train');
  testSet = await handle.load('test');
});

describe('cifar10 reader', () => {
  test('handle facts and class names from batches.meta.txt', () => {
    assert.equal(handle.dir, CIFAR_DIR);
    assert.deepEqual(handle.classNames, CIFAR10_CLASSES);
    assert.equal(handle.numClasses, 10);
    assert.equal(handle.height, 32);
    assert.equal(handle.width, 32);
    assert.equal(handle.count('train'), 50_000);
    assert.equal(handle.count('test'), 10_000);
  });

  test('counts per split and per class', () => {
    assert.equal(train.count, 50_000);
    assert.equal(train.images.length, 50_000 * 3072);
    assert.deepEqual(perClass(train.labels), new Array(10).fill(5000));
    assert.equal(testSet.count, 10_000);
    assert.deepEqual(perClass(testSet.labels), new Array(10).fill(1000));
    assert.deepEqual(
      perClass(train.labels.subarray(0, 10_000)),
      [1005, 974, 1032, 1016, 999, 937, 1030, 1001, 1025, 981],
    );
    for (let f = 1; f < 5; f++) {
      assert.equal(
        perClass(train.labels.subarray(f * 10_000, (f + 1) * 10_000)).reduce((a, b) => a + b),
        10_000,
      );
    }
  });

  test('first labels of data_batch_1 and test_batch', () => {
    assert.deepEqual(Array.from(train.labels.subarray(0, 10)), [6, 9, 9, 4, 1, 1, 2, 7, 8, 3]);
    assert.deepEqual(Array.from(testSet.labels.subarray(0, 10)), [3, 8, 8, 0, 6, 6, 1, 6, 3, 1]);
  });

  test('pixels equal the raw planes (R, G, B; row-major) across files', () => {
    const probes: [string, number, number, number, number, ImageSet, number][] = [
      ['data_batch_1.bin', 0, 0, 0, 0, train, 0],
      ['data_batch_1.bin', 0, 5, 27, 1, train, 0],
      ['data_batch_1.bin', 9_999, 31, 31, 2, train, 9_999],
      ['data_batch_3.bin', 1_234, 12, 3, 0, train, 21_234],
      ['data_batch_5.bin', 9_999, 30, 1, 2, train, 49_999],
      ['test_batch.bin', 4_321, 17, 22, 1, testSet, 4_321],
    ];
    for (const [file, r, row, col, ch, set, i] of probes) {
      assert.equal(
        pixel(set, i, row, col, ch),
        rawPixel(file, r, row, col, ch),
        `${file} #${r} (${row},${col},${ch})`,
      );
    }
    // Row-major: (row 0, col 1) is byte 1 of the plane, (row 1, col 0) is byte 32.
    assert.equal(pixel(train, 7, 0, 1, 0), rawPixel('data_batch_1.bin', 7, 0, 1, 0));
    assert.equal(pixel(train, 7, 1, 0, 0), rawPixel('data_batch_1.bin', 7, 1, 0, 0));
  });

  test('limit reads only the first images; unlabeled hides labels', async () => {
    const few = await handle.load('train', { limit: 10_005 });
    assert.equal(few.count, 10_005);
    assert.deepEqual(few.images, train.images.subarray(0, 10_005 * 3072));
    assert.deepEqual(few.labels, train.labels.subarray(0, 10_005));
    const unl = await handle.load('unlabeled', { limit: 100 });
    assert.equal(unl.split, 'unlabeled');
    assert.ok(unl.labels.every((y) => y === 255));
    assert.deepEqual(unl.images, train.images.subarray(0, 100 * 3072));
  });

  test('files match SHA256SUMS, and the handle checksum covers them', async () => {
    const sums = fs
      .readFileSync(path.join(CIFAR_DIR, 'SHA256SUMS'), 'utf8')
      .trim()
      .split('\n')
      .map((l) => l.split(/\s+/));
    assert.equal(sums.length, 6);
    for (const [sum, name] of sums) {
      const { sha256 } = await hashFile(path.join(CIFAR_DIR, name!));
      assert.equal(sha256, sum, name);
    }
    assert.match(handle.checksum, /^[0-9a-f]{64}$/);
    const again = await openDatasetDir('cifar10', CIFAR_DIR);
    assert.equal(again.checksum, handle.checksum);
  });

  test('status: present in the shared dir, absent elsewhere with a hint', () => {
    assert.deepEqual(datasetStatus('cifar10', SHARED_DATASETS), { present: true, path: CIFAR_DIR, hint: '' });
    const empty = fs.mkdtempSync(path.join(os.tmpdir(), 'pretext-data-'));
    try {
      const s = datasetStatus('cifar10', empty);
      assert.equal(s.present, false);
      assert.match(s.hint, /cifar-10-binary\.tar\.gz/);
      assert.match(s.hint, /cifar-10-batches-bin/);
      assert.ok(s.hint.includes(empty));
    } finally {
      fs.rmSync(empty, { recursive: true });
    }
  });
});

describe('cifar10 errors', () => {
  let dir: string;
  before(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'pretext-cifar-'));
  });
  after(() => fs.rmSync(dir, { recursive: true, force: true }));

  /** A data dir whose cifar folder links the real files except `test_batch.bin`, written as given. */
  function withTestBatch(bytes: Uint8Array): string {
    const root = fs.mkdtempSync(path.join(dir, 'd-'));
    const folder = path.join(root, 'cifar-10-batches-bin');
    fs.mkdirSync(folder);
    for (const f of fs.readdirSync(CIFAR_DIR)) {
      if (f !== 'test_batch.bin') fs.symlinkSync(path.join(CIFAR_DIR, f), path.join(folder, f));
    }
    fs.writeFileSync(path.join(folder, 'test_batch.bin'), bytes);
    return root;
  }

  test('offline and absent: says which file to put where', async () => {
    const empty = fs.mkdtempSync(path.join(dir, 'empty-'));
    await assert.rejects(resolveDataset('cifar10', { dataDir: empty, allowDownload: false }), (e: Error) => {
      assert.ok(e instanceof DatasetUnavailableError);
      assert.match(e.message, /cifar-10-binary\.tar\.gz/);
      assert.ok(e.message.includes(empty));
      return true;
    });
  });

  test('truncated file: names the file, expected and actual size', async () => {
    const full = fs.readFileSync(path.join(CIFAR_DIR, 'test_batch.bin'));
    const root = withTestBatch(full.subarray(0, full.length - REC));
    await assert.rejects(resolveDataset('cifar10', { dataDir: root, allowDownload: false }), (e: Error) => {
      assert.ok(e instanceof DatasetCorruptError);
      assert.match(e.message, /test_batch\.bin/);
      assert.match(e.message, /30730000/);
      assert.match(e.message, /30726927/);
      return true;
    });
  });

  test('corrupt byte: names the file, expected and actual checksum', async () => {
    const bytes = Uint8Array.from(fs.readFileSync(path.join(CIFAR_DIR, 'test_batch.bin')));
    bytes[1000] = (bytes[1000]! + 1) & 255;
    const root = withTestBatch(bytes);
    await assert.rejects(resolveDataset('cifar10', { dataDir: root, allowDownload: false }), (e: Error) => {
      assert.ok(e instanceof DatasetCorruptError);
      assert.match(e.message, /test_batch\.bin/);
      assert.match(e.message, /8e2eb146ae340b09e24670f29cabc6326dba54da8789dab6768acf480273f65b/);
      return true;
    });
  });

  test('reader: partial records and bad labels are errors, not misreads', () => {
    const folder = fs.mkdtempSync(path.join(dir, 'r-'));
    const rec = new Uint8Array(REC * 2);
    for (const f of [
      'data_batch_1.bin',
      'data_batch_2.bin',
      'data_batch_3.bin',
      'data_batch_4.bin',
      'data_batch_5.bin',
    ]) {
      fs.writeFileSync(path.join(folder, f), rec);
    }
    fs.writeFileSync(path.join(folder, 'test_batch.bin'), rec.subarray(0, REC + 100));
    assert.throws(
      () => readCifar10(folder, 'test'),
      (e: Error) => {
        assert.ok(e instanceof DatasetCorruptError);
        assert.match(e.message, /test_batch\.bin: 3173 bytes/);
        return true;
      },
    );
    const bad = rec.slice();
    bad[REC] = 10;
    fs.writeFileSync(path.join(folder, 'test_batch.bin'), bad);
    assert.throws(() => readCifar10(folder, 'test'), /test_batch\.bin: record 1 has label 10/);
    assert.equal(readCifar10(folder, 'train').count, 10);
  });
});
