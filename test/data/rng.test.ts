import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Rng } from '../../server/worker/data/rng.js';

test('same seed, same stream; different seeds differ', () => {
  const a = new Rng(42);
  const b = new Rng(42);
  const c = new Rng(43);
  const xa = Array.from({ length: 100 }, () => a.nextUint32());
  assert.deepEqual(
    Array.from({ length: 100 }, () => b.nextUint32()),
    xa,
  );
  assert.notDeepEqual(
    Array.from({ length: 100 }, () => c.nextUint32()),
    xa,
  );
  // Seeds above 2^32 keep their high bits.
  assert.notEqual(new Rng(2 ** 32 + 5).nextUint32(), new Rng(5).nextUint32());
});

test('state save and restore continues the same stream', () => {
  const r = new Rng(7);
  for (let i = 0; i < 1000; i++) r.next();
  const s = r.getState();
  assert.equal(s.length, 4);
  const expected = [r.next(), r.int(10), r.normal(), r.next()];
  const back = Rng.fromState(JSON.parse(JSON.stringify(s)));
  assert.deepEqual([back.next(), back.int(10), back.normal(), back.next()], expected);
  assert.throws(() => Rng.fromState([1, 2, 3]));
});

test('next in [0,1), int in [0,n) and roughly uniform, normal has mean 0 and variance 1', () => {
  const r = new Rng(1);
  const counts = new Array(10).fill(0);
  const n = 100_000;
  let sum = 0;
  let sq = 0;
  for (let i = 0; i < n; i++) {
    const u = r.next();
    assert.ok(u >= 0 && u < 1);
    const k = r.int(10);
    assert.ok(Number.isInteger(k) && k >= 0 && k < 10);
    counts[k]++;
    const z = r.normal();
    sum += z;
    sq += z * z;
  }
  // Binomial sd of a count is ~95; 600 is > 6 sd.
  for (const c of counts) assert.ok(Math.abs(c - n / 10) < 600, `count ${c}`);
  assert.ok(Math.abs(sum / n) < 0.02, `mean ${sum / n}`);
  assert.ok(Math.abs(sq / n - 1) < 0.03, `var ${sq / n}`);
  assert.throws(() => r.int(0));
});

test('shuffle is a seeded permutation (arrays and Int32Array)', () => {
  const a = Int32Array.from({ length: 1000 }, (_, i) => i);
  new Rng(3).shuffle(a);
  assert.deepEqual(
    Array.from(a).sort((x, y) => x - y),
    Array.from({ length: 1000 }, (_, i) => i),
  );
  assert.notDeepEqual(
    Array.from(a),
    Array.from({ length: 1000 }, (_, i) => i),
  );
  const b = Array.from({ length: 1000 }, (_, i) => i);
  new Rng(3).shuffle(b);
  assert.deepEqual(b, Array.from(a));
});
