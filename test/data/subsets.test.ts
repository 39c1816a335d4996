// Label budgets, validation carving and unlabeled subsets on the real CIFAR-10 and STL-10 labels.
import assert from 'node:assert/strict';
import path from 'node:path';
import { describe, test } from 'node:test';
import { readCifar10 } from '../../server/shared/data/cifar10.js';
import { readStl10Labels } from '../../server/shared/data/stl10.js';
import {
  carveValidation,
  complement,
  labelBudget,
  stratifiedKFold,
} from '../../server/worker/data/subsets.js';
import { CIFAR_DIR, STL_SAMPLE_DIR } from '../helpers/paths.js';

const labels = readCifar10(CIFAR_DIR, 'train').labels;

function perClass(idx: Int32Array, y: Uint8Array = labels): number[] {
  const c = new Array(10).fill(0);
  for (const i of idx) c[y[i]!]++;
  return c;
}

function assertSortedUnique(idx: Int32Array): void {
  for (let i = 1; i < idx.length; i++) assert.ok(idx[i]! > idx[i - 1]!, `not sorted/unique at ${i}`);
}

function overlap(a: Int32Array, b: Int32Array): number {
  const s = new Set(a);
  return b.filter((v) => s.has(v)).length;
}

describe('stratifiedKFold', () => {
  test('folds are disjoint, cover every index and are class-balanced', () => {
    const folds = stratifiedKFold(labels, 200, 1);
    assert.equal(folds.length, 200);
    const seen = new Uint8Array(labels.length);
    for (const f of folds) {
      assert.equal(f.length, 250);
      assert.deepEqual(perClass(f), new Array(10).fill(25));
      assertSortedUnique(f);
      for (const i of f) seen[i]!++;
    }
    assert.ok(seen.every((v) => v === 1));
  });

  test('uneven splits differ by at most one per class (scikit-learn allocation)', () => {
    const folds = stratifiedKFold(labels, 80, 9);
    const sizes = folds.map((f) => f.length);
    assert.equal(
      sizes.reduce((a, b) => a + b),
      50_000,
    );
    for (const f of folds) for (const c of perClass(f)) assert.ok(c === 62 || c === 63);
  });

  test('deterministic for a seed, different across seeds', () => {
    assert.deepEqual(stratifiedKFold(labels, 500, 5)[3], stratifiedKFold(labels, 500, 5)[3]);
    assert.notDeepEqual(stratifiedKFold(labels, 500, 5)[3], stratifiedKFold(labels, 500, 6)[3]);
  });

  test('rejects n_splits above a class size', () => {
    assert.throws(() => stratifiedKFold(labels.subarray(0, 100), 50, 1), /fewer than n_splits/);
  });
});

describe('labelBudget', () => {
  test('stratified_fold: exactly n/10 per class for the reference budgets', () => {
    for (const n of [100, 250, 1250, 2500, 5000]) {
      const b = labelBudget({ labels, nLabels: n, fold: 0, scheme: 'stratified_fold', seed: 11 });
      assert.equal(b.length, n);
      assert.deepEqual(perClass(b), new Array(10).fill(n / 10));
      assertSortedUnique(b);
    }
    const b625 = labelBudget({ labels, nLabels: 625, fold: 0, scheme: 'stratified_fold', seed: 11 });
    assert.equal(b625.length, 625);
    for (const c of perClass(b625)) assert.ok(c === 62 || c === 63);
  });

  test('stratified_fold: folds disjoint, deterministic, seed-dependent', () => {
    const o = { labels, nLabels: 100, scheme: 'stratified_fold' as const, seed: 3 };
    const f0 = labelBudget({ ...o, fold: 0 });
    const f1 = labelBudget({ ...o, fold: 1 });
    assert.equal(overlap(f0, f1), 0);
    assert.deepEqual(labelBudget({ ...o, fold: 0 }), f0);
    assert.notDeepEqual(labelBudget({ ...o, fold: 0, seed: 4 }), f0);
    assert.throws(() => labelBudget({ ...o, fold: 500 }), /fold 500 outside/);
  });

  test('cumulative: whole folds of 1,000, balanced, nested', () => {
    const o = { labels, scheme: 'cumulative' as const, seed: 8, fold: 0 };
    const b1 = labelBudget({ ...o, nLabels: 1000 });
    const b3 = labelBudget({ ...o, nLabels: 3000 });
    assert.deepEqual(perClass(b1), new Array(10).fill(100));
    assert.deepEqual(perClass(b3), new Array(10).fill(300));
    assert.equal(overlap(b1, b3), 1000);
    assertSortedUnique(b3);
    assert.throws(() => labelBudget({ ...o, nLabels: 1500 }), /multiple of 1000/);
  });

  test('stl10_fold: the official fold, or a balanced part of it', () => {
    const stl = readStl10Labels(path.join(STL_SAMPLE_DIR, 'full_labels', 'train_y.bin'));
    // fold_indices.txt is not in the sample: stand-in folds of 1,000 drawn from the real labels.
    const folds = stratifiedKFold(stl, 5, 2);
    const whole = labelBudget({
      labels: stl,
      nLabels: 0,
      fold: 2,
      scheme: 'stl10_fold',
      seed: 1,
      stl10Folds: folds,
    });
    assert.deepEqual(whole, folds[2]);
    const part = labelBudget({
      labels: stl,
      nLabels: 250,
      fold: 2,
      scheme: 'stl10_fold',
      seed: 1,
      stl10Folds: folds,
    });
    assert.equal(part.length, 250);
    assert.equal(overlap(part, folds[2]!), 250);
    for (const c of perClass(part, stl)) assert.ok(c === 25, `per class ${c}`);
    assert.throws(() => labelBudget({ labels: stl, nLabels: 0, fold: 0, scheme: 'stl10_fold', seed: 1 }));
  });

  test('exclude: the budget avoids excluded indices', () => {
    const held = Int32Array.from({ length: 5_000 }, (_, i) => i);
    const b = labelBudget({
      labels,
      nLabels: 450,
      fold: 0,
      scheme: 'stratified_fold',
      seed: 1,
      exclude: held,
    });
    assert.equal(b.length, 450);
    assert.ok(b.every((i) => i >= 5_000));
  });
});

describe('carveValidation and unlabeled subsets', () => {
  test('validation: balanced, disjoint from the budget, deterministic', () => {
    const budget = labelBudget({ labels, nLabels: 100, fold: 0, scheme: 'stratified_fold', seed: 5 });
    const val = carveValidation({ labels, fraction: 0.1, seed: 5, exclude: budget });
    assert.equal(val.length, 5_000);
    assert.deepEqual(perClass(val), new Array(10).fill(500));
    assert.equal(overlap(val, budget), 0);
    assertSortedUnique(val);
    assert.deepEqual(carveValidation({ labels, fraction: 0.1, seed: 5, exclude: budget }), val);
    assert.notDeepEqual(carveValidation({ labels, fraction: 0.1, seed: 6, exclude: budget }), val);
    assert.equal(carveValidation({ labels, size: 37, seed: 1 }).length, 37);
    assert.equal(carveValidation({ labels, fraction: 0, seed: 1 }).length, 0);
  });

  test('validation from unlabeled data is a random subset of the allowed pool', () => {
    const unl = new Uint8Array(246).fill(255);
    const pool = Int32Array.from({ length: 200 }, (_, i) => i);
    const v = carveValidation({ labels: unl, size: 20, seed: 1, exclude: complement(246, pool) });
    assert.equal(v.length, 20);
    assert.ok(v.every((i) => i < 200));
  });
});
