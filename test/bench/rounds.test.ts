// The interleaved bench's summaries: per-round ratios, median with min–max.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { formatSpread, pairedRatios, ratioFields, spread } from '../../bench/rounds.js';

test('spread: median of odd and even counts, min and max, unmeasured values skipped', () => {
  assert.deepEqual(spread([3, 1, 2]), { median: 2, min: 1, max: 3, n: 3 });
  assert.deepEqual(spread([4, null, 1, 3, undefined, 2]), { median: 2.5, min: 1, max: 4, n: 4 });
  assert.equal(spread([null, Number.NaN]), null);
});

test('ratios are taken within a round, never across rounds', () => {
  // Round 2's peer failed: its pretext figure has no partner and is left out.
  assert.deepEqual(pairedRatios([100, 200, 300], [50, null, 600]), [2, 0.5]);
  const s = spread(pairedRatios([100, 200, 300], [50, null, 600]));
  assert.equal(s?.median, 1.25);
  assert.equal(formatSpread(s, 2), '1.25 (0.50–2.00, 2 rounds)');
  assert.deepEqual(ratioFields('train_ratio', s), {
    train_ratio: 1.25,
    train_ratio_min: 0.5,
    train_ratio_max: 2,
  });
  assert.deepEqual(ratioFields('infer_ratio', null), {
    infer_ratio: null,
    infer_ratio_min: null,
    infer_ratio_max: null,
  });
});
