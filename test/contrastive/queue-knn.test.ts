// NNCLR's support queue (capacity, FIFO order, snapshot/restore, nearest neighbour) and the kNN
// monitor's classifier on hand-made features whose answers are known.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import * as tf from '@tensorflow/tfjs';
import { knnCounts, knnPredict } from '../../server/worker/methods/contrastive/knn.js';
import { SupportQueue } from '../../server/worker/methods/contrastive/queue.js';

/** Row i is the unit vector of angle `angles[i]` in the plane. */
function rowsAt(angles: number[]): tf.Tensor2D {
  return tf.tensor2d(angles.map((a) => [Math.cos(a), Math.sin(a)]));
}

function anglesOf(flat: Float32Array): number[] {
  const out: number[] = [];
  for (let i = 0; i < flat.length; i += 2) out.push(Number(Math.atan2(flat[i + 1]!, flat[i]!).toFixed(4)));
  return out;
}

test('support queue: fills up to its capacity, then drops the oldest rows first', async () => {
  const q = new SupportQueue(5, 2);
  assert.equal(q.size, 0);
  assert.throws(() => q.nearest(rowsAt([0])), /empty/);
  for (const batch of [
    [0.1, 0.2],
    [0.3, 0.4],
    [0.5, 0.6],
  ]) {
    const t = rowsAt(batch);
    q.push(t);
    t.dispose();
  }
  assert.equal(q.size, 5);
  assert.deepEqual(anglesOf(await q.snapshot()), [0.2, 0.3, 0.4, 0.5, 0.6]);
  // A batch larger than the queue keeps only its newest rows.
  const big = rowsAt([1, 1.1, 1.2, 1.3, 1.4, 1.5, 1.6]);
  q.push(big);
  big.dispose();
  assert.deepEqual(anglesOf(await q.snapshot()), [1.2, 1.3, 1.4, 1.5, 1.6]);
  // Rows are stored L2-normalised.
  const long = tf.tensor2d([[3, 4]]);
  q.push(long);
  long.dispose();
  const s = await q.snapshot();
  assert.ok(Math.abs(s[8]! - 0.6) < 1e-6 && Math.abs(s[9]! - 0.8) < 1e-6);
  q.dispose();
});

test('support queue: nearest neighbour by cosine; snapshot/restore round trip', async () => {
  const q = new SupportQueue(4, 2);
  const rows = rowsAt([0, Math.PI / 2, Math.PI, -Math.PI / 2]);
  q.push(rows);
  rows.dispose();
  const probe = tf.tensor2d([
    [10, 1],
    [-1, 0.2],
    [0.1, -3],
  ]);
  const nn = q.nearest(probe);
  assert.deepEqual(anglesOf(nn.dataSync() as Float32Array), [
    0,
    Number(Math.PI.toFixed(4)),
    -Number((Math.PI / 2).toFixed(4)),
  ]);
  const snap = await q.snapshot();
  const r = new SupportQueue(4, 2);
  r.restore(snap);
  assert.equal(r.size, 4);
  assert.deepEqual(Array.from(await r.snapshot()), Array.from(snap));
  assert.throws(() => r.restore(new Float32Array(10)), /capacity/);
  assert.throws(() => r.restore(new Float32Array(3)), /multiple/);
  tf.dispose([probe, nn]);
  q.dispose();
  r.dispose();
});

test('kNN: cosine neighbours vote exp(sim/T); k and ties behave', async () => {
  // Bank: class 0 near angle 0, class 1 near angle pi/2, class 2 a single point at pi.
  const bankAngles = [0, 0.1, -0.1, Math.PI / 2, Math.PI / 2 + 0.1, Math.PI];
  const bankLabels = [0, 0, 0, 1, 1, 2];
  const flat = (as: number[]) => Float32Array.from(as.flatMap((a) => [Math.cos(a), Math.sin(a)]));
  const queries = [0.05, 1.5, 3.0, 2.4];
  const base = { bank: flat(bankAngles), bankLabels, queries: flat(queries), dim: 2, numClasses: 3 };
  // k = 1: 2.4 rad is 0.729 from pi/2 + 0.1 and 0.742 from pi, so class 1.
  assert.deepEqual(Array.from(await knnPredict({ ...base, queryLabels: [0, 1, 2, 2], k: 1 })), [0, 1, 2, 1]);
  // k = 6 (whole bank), T large: plain majority → class 0 (3 votes) wins everywhere.
  assert.deepEqual(
    Array.from(await knnPredict({ ...base, queryLabels: [0, 1, 2, 2], k: 6, temperature: 1e6 })),
    [0, 0, 0, 0],
  );
  // k = 6, T = 0.07: the closest neighbours dominate the weighted vote.
  const counts = await knnCounts({ ...base, queryLabels: [0, 1, 2, 1], k: 6 });
  assert.equal(counts.n, 4);
  // 2.4 rad: class 1's two neighbours outweigh class 2's one.
  assert.deepEqual(Array.from(counts.confusion), [1, 0, 0, 0, 2, 0, 0, 0, 1]);
});
