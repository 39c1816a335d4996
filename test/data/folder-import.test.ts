// The folder importer against real CIFAR-10 images: pixel equality with the binary reader,
// skipped files, refusals, atomic visibility, the per-class budget rule.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { SubsetScheme } from '../../gen/ts/pretext/v1/run.js';
import {
  backboneSideProblem,
  datasetEntry,
  parseArchitecture,
  SUBSET_SCHEMES,
} from '../../server/shared/contract/catalog.js';
import { IMPORT } from '../../server/shared/contract/datasets.js';
import { ImportError, importFolder } from '../../server/shared/data/folder-import.js';
import { catalogEntryOf, listImported, openImported } from '../../server/shared/data/imported.js';
import { resolveDataset } from '../../server/shared/data/registry.js';
import type { ImageSet } from '../../server/shared/data/types.js';
import { labelBudget } from '../../server/worker/data/subsets.js';
import { meanImage } from '../../server/worker/data/batches.js';
import { memoryStream, streamedMeanImage } from '../../server/worker/data/source.js';
import { writeCifarFolder } from '../helpers/image-folder.js';
import { SHARED_DATASETS } from '../helpers/paths.js';

const N = 100;
let tmp: string;
let cifarTest: ImageSet;

before(async () => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'pretext-import-'));
  const h = await resolveDataset('cifar10', { dataDir: SHARED_DATASETS, allowDownload: false });
  cifarTest = await h.load('test', { limit: N });
});
after(() => fs.rmSync(tmp, { recursive: true, force: true }));

function cifarImage(i: number): Uint8Array {
  return cifarTest.images.subarray(i * 3072, (i + 1) * 3072);
}

/** Expects `p` to reject with an ImportError of `kind` whose message matches `re`. */
async function refused(p: Promise<unknown>, kind: string, re: RegExp): Promise<void> {
  await assert.rejects(p, (err: unknown) => {
    assert.ok(err instanceof ImportError, String(err));
    assert.equal(err.kind, kind, err.message);
    assert.match(err.message, re);
    return true;
  });
}

