// pretext's SIMD module on the wasm backend (native/wasm/kernels.c) against tfjs' cpu kernels:
// the convolution forward (with bias and ReLU) and gradients (the filter's alone and with the
// bias's, the input's) over strides, paddings, partial images and uneven batch splits; batch
// norm far from zero; the same bits on one thread as on two; and the committed module built
// from the committed source.
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import { after, before, describe, test } from 'node:test';
import * as tf from '@tensorflow/tfjs';
import { CONV_FILTER_BIAS_GRAD } from '../../server/worker/backend/conv-relu-train.js';
import { batchNormReluTrain, batchNormTrain } from '../../server/worker/backend/fused-batchnorm.js';
import { initBackend } from '../../server/worker/backend/index.js';
import {
  closeSimdPool,
  currentSimdPool,
  JobKind,
  setSimdThreads,
} from '../../server/worker/backend/wasm-kernels/simd-pool.js';
import { assertClose, seeded } from './compare.js';

interface FilterCase {
  n: number;
  h: number;
  w: number;
  c: number;
  o: number;
  k: number;
  stride: number;
  pad: 'same' | 'valid';
}

const FILTER_CASES: FilterCase[] = [
  { n: 3, h: 7, w: 9, c: 4, o: 8, k: 3, stride: 1, pad: 'same' },
  { n: 2, h: 8, w: 8, c: 8, o: 16, k: 3, stride: 2, pad: 'same' }, // tfjs pads 0 before, 1 after
  { n: 2, h: 9, w: 7, c: 8, o: 8, k: 3, stride: 2, pad: 'same' },
  { n: 3, h: 6, w: 5, c: 12, o: 24, k: 3, stride: 1, pad: 'valid' },
  { n: 3, h: 6, w: 7, c: 16, o: 24, k: 3, stride: 1, pad: 'valid' },
  { n: 2, h: 8, w: 8, c: 16, o: 8, k: 1, stride: 2, pad: 'valid' }, // a ResNet shortcut
  { n: 11, h: 4, w: 4, c: 4, o: 8, k: 3, stride: 1, pad: 'same' }, // 8 parts of 1–2 images
  { n: 2, h: 10, w: 10, c: 4, o: 8, k: 5, stride: 1, pad: 'same' },
];

function filterGrads(c: FilterCase, x0: Float32Array, dy0: Float32Array, outShape: number[]): Float32Array[] {
  return tf.tidy(() => {
    const x = tf.tensor4d(x0, [c.n, c.h, c.w, c.c]);
    const dy = tf.tensor4d(dy0, outShape as [number, number, number, number]);
    const attrs = {
      strides: [c.stride, c.stride],
      pad: c.pad,
      dataFormat: 'NHWC',
      filterShape: [c.k, c.k, c.c, c.o],
    };
    const engine = tf.engine();
    const dw = engine.runKernel(
      'Conv2DBackpropFilter',
      { x, dy },
      attrs as unknown as tf.NamedAttrMap,
    ) as tf.Tensor;
    if (tf.getBackend() === 'cpu')
      return [dw, tf.sum(dy, [0, 1, 2])].map((t) => t.dataSync() as Float32Array);
    const both = engine.runKernel(
      CONV_FILTER_BIAS_GRAD,
      { x, dy },
      attrs as unknown as tf.NamedAttrMap,
    ) as tf.Tensor[];
    return [dw, ...both].map((t) => t.dataSync() as Float32Array);
  });
}

function outSize(size: number, c: FilterCase): number {
  return c.pad === 'same' ? Math.ceil(size / c.stride) : Math.ceil((size - c.k + 1) / c.stride);
}

function jobs(kind: JobKind): number {
  return currentSimdPool()?.jobs.get(kind) ?? 0;
}

/** `run` on cpu, then on wasm: both results, and how many jobs of `kind` the SIMD module ran. */
async function cpuThenWasm<T>(kind: JobKind, run: () => T): Promise<{ expected: T; actual: T; ran: number }> {
  await tf.setBackend('cpu');
  const expected = run();
  await tf.setBackend('wasm');
  const before = jobs(kind);
  const actual = run();
  return { expected, actual, ran: jobs(kind) - before };
}

