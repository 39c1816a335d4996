// The contrastive losses against plain-JS (float64) computations written from the papers'
// formulas, their stop-gradients, and that each loss falls under a few Adam steps on random data.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import * as tf from '@tensorflow/tfjs';
import {
  embeddingStd,
  infoNceLoss,
  negativeCosine,
  nnclrLoss,
  ntXentLoss,
  simsiamLoss,
} from '../../server/worker/methods/contrastive/losses.js';
import { Rng } from '../../server/worker/data/rng.js';
import { SupportQueue } from '../../server/worker/methods/contrastive/queue.js';

type Mat = number[][];

function randn(rows: number, cols: number, rng: Rng): Mat {
  return Array.from({ length: rows }, () => Array.from({ length: cols }, () => rng.normal()));
}
const norm = (v: number[]) => {
  const n = Math.sqrt(v.reduce((s, x) => s + x * x, 0));
  return v.map((x) => x / n);
};
const dot = (a: number[], b: number[]) => a.reduce((s, x, i) => s + x * b[i]!, 0);
const cos = (a: number[], b: number[]) => dot(norm(a), norm(b));

/** SimCLR's NT-Xent, eq. (1) of Chen et al. 2020, averaged over all 2N anchors. */
function ntXentRef(a: Mat, b: Mat, t: number): number {
  const z = [...a, ...b];
  const n = a.length;
  let total = 0;
  for (let i = 0; i < 2 * n; i++) {
    const pos = i < n ? i + n : i - n;
    let denom = 0;
    for (let k = 0; k < 2 * n; k++) if (k !== i) denom += Math.exp(cos(z[i]!, z[k]!) / t);
    total += -Math.log(Math.exp(cos(z[i]!, z[pos]!) / t) / denom);
  }
  return total / (2 * n);
}

function infoNceRef(anchors: Mat, positives: Mat, t: number): number {
  let total = 0;
  for (let i = 0; i < anchors.length; i++) {
    let denom = 0;
    for (const p of positives) denom += Math.exp(cos(anchors[i]!, p) / t);
    total += -Math.log(Math.exp(cos(anchors[i]!, positives[i]!) / t) / denom);
  }
  return total / anchors.length;
}

const scalar = (s: tf.Scalar) => {
  const v = s.dataSync()[0]!;
  s.dispose();
  return v;
};

test('NT-Xent equals the formula on known inputs, and is log(2N-1) for identical embeddings', () => {
  const rng = new Rng(1);
  const a = randn(6, 5, rng);
  const b = randn(6, 5, rng);
  for (const t of [0.1, 0.5, 1]) {
    const got = scalar(tf.tidy(() => ntXentLoss(tf.tensor2d(a), tf.tensor2d(b), t)));
    assert.ok(Math.abs(got - ntXentRef(a, b, t)) < 1e-4 * Math.max(1, ntXentRef(a, b, t)), `t=${t}: ${got}`);
  }
  // Every embedding equal: all 2N-1 candidates tie, loss = log(2N - 1).
  const same = Array.from({ length: 4 }, () => [1, 2, 3]);
  const got = scalar(tf.tidy(() => ntXentLoss(tf.tensor2d(same), tf.tensor2d(same), 0.1)));
  assert.ok(Math.abs(got - Math.log(7)) < 1e-5, `${got}`);
  assert.throws(() => ntXentLoss(tf.tensor2d(a), tf.tensor2d(b), 0), /temperature/);
});

test('InfoNCE / NNCLR loss equal the formula; the neighbours get no gradient', () => {
  const rng = new Rng(2);
  const [nnA, zB, nnB, zA] = [randn(5, 4, rng), randn(5, 4, rng), randn(5, 4, rng), randn(5, 4, rng)];
  const got = scalar(tf.tidy(() => infoNceLoss(tf.tensor2d(nnA), tf.tensor2d(zB), 0.2)));
  assert.ok(Math.abs(got - infoNceRef(nnA, zB, 0.2)) < 1e-4, `${got}`);
  const both = scalar(
    tf.tidy(() => nnclrLoss(tf.tensor2d(nnA), tf.tensor2d(zB), tf.tensor2d(nnB), tf.tensor2d(zA), 0.2)),
  );
  const ref = (infoNceRef(nnA, zB, 0.2) + infoNceRef(nnB, zA, 0.2)) / 2;
  assert.ok(Math.abs(both - ref) < 1e-4, `${both} vs ${ref}`);
  const [gNn, gZ] = tf.tidy(() =>
    tf.grads((nn: tf.Tensor, z: tf.Tensor) =>
      nnclrLoss(nn as tf.Tensor2D, z as tf.Tensor2D, tf.tensor2d(nnB), tf.tensor2d(zA), 0.2),
    )([tf.tensor2d(nnA), tf.tensor2d(zB)]),
  );
  assert.equal(tf.max(tf.abs(gNn!)).dataSync()[0], 0);
  assert.ok(tf.max(tf.abs(gZ!)).dataSync()[0]! > 0);
  tf.dispose([gNn!, gZ!]);
});