describe('folder import', () => {
  test('lossless PNG at side 32 equals the CIFAR-10 binary reader, pixel for pixel', async () => {
    const src = path.join(tmp, 'png');
    const written = await writeCifarFolder(src, { count: N });
    const dsDir = path.join(tmp, 'ds1');
    const m = await importFolder({ source: src, datasetsDir: dsDir, name: 'pngs', side: 32 });
    assert.deepEqual(m.classNames, [...cifarTest.classNames].sort());
    assert.equal(m.skipped.length, 0);
    assert.ok(m.testSplit.carved);
    const handle = openImported(path.join(dsDir, 'pngs'));
    let compared = 0;
    for (const split of ['train', 'test'] as const) {
      const set = await handle.load(split);
      assert.equal(set.count, m.sources[split].length);
      m.sources[split].forEach((rel, j) => {
        const i = written.get(rel)!;
        assert.deepEqual(set.images.subarray(j * 3072, (j + 1) * 3072), cifarImage(i), rel);
        assert.equal(m.classNames[set.labels[j]!], cifarTest.classNames[cifarTest.labels[i]!]);
        compared++;
      });
    }
    assert.equal(compared, N);
    // Per class: the carved test share, the rest trains.
    const sum = (a: number[]) => a.reduce((x, y) => x + y, 0);
    assert.equal(sum(m.counts.train) + sum(m.counts.test), N);
    // unlabeled = the training images with labels hidden; offset/limit read across shards.
    const unl = await handle.load('unlabeled', { offset: 3, limit: 5 });
    const train = await handle.load('train');
    assert.equal(unl.count, 5);
    assert.ok(unl.labels.every((y) => y === 255));
    assert.deepEqual(unl.images, train.images.subarray(3 * 3072, 8 * 3072));
    // Streamed from the shards: the same images, labels and mean as the split loaded whole.
    for (const split of ['train', 'unlabeled'] as const) {
      const whole = await handle.load(split);
      const s = handle.stream!(split);
      assert.equal(s.count, whole.count);
      assert.deepEqual(s.labels, whole.labels);
      const idx = Int32Array.from([7, 0, 3, whole.count - 1, 7]);
      const g = s.gather(idx);
      idx.forEach((k, j) => {
        assert.deepEqual(
          g.images.subarray(j * 3072, (j + 1) * 3072),
          whole.images.subarray(k * 3072, (k + 1) * 3072),
        );
        assert.equal(g.labels[j], whole.labels[k]);
      });
      const all = Int32Array.from({ length: whole.count }, (_, i) => i);
      assert.deepEqual(streamedMeanImage(s, all), meanImage(whole, all));
      assert.deepEqual(streamedMeanImage(memoryStream(whole), all), meanImage(whole, all));
      s.close();
    }
    // Nothing half-written is left: only the dataset folder.
    assert.deepEqual(fs.readdirSync(dsDir), ['pngs']);
    assert.deepEqual(
      listImported(dsDir).map((x) => x.name),
      ['pngs'],
    );
  });

  test('JPEG and resized inputs, corrupt/zero-byte/non-image files skipped and listed, Unicode names', async () => {
    const src = path.join(tmp, 'mixed');
    const names = [
      'avión',
      'coche rojo',
      'pájaro',
      'gato',
      'ciervo',
      'perro',
      'rana',
      'caballo',
      'barco',
      'camión',
    ];
    await writeCifarFolder(src, { count: N, jpegEvery: 2, classNames: names, labeledDir: 'train' });
    fs.writeFileSync(path.join(src, 'train/gato/zero.png'), '');
    fs.writeFileSync(
      path.join(src, 'train/gato/corrupt.jpg'),
      Buffer.from('\xff\xd8\xff\xe0 not really a jpeg'),
    );
    const png = fs.readFileSync(
      path.join(src, 'train/rana', fs.readdirSync(path.join(src, 'train/rana'))[0]!),
    );
    fs.writeFileSync(path.join(src, 'train/rana/truncated.png'), png.subarray(0, png.length >> 1));
    fs.writeFileSync(path.join(src, 'train/rana/notes.txt'), 'hello');
    fs.mkdirSync(path.join(src, 'unlabeled/deep/er'), { recursive: true });
    fs.copyFileSync(
      path.join(src, 'train/rana', fs.readdirSync(path.join(src, 'train/rana'))[0]!),
      path.join(src, 'unlabeled/deep/er/x y.png'),
    );
    const dsDir = path.join(tmp, 'ds2');
    const m = await importFolder({ source: src, datasetsDir: dsDir, name: 'mixed', side: 24 });
    assert.deepEqual(m.skipped.map((s) => s.path).sort(), [
      'train/gato/corrupt.jpg',
      'train/gato/zero.png',
      'train/rana/notes.txt',
      'train/rana/truncated.png',
    ]);
    assert.match(m.skipped.find((s) => s.path.endsWith('zero.png'))!.reason, /empty/);
    assert.equal(m.counts.unlabeled, 1);
    assert.ok(m.classNames.includes('coche rojo'));
    const h = openImported(path.join(dsDir, 'mixed'));
    assert.equal(h.height, 24);
    assert.equal(h.count('unlabeled'), 1 + h.count('train'));
    const entry = catalogEntryOf(m);
    assert.equal(entry.train, h.count('train'));
  });

  test('refusals: too many failures, one class, symlink escape, duplicate name, no labeled folder', async () => {
    const dsDir = path.join(tmp, 'ds3');
    const bad = path.join(tmp, 'bad');
    await writeCifarFolder(bad, { count: 30 });
    for (let i = 0; i < 10; i++) fs.writeFileSync(path.join(bad, `labeled/cat/broken${i}.png`), 'x');
    await refused(
      importFolder({ source: bad, datasetsDir: dsDir, name: 'bad' }),
      'invalid',
      /could not be imported/,
    );
    assert.deepEqual(
      fs.existsSync(dsDir) ? fs.readdirSync(dsDir) : [],
      [],
      'nothing visible after a refusal',
    );

    const one = path.join(tmp, 'one');
    await writeCifarFolder(one, { count: 40, classNames: new Array(10).fill('only') });
    await refused(
      importFolder({ source: one, datasetsDir: dsDir, name: 'one' }),
      'invalid',
      /at least 2 classes/,
    );

    const esc = path.join(tmp, 'escape');
    await writeCifarFolder(esc, { count: 30 });
    fs.symlinkSync('/etc', path.join(esc, 'labeled/cat/etc'));
    await refused(importFolder({ source: esc, datasetsDir: dsDir, name: 'esc' }), 'permission', /outside/);
    fs.unlinkSync(path.join(esc, 'labeled/cat/etc'));
    fs.symlinkSync(path.join(tmp, 'png'), path.join(esc, 'unlabeled'));
    await refused(importFolder({ source: esc, datasetsDir: dsDir, name: 'esc' }), 'permission', /outside/);

    await refused(
      importFolder({ source: tmp, datasetsDir: dsDir, name: 'x' }),
      'invalid',
      /labeled\/<class>/,
    );
    await refused(
      importFolder({ source: path.join(tmp, 'nope'), datasetsDir: dsDir, name: 'x' }),
      'not_found',
      /no such folder/,
    );
    await refused(
      importFolder({ source: path.join(tmp, 'png'), datasetsDir: path.join(tmp, 'ds1'), name: 'pngs' }),
      'exists',
      /already exists/,
    );
    assert.equal(IMPORT.maxFailedShare.default, 0.1);
  });
});