describe("pretext's wasm SIMD kernels", () => {
  before(async () => {
    await initBackend('wasm');
  });
  after(() => closeSimdPool());

  for (const c of FILTER_CASES) {
    test(`filter gradient ${c.k}x${c.k} stride ${c.stride} ${c.pad}, ${c.n}x${c.h}x${c.w}, ${c.c}->${c.o}`, async () => {
      const outShape = [c.n, outSize(c.h, c), outSize(c.w, c), c.o];
      const x0 = seeded([c.n, c.h, c.w, c.c], 11);
      const dy0 = seeded(outShape, 12);
      const { expected, actual, ran } = await cpuThenWasm(JobKind.ConvFilterGrad, () =>
        filterGrads(c, x0, dy0, outShape),
      );
      const [dw, db] = expected;
      const [dwAlone, dwBoth, dbBoth] = actual;
      assert.equal(ran, 2, 'both kernels ran the SIMD module');
      assertClose(dwAlone!, dw!, 'dW (Conv2DBackpropFilter)', 1e-5);
      assertClose(dwBoth!, dw!, 'dW (with the bias)', 1e-5);
      assertClose(dbBoth!, db!, 'dBias', 1e-5);
    });
  }

  for (const c of FILTER_CASES.filter((f) => f.c % 8 === 0)) {
    test(`input gradient ${c.k}x${c.k} stride ${c.stride} ${c.pad}, ${c.n}x${c.h}x${c.w}, ${c.c}->${c.o}`, async () => {
      const outShape = [c.n, outSize(c.h, c), outSize(c.w, c), c.o] as [number, number, number, number];
      const w0 = seeded([c.k, c.k, c.c, c.o], 21);
      const dy0 = seeded(outShape, 22);
      const dx = () =>
        tf.tidy(
          () =>
            (
              tf
                .engine()
                .runKernel(
                  'Conv2DBackpropInput',
                  { dy: tf.tensor4d(dy0, outShape), filter: tf.tensor4d(w0, [c.k, c.k, c.c, c.o]) },
                  {
                    strides: [c.stride, c.stride],
                    pad: c.pad,
                    dataFormat: 'NHWC',
                    inputShape: [c.n, c.h, c.w, c.c],
                  } as unknown as tf.NamedAttrMap,
                ) as tf.Tensor
            ).dataSync() as Float32Array,
        );
      const { expected, actual, ran } = await cpuThenWasm(JobKind.ConvInputGrad, dx);
      assert.equal(ran, 1, 'the SIMD module ran');
      assertClose(actual, expected, 'dX', 1e-5);
    });
  }

  for (const [i, c] of [
    ...FILTER_CASES,
    { n: 2, h: 7, w: 6, c: 3, o: 16, k: 3, stride: 1, pad: 'same' as const },
  ].entries()) {
    const relu = i % 2 === 0;
    test(`forward ${c.k}x${c.k} stride ${c.stride} ${c.pad}, ${c.n}x${c.h}x${c.w}, ${c.c}->${c.o}${relu ? ' + bias + ReLU' : ''}`, async () => {
      const x0 = seeded([c.n, c.h, c.w, c.c], 31);
      const w0 = seeded([c.k, c.k, c.c, c.o], 32);
      const b0 = seeded([c.o], 33);
      // The bias's first two channels: NaN must pass the ReLU, and −0 + (−0) must come out +0.
      if (relu) b0.set([Number.NaN, -1e9]);
      const y = () =>
        tf.tidy(
          () =>
            tf.fused
              .conv2d({
                x: tf.tensor4d(x0, [c.n, c.h, c.w, c.c]),
                filter: tf.tensor4d(w0, [c.k, c.k, c.c, c.o]),
                strides: c.stride,
                pad: c.pad,
                bias: relu ? tf.tensor1d(b0) : undefined,
                activation: relu ? 'relu' : 'linear',
              })
              .dataSync() as Float32Array,
        );
      const { expected, actual, ran } = await cpuThenWasm(JobKind.ConvForward, y);
      assert.equal(ran, 1, 'the SIMD module ran');
      if (relu) {
        assert.ok(Number.isNaN(actual[0]!), 'NaN passes the ReLU');
        assert.ok(Object.is(actual[1], 0), `a clipped output is +0, got ${actual[1]}`);
      }
      const finite = (v: Float32Array) => v.map((e) => (Number.isNaN(e) ? 0 : e));
      assertClose(finite(actual), finite(expected), 'y', 1e-5);
    });
  }

  test('channels the module does not take (3 in, 5 out) fall back to XNNPACK', async () => {
    const c: FilterCase = { n: 2, h: 6, w: 6, c: 3, o: 5, k: 3, stride: 1, pad: 'same' };
    const outShape = [2, 6, 6, 5];
    const x0 = seeded([2, 6, 6, 3], 13);
    const dy0 = seeded(outShape, 14);
    const { expected, actual, ran } = await cpuThenWasm(JobKind.ConvFilterGrad, () =>
      filterGrads(c, x0, dy0, outShape),
    );
    const [dw, db] = expected;
    const [dwAlone, dwBoth, dbBoth] = actual;
    assert.equal(ran, 0);
    assertClose(dwAlone!, dw!, 'dW', 1e-5);
    assertClose(dwBoth!, dw!, 'dW (with the bias)', 1e-5);
    assertClose(dbBoth!, db!, 'dBias', 1e-5);
  });

  test('batch norm keeps its digits when the mean is 10^4 standard deviations from zero', async () => {
    const shape = [4, 16, 16, 8];
    const noise = seeded(shape, 15);
    const x0 = noise.map((v) => 1000 + 0.1 * v);
    const run = () =>
      tf.tidy(() => batchNormTrain(tf.tensor(x0, shape), tf.ones([8]), tf.zeros([8]), 1e-5)[2]!.dataSync());
    const { expected, actual, ran } = await cpuThenWasm(JobKind.BnForwardSums, () => run() as Float32Array);
    assert.equal(ran, 1);
    // Variance 0.1²/3 ≈ 3.3e-3 beside a mean of 1000: E[x²]−μ² in float32 would lose all of it.
    assertClose(actual, expected, 'variance', 1e-4);
  });

  test('fused ReLU lets NaN through and never writes −0', async () => {
    const shape = [1, 1, 4, 4];
    // Channel 0 normalises to {−1, −1, 1, 1}·…; β = 0 and a residual of −0 and NaN.
    const x0 = new Float32Array([1, 0, 0, 0, 1, 0, 0, 0, 3, 0, 0, 0, 3, 0, 0, 0]);
    const res = new Float32Array([-0, 0, 0, 0, 0, Number.NaN, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]);
    const y = tf.tidy(
      () =>
        batchNormReluTrain(
          tf.tensor(x0, shape),
          tf.ones([4]),
          tf.zeros([4]),
          1e-3,
          tf.tensor(res, shape),
        )[0]!.dataSync() as Float32Array,
    );
    assert.ok(Object.is(y[0], 0), `−1 + −0 clipped to +0, got ${y[0]}`);
    assert.ok(Number.isNaN(y[5]), `NaN passes, got ${y[5]}`);
    assert.ok(y[8]! > 0 && Object.is(y[1], 0));
  });

  test('the same bits on one thread and on two', async () => {
    const shape = [16, 8, 8, 16];
    const x0 = seeded(shape, 16);
    const r0 = seeded(shape, 17);
    const w0 = seeded([3, 3, 16, 16], 18);
    const step = () =>
      tf.tidy(() => {
        const x = tf.tensor4d(x0, shape as [number, number, number, number]);
        const w = tf.tensor4d(w0, [3, 3, 16, 16]);
        const f = (a: tf.Tensor4D, b: tf.Tensor4D, s: tf.Tensor1D) => {
          const [y] = batchNormReluTrain(tf.conv2d(a, b, 1, 'same'), s, tf.zeros([16]), 1e-3, a);
          return tf.sum(tf.mul(y!, tf.tensor(r0, shape)));
        };
        const grads = tf.grads(f as (...t: tf.Tensor[]) => tf.Tensor)([x, w, tf.ones([16])]);
        return grads.map((g) => g.dataSync() as Float32Array);
      });
    const runs: Float32Array[][] = [];
    for (const threads of [1, 2]) {
      closeSimdPool();
      setSimdThreads(threads);
      runs.push(step());
      assert.equal(currentSimdPool()?.threads, threads);
    }
    for (let i = 0; i < runs[0]!.length; i++)
      assert.deepEqual(Buffer.from(runs[1]![i]!.buffer), Buffer.from(runs[0]![i]!.buffer), `gradient ${i}`);
  });

  test('a task that traps fails its call on every thread count instead of hanging, and the pool goes on', async () => {
    const x0 = seeded([2, 6, 6, 8], 41);
    const conv = () =>
      tf.tidy(
        () =>
          tf.fused
            .conv2d({
              x: tf.tensor4d(x0, [2, 6, 6, 8]),
              filter: tf.ones([3, 3, 8, 8]),
              strides: 1,
              pad: 'same',
            })
            .dataSync() as Float32Array,
      );
    await tf.setBackend('cpu');
    const expected = conv();
    await tf.setBackend('wasm');
    for (const threads of [1, 2]) {
      closeSimdPool();
      setSimdThreads(threads);
      conv(); // starts the pool
      const pool = currentSimdPool()!;
      assert.equal(pool.threads, threads);
      // Every pointer past the end of the heap: each task traps (memory access out of bounds).
      const outside = -256;
      const geometry = [8, 6, 6, 8, 6, 6, 8, 3, 3, 1, 1, 1, 1, 0];
      assert.throws(
        () => pool.run(JobKind.ConvForward, 8, [outside, outside, 0, outside, ...geometry]),
        /pretext wasm kernel \(job 7\) failed/,
      );
      assertClose(conv(), expected, `the next call on ${threads} threads`, 1e-5);
    }
  });

  test('no tensors or heap buffers leak', () => {
    const x = tf.randomNormal([4, 8, 8, 8]);
    const dy = tf.randomNormal([4, 8, 8, 16]);
    const attrs = { strides: [1, 1], pad: 'same', dataFormat: 'NHWC', filterShape: [3, 3, 8, 16] };
    const go = () =>
      tf.tidy(() => {
        tf.engine().runKernel(CONV_FILTER_BIAS_GRAD, { x, dy }, attrs as unknown as tf.NamedAttrMap);
        batchNormReluTrain(x, tf.ones([8]), tf.zeros([8]), 1e-3, x);
      });
    go();
    const tensors = tf.memory().numTensors;
    const buffers = tf.engine().backend.numDataIds();
    go();
    assert.equal(tf.memory().numTensors, tensors);
    assert.equal(tf.engine().backend.numDataIds(), buffers);
    tf.dispose([x, dy]);
  });
});

test('the committed wasm modules were built from the committed source', () => {
  const file = (p: string) => fs.readFileSync(new URL(`../../${p}`, import.meta.url));
  const sha256 = (bytes: Buffer) => createHash('sha256').update(bytes).digest('hex');
  const stamp = JSON.parse(file('gen/wasm/stamp.json').toString()) as {
    source: string;
    outputs: Record<string, string>;
  };
  assert.equal(
    stamp.source,
    sha256(file('native/wasm/kernels.c')),
    'kernels.c changed: run npm run build:wasm',
  );
  assert.deepEqual(Object.keys(stamp.outputs).sort(), [
    'pretext-kernels-shared.wasm',
    'pretext-kernels.wasm',
  ]);
  for (const [name, hash] of Object.entries(stamp.outputs))
    assert.equal(sha256(file(`gen/wasm/${name}`)), hash, `gen/wasm/${name} is not the one built`);
});