test('SimSiam loss equals -(cos(p1,z2) + cos(p2,z1))/2; z is cut from the gradient', () => {
  const rng = new Rng(3);
  const [p1, p2, z1, z2] = [randn(7, 6, rng), randn(7, 6, rng), randn(7, 6, rng), randn(7, 6, rng)];
  let ref = 0;
  for (let i = 0; i < 7; i++) ref += -(cos(p1[i]!, z2[i]!) + cos(p2[i]!, z1[i]!)) / 2;
  ref /= 7;
  const got = scalar(
    tf.tidy(() => simsiamLoss(tf.tensor2d(p1), tf.tensor2d(p2), tf.tensor2d(z1), tf.tensor2d(z2))),
  );
  assert.ok(Math.abs(got - ref) < 1e-5, `${got} vs ${ref}`);
  // D(p, p) = -1, its minimum.
  assert.ok(Math.abs(scalar(tf.tidy(() => negativeCosine(tf.tensor2d(p1), tf.tensor2d(p1)))) + 1) < 1e-5);
  const [gp, gz] = tf.tidy(() =>
    tf.grads((p: tf.Tensor, z: tf.Tensor) => negativeCosine(p as tf.Tensor2D, z as tf.Tensor2D))([
      tf.tensor2d(p1),
      tf.tensor2d(z1),
    ]),
  );
  assert.ok(tf.max(tf.abs(gp!)).dataSync()[0]! > 0);
  assert.equal(tf.max(tf.abs(gz!)).dataSync()[0], 0);
  tf.dispose([gp!, gz!]);
});

test('embedding std: 0 when collapsed, about 1/sqrt(d) when spread', () => {
  const rng = new Rng(4);
  const collapsed = scalar(
    tf.tidy(() => embeddingStd(tf.tensor2d(Array.from({ length: 50 }, () => [1, -2, 3, 4])))),
  );
  assert.ok(collapsed < 1e-4, `${collapsed}`);
  const d = 64;
  const spread = scalar(tf.tidy(() => embeddingStd(tf.tensor2d(randn(2000, d, rng)))));
  assert.ok(Math.abs(spread - 1 / Math.sqrt(d)) < 0.01, `${spread} vs ${1 / Math.sqrt(d)}`);
});

/** Adam on a linear encoder of fixed random "two views" of random data: the loss must fall. */
function fallsUnderAdam(
  loss: (a: tf.Tensor2D, b: tf.Tensor2D, p: tf.Variable) => tf.Scalar,
): [number, number] {
  const rng = new Rng(5);
  const x = randn(32, 16, rng);
  const noisy = (m: Mat) => m.map((r) => r.map((v) => v + 0.5 * rng.normal()));
  const xa = tf.tensor2d(noisy(x));
  const xb = tf.tensor2d(noisy(x));
  const w = tf.tidy(() => tf.variable(tf.tensor2d(randn(16, 8, rng)).mul(0.3)));
  const p = tf.tidy(() => tf.variable(tf.tensor2d(randn(8, 8, rng)).mul(0.3)));
  const opt = tf.train.adam(0.05);
  const values: number[] = [];
  for (let s = 0; s < 30; s++) {
    const v = opt.minimize(() => loss(tf.matMul(xa, w), tf.matMul(xb, w), p), true, [w, p])!;
    values.push(v.dataSync()[0]!);
    v.dispose();
  }
  tf.dispose([xa, xb, w, p]);
  opt.dispose();
  console.log(`loss ${values[0]!.toFixed(4)} -> ${values[values.length - 1]!.toFixed(4)}`);
  return [values[0]!, values[values.length - 1]!];
}

test('each loss falls over a few gradient steps on random data', () => {
  const before = tf.memory().numTensors;
  const [s0, s1] = fallsUnderAdam((a, b) => ntXentLoss(a, b, 0.1));
  assert.ok(s1 < s0 * 0.5, `NT-Xent ${s0} -> ${s1}`);
  const [m0, m1] = fallsUnderAdam((a, b, p) => simsiamLoss(tf.matMul(a, p), tf.matMul(b, p), a, b));
  assert.ok(m1 < m0 - 0.2, `SimSiam ${m0} -> ${m1}`);
  // NNCLR against a fixed support set of random unit vectors.
  const support = new SupportQueue(64, 8);
  support.restore(Float32Array.from(randn(64, 8, new Rng(6)).flat()));
  const [n0, n1] = fallsUnderAdam((a, b) => nnclrLoss(support.nearest(a), b, support.nearest(b), a, 0.1));
  assert.ok(n1 < n0 * 0.7, `NNCLR ${n0} -> ${n1}`);
  support.dispose();
  assert.equal(tf.memory().numTensors, before, 'no tensors leak');
});