describe('a full disk', () => {
  // A 128 KiB tmpfs holds none of the 300 KB of shards. Mounting needs root (as in CI).
  const mnt = fs.mkdtempSync(path.join(os.tmpdir(), 'pretext-full-'));
  const mounted = spawnSync('mount', ['-t', 'tmpfs', '-o', 'size=128k', 'tmpfs', mnt]).status === 0;
  after(() => {
    if (mounted) spawnSync('umount', [mnt]);
    fs.rmSync(mnt, { recursive: true, force: true });
  });
  test('is RESOURCE_EXHAUSTED ("space") and leaves nothing behind', {
    skip: !mounted && 'cannot mount a tmpfs here (not root)',
  }, async () => {
    await refused(
      importFolder({ source: path.join(tmp, 'png'), datasetsDir: path.join(mnt, 'datasets'), name: 'full' }),
      'space',
      /no space left/,
    );
    assert.deepEqual(fs.readdirSync(path.join(mnt, 'datasets')), []);
  });
});

describe('budgets on imported (unbalanced) classes', () => {
  const entry = {
    name: 'mine',
    train: 80,
    numClasses: 3,
    side: 32,
    imported: { classNames: ['a', 'b', 'c'], trainPerClass: [40, 30, 10], test: 9, unlabeled: 0 },
  };
  const stratified = SUBSET_SCHEMES.get(SubsetScheme.SUBSET_SCHEME_STRATIFIED_FOLD)!;
  test('a multiple of the class count; folds as many as the smallest class supplies', () => {
    assert.equal(stratified.folds(entry, 15), 2);
    assert.equal(stratified.folds(entry, 30), 1);
    assert.match(String(stratified.folds(entry, 16)), /multiple of 3/);
    assert.match(
      String(stratified.folds(entry, 3 * 11)),
      /class "c" of mine has 10 training images; a budget of 33 needs 11/,
    );
    assert.match(
      String(SUBSET_SCHEMES.get(SubsetScheme.SUBSET_SCHEME_CUMULATIVE)!.folds(entry, 30)),
      /stratified_fold/,
    );
    assert.equal(datasetEntry('cifar10')?.imported, undefined);
  });
  test('the backbone must take the imported side', () => {
    const small = parseArchitecture('small_conv_8', 0)!;
    const resnet = parseArchitecture('resnet', 20)!;
    assert.match(String(backboneSideProblem(small, 24)), /at least 31 px/);
    assert.equal(backboneSideProblem(small, 32), undefined);
    assert.match(String(backboneSideProblem(resnet, 48)), /multiple of 32/);
    assert.equal(backboneSideProblem(resnet, 64), undefined);
    const r18 = parseArchitecture('resnet18', 0)!;
    assert.equal(r18.architecture, 'resnet18');
    assert.match(String(backboneSideProblem(r18, 32)), /64–224 px/);
    assert.equal(backboneSideProblem(r18, 96), undefined);
    assert.match(String(backboneSideProblem(r18, 256)), /64–224 px/);
  });
  test('the worker draws n/classes of every class, folds disjoint', () => {
    const labels = Uint8Array.from([
      ...new Array(30).fill(0),
      ...new Array(20).fill(1),
      ...new Array(10).fill(2),
    ]);
    const folds = [0, 1].map((fold) =>
      labelBudget({ labels, nLabels: 15, fold, scheme: 'stratified_fold', seed: 7, perClass: true }),
    );
    for (const f of folds) {
      assert.equal(f.length, 15);
      assert.deepEqual(
        [0, 1, 2].map((c) => [...f].filter((i) => labels[i] === c).length),
        [5, 5, 5],
      );
    }
    assert.equal(folds[0]!.filter((i) => folds[1]!.includes(i)).length, 0);
    assert.throws(
      () => labelBudget({ labels, nLabels: 15, fold: 2, scheme: 'stratified_fold', seed: 7, perClass: true }),
      /class 2 has 10/,
    );
  });
});
