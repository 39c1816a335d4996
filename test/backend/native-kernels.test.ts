// The native backend's oneDNN kernels against tfjs' reference cpu kernels: convolution forward
// (with bias, dilation, explicit padding) and both gradients over strides, kernel sizes and
// paddings; training-mode batch norm forward and backward; fallbacks for what oneDNN does not
// take here; and bad arguments rejected with an error instead of a crash.
import assert from 'node:assert/strict';
import { before, describe, test } from 'node:test';
import * as tf from '@tensorflow/tfjs';
import { initBackend } from '../../server/worker/backend/index.js';
import { assertClose, seeded } from './compare.js';
import { batchNormReluTrain, batchNormTrain } from '../../server/worker/backend/fused-batchnorm.js';
import { type ConvGeometry, loadNative } from '../../server/shared/backends/native-addon.js';
import { batchNormsOnConvMoments, nativeKernelsActive } from '../../server/worker/backend/native/kernels.js';
import { CONV_FILTER_BIAS_GRAD } from '../../server/worker/backend/conv-relu-train.js';
import { SKIP_NATIVE } from './native-available.js';

type Pad = 'same' | 'valid' | tf.backend_util.ExplicitPadding;

interface ConvCase {
  n: number;
  h: number;
  w: number;
  cin: number;
  cout: number;
  k: number;
  stride: number;
  pad: Pad;
  dilation?: number;
  bias?: boolean;
  activation?: 'linear' | 'relu';
}

const cases: ConvCase[] = [];
for (const k of [1, 3]) {
  for (const stride of [1, 2]) {
    for (const pad of ['same', 'valid'] as const) {
      cases.push({ n: 2, h: 8, w: 8, cin: 3, cout: 5, k, stride, pad });
      cases.push({ n: 3, h: 7, w: 9, cin: 4, cout: 2, k, stride, pad, bias: true });
    }
  }
}
cases.push({ n: 2, h: 9, w: 9, cin: 3, cout: 4, k: 3, stride: 1, pad: 'same', dilation: 2 });
cases.push({
  n: 2,
  h: 6,
  w: 7,
  cin: 2,
  cout: 3,
  k: 3,
  stride: 2,
  pad: [
    [0, 0],
    [2, 0],
    [1, 3],
    [0, 0],
  ],
});
cases.push({
  n: 2,
  h: 8,
  w: 8,
  cin: 3,
  cout: 4,
  k: 3,
  stride: 1,
  pad: 'same',
  bias: true,
  activation: 'relu',
});
// The small conv encoder's layer: valid padding, stride 2, ReLU fused as a oneDNN post-op.
cases.push({
  n: 2,
  h: 11,
  w: 11,
  cin: 3,
  cout: 8,
  k: 3,
  stride: 2,
  pad: 'valid',
  bias: true,
  activation: 'relu',
});
cases.push({ n: 4, h: 32, w: 32, cin: 16, cout: 16, k: 3, stride: 1, pad: 'same', bias: true });
cases.push({ n: 4, h: 32, w: 32, cin: 16, cout: 32, k: 3, stride: 2, pad: 'same', bias: true });
// The Winograd kernels' geometries (3×3, stride 1, channels in 8s): odd output sizes (partial
// tiles), 24 output channels (a 16- and an 8-wide kernel), fused bias + ReLU, asymmetric padding.
const winogradCases: ConvCase[] = [
  { n: 2, h: 7, w: 9, cin: 8, cout: 24, k: 3, stride: 1, pad: 'valid' },
  { n: 3, h: 6, w: 5, cin: 16, cout: 8, k: 3, stride: 1, pad: 'same', bias: true, activation: 'relu' },
  {
    n: 2,
    h: 5,
    w: 6,
    cin: 8,
    cout: 16,
    k: 3,
    stride: 1,
    pad: [
      [0, 0],
      [2, 0],
      [0, 1],
      [0, 0],
    ],
  },
  { n: 2, h: 8, w: 8, cin: 32, cout: 32, k: 3, stride: 1, pad: 'same', bias: true },
];
cases.push(...winogradCases);
// pointwise.h's geometries (1×1, no padding, channels in 8s): a ResNet shortcut (stride 2), rows
// and columns past the last sampled one (8 at stride 3), 24 outputs, fused bias + ReLU.
const pointwiseCases: ConvCase[] = [
  { n: 2, h: 8, w: 8, cin: 16, cout: 32, k: 1, stride: 2, pad: 'valid', bias: true },
  { n: 3, h: 8, w: 8, cin: 8, cout: 24, k: 1, stride: 3, pad: 'valid' },
  { n: 2, h: 5, w: 6, cin: 24, cout: 8, k: 1, stride: 1, pad: 'same', bias: true, activation: 'relu' },
];
cases.push(...pointwiseCases);
// fewchannels.h's (inputs of 1–7 channels, forward and backward weights): ResNet20's first layer,
// the SimCLR encoder's (stride 2, valid) with 24 outputs (a 16- and an 8-wide tile), rows whose
// width is not a multiple of 4, a 5×5 single-channel filter with asymmetric padding.
const fewChannelCases: ConvCase[] = [
  { n: 2, h: 8, w: 8, cin: 3, cout: 16, k: 3, stride: 1, pad: 'same', bias: true, activation: 'relu' },
  { n: 2, h: 11, w: 13, cin: 3, cout: 24, k: 3, stride: 2, pad: 'valid', bias: true },
  { n: 3, h: 6, w: 7, cin: 1, cout: 8, k: 5, stride: 1, pad: 'same' },
  { n: 2, h: 9, w: 6, cin: 5, cout: 32, k: 3, stride: 3, pad: 'same' },
];
cases.push(...fewChannelCases);
// strided.h's (strides of 2 or more, channels in 8s): ResNet20's downsampling layer; valid
// padding with a last block of 4 pixels and 24 outputs (a 16- and an 8-wide block) + ReLU; a 5×5
// filter at stride 3 with asymmetric padding and 24 input channels (dX's blocks are 16 + 8 wide);
// a padded 1×1 at stride 2, whose odd phases no tap reaches (dX must be written zero there).
const stridedCases: ConvCase[] = [
  { n: 2, h: 8, w: 8, cin: 16, cout: 32, k: 3, stride: 2, pad: 'same', bias: true },
  { n: 1, h: 9, w: 9, cin: 8, cout: 24, k: 3, stride: 2, pad: 'valid', bias: true, activation: 'relu' },
  {
    n: 2,
    h: 10,
    w: 11,
    cin: 24,
    cout: 8,
    k: 5,
    stride: 3,
    pad: [
      [0, 0],
      [2, 1],
      [0, 3],
      [0, 0],
    ],
  },
  {
    n: 2,
    h: 6,
    w: 6,
    cin: 8,
    cout: 8,
    k: 1,
    stride: 2,
    pad: [
      [0, 0],
      [1, 0],
      [0, 1],
      [0, 0],
    ],
  },
];
cases.push(...stridedCases);

/** Output and the gradients of sum(conv(x, w) · r) for x, w (and b) on the current backend. */
function convAndGrads(c: ConvCase, seeds: number): Float32Array[] {
  const x0 = seeded([c.n, c.h, c.w, c.cin], seeds);
  const w0 = seeded([c.k, c.k, c.cin, c.cout], seeds + 1);
  const b0 = seeded([c.cout], seeds + 2);
  return tf.tidy(() => {
    const x = tf.tensor4d(x0, [c.n, c.h, c.w, c.cin]);
    const w = tf.tensor4d(w0, [c.k, c.k, c.cin, c.cout]);
    const b = tf.tensor1d(b0);
    const conv = (a: tf.Tensor4D, f: tf.Tensor4D, bias: tf.Tensor1D) =>
      c.bias
        ? tf.fused.conv2d({
            x: a,
            filter: f,
            strides: c.stride,
            pad: c.pad,
            dilations: c.dilation ?? 1,
            bias,
            activation: c.activation ?? 'linear',
          })
        : tf.conv2d(a, f, c.stride, c.pad, 'NHWC', c.dilation ?? 1);
    const y = conv(x, w, b);
    const r = tf.tensor(seeded(y.shape, seeds + 3), y.shape);
    if ((c.dilation ?? 1) > 1) return [y.dataSync() as Float32Array]; // tfjs has no dilated gradients
    const f = (a: tf.Tensor4D, fw: tf.Tensor4D, bias: tf.Tensor1D) => tf.sum(tf.mul(conv(a, fw, bias), r));
    const grads = tf.grads(f as (...args: tf.Tensor[]) => tf.Tensor)(c.bias ? [x, w, b] : [x, w]);
    return [y, ...grads].map((t) => t.dataSync() as Float32Array);
  });
}

const padLabel = (p: Pad) => (typeof p === 'string' ? p : `explicit ${JSON.stringify(p)}`);

describe('native kernels match the cpu backend', { skip: SKIP_NATIVE }, () => {
  before(async () => {
    const choice = await initBackend('native');
    assert.equal(choice.name, 'native');
    assert.match(choice.detail ?? '', /^oneDNN \d+\.\d+/);
    assert.ok(nativeKernelsActive());
  });

  for (const [i, c] of cases.entries()) {
    const label = `conv ${c.k}x${c.k} stride ${c.stride} ${padLabel(c.pad)}${c.dilation ? ` dilation ${c.dilation}` : ''}${c.bias ? ` + bias${c.activation === 'relu' ? ' + relu' : ''}` : ''} on ${c.n}x${c.h}x${c.w}, ${c.cin}->${c.cout}`;
    test(label, async () => {
      await tf.setBackend('cpu');
      const expected = convAndGrads(c, 10 * i);
      await tf.setBackend('wasm');
      const actual = convAndGrads(c, 10 * i);
      assert.equal(actual.length, expected.length);
      const names = ['forward', 'dX', 'dW', 'dBias'];
      for (let j = 0; j < expected.length; j++) assertClose(actual[j]!, expected[j]!, names[j]!);
    });
  }

  /**
   * Each case on pretext's own kernels (`ours` calls of `kernel` per case; the rest on oneDNN),
   * then with them off (all four on oneDNN): the same outputs and gradients within 1e-5.
   */
  async function oursMatchOnednn(
    t: { skip(reason: string): void },
    list: ConvCase[],
    seed: number,
    kernel: 'winograd' | 'pointwise' | 'fewChannels' | 'strided',
    ours: number,
  ): Promise<void> {
    const addon = loadNative();
    if (!addon.info().winograd) return t.skip('own kernels off: no AVX2+FMA here, or PRETEXT_WINOGRAD=0');
    await tf.setBackend('wasm');
    for (const [i, c] of list.entries()) {
      // Freed NaN blocks for the outputs to reuse: a pixel a kernel leaves unwritten shows.
      tf.dispose(Array.from({ length: 16 }, () => tf.fill([c.n * c.h * c.w * c.cin], Number.NaN)));
      const before = addon.info().convCalls!;
      const own = convAndGrads(c, seed + i);
      const after = addon.info().convCalls!;
      // Two forwards (the output, then under the gradient tape), dX and dW.
      assert.equal((after[kernel] ?? 0) - (before[kernel] ?? 0), ours, `case ${i}: ${kernel} calls`);
      assert.equal(after.onednn - before.onednn, 4 - ours, `case ${i}: oneDNN calls`);
      assert.equal(addon.setWinograd!(false), true);
      try {
        const direct = convAndGrads(c, seed + i);
        assert.equal(addon.info().convCalls!.onednn - after.onednn, 4);
        for (let j = 0; j < direct.length; j++)
          assertClose(own[j]!, direct[j]!, `case ${i} output ${j}`, 1e-5);
      } finally {
        addon.setWinograd!(true);
      }
    }
  }

  test('3×3 stride-1 convolutions with channels in 8s run on the Winograd kernels; oneDNN gives the same', (t) =>
    oursMatchOnednn(t, winogradCases, 100, 'winograd', 4));

  test('1×1 convolutions without padding run on the pointwise kernels; oneDNN gives the same', (t) =>
    oursMatchOnednn(t, pointwiseCases, 200, 'pointwise', 4));

  // dX (which no first layer asks for) stays on oneDNN.
  test('inputs of 1–7 channels run forward and backward weights on the few-channel kernels; oneDNN gives the same', (t) =>
    oursMatchOnednn(t, fewChannelCases, 300, 'fewChannels', 3));

  test('convolutions with strides of 2 or more and channels in 8s run on the strided kernels; oneDNN gives the same', (t) =>
    oursMatchOnednn(t, stridedCases, 400, 'strided', 4));

  test("the Winograd forward's fused ReLU passes NaN and never writes −0, as tfjs' ReLU", async (t) => {
    if (!loadNative().info().winograd)
      return t.skip('Winograd kernels off: no AVX2+FMA here, or PRETEXT_WINOGRAD=0');
    // NaN comes in through the bias (channel 0): a NaN input pixel would spread to its whole
    // Winograd tile, more outputs than a direct convolution makes NaN (see winograd.h).
    const bias = [Number.NaN, -0, ...seeded([6], 3)];
    const run = () =>
      tf.tidy(() => {
        const x = tf.tensor4d(seeded([2, 6, 7, 8], 1), [2, 6, 7, 8]);
        const filter = tf.tensor4d(seeded([3, 3, 8, 8], 2), [3, 3, 8, 8]);
        return tf.fused
          .conv2d({ x, filter, strides: 1, pad: 'same', bias: tf.tensor1d(bias), activation: 'relu' })
          .dataSync() as Float32Array;
      });
    await tf.setBackend('cpu');
    const expected = run();
    await tf.setBackend('wasm');
    const actual = run();
    assert.ok(expected.some((v) => v === 0) && expected.some((v) => v > 0));
    const tol = 1e-5 * Math.max(...expected.filter((v) => !Number.isNaN(v)));
    for (let i = 0; i < expected.length; i++) {
      const [a, e] = [actual[i]!, expected[i]!];
      if (Number.isNaN(e)) assert.ok(Number.isNaN(a), `[${i}]: ${a} vs NaN`);
      else if (a <= 0) assert.ok(Object.is(a, 0) && e < tol, `[${i}]: ${a} vs ${e}`);
      else assert.ok(Math.abs(a - e) < tol, `[${i}]: ${a} vs ${e}`);
    }
  });

  test("the filter's and bias's gradients from one pass equal Conv2DBackpropFilter and Sum on cpu", async () => {
    // A Winograd geometry (3×3, stride 1) and a oneDNN one (stride 2).
    const strided = cases.find((c) => c.stride === 2 && c.cin >= 8)!;
    for (const [i, c] of [winogradCases[0]!, strided].entries()) {
      const x0 = seeded([c.n, c.h, c.w, c.cin], 200 + i);
      const filterShape: [number, number, number, number] = [c.k, c.k, c.cin, c.cout];
      const attrs = { strides: c.stride, pad: c.pad, dataFormat: 'NHWC', filterShape };
      const outShape = tf.backend_util.computeConv2DInfo(
        [c.n, c.h, c.w, c.cin],
        filterShape,
        c.stride,
        1,
        c.pad,
      ).outShape as number[];
      const dy0 = seeded(outShape, 300 + i);
      await tf.setBackend('cpu');
      const expected = tf.tidy(() => {
        const [x, dy] = [tf.tensor(x0, [c.n, c.h, c.w, c.cin]), tf.tensor(dy0, outShape)];
        const dw = tf.engine().runKernel('Conv2DBackpropFilter', { x, dy }, attrs as never) as tf.Tensor;
        return [dw.dataSync() as Float32Array, tf.sum(dy, [0, 1, 2]).dataSync() as Float32Array];
      });
      await tf.setBackend('wasm');
      assert.ok(tf.getKernel(CONV_FILTER_BIAS_GRAD, 'wasm'));
      const before = tf.memory().numTensors;
      const actual = tf.tidy(() => {
        const [x, dy] = [tf.tensor(x0, [c.n, c.h, c.w, c.cin]), tf.tensor(dy0, outShape)];
        const out = tf.engine().runKernel(CONV_FILTER_BIAS_GRAD, { x, dy }, attrs as never) as tf.Tensor[];
        return out.map((t) => t.dataSync() as Float32Array);
      });
      assert.equal(tf.memory().numTensors, before);
      assertClose(actual[0]!, expected[0]!, `case ${i} dW`);
      assertClose(actual[1]!, expected[1]!, `case ${i} dBias`);
    }
  });

  test('training-mode batch norm: outputs and gradients equal the cpu kernel', async () => {
    const shape = [6, 5, 4, 16];
    const x0 = seeded(shape, 101);
    const r0 = seeded(shape, 102);
    const g0 = tf.tidy(() => tf.randomUniform([16], 0.5, 1.5, 'float32', 103).dataSync() as Float32Array);
    const b0 = seeded([16], 104);
    const run = () =>
      tf.tidy(() => {
        const x = tf.tensor(x0, shape);
        const gamma = tf.tensor1d(g0);
        const beta = tf.tensor1d(b0);
        const [y, mean, variance] = batchNormTrain(x, gamma, beta, 1e-3);
        const r = tf.tensor(r0, shape);
        const f = (a: tf.Tensor, g: tf.Tensor, b: tf.Tensor) =>
          tf.sum(tf.mul(batchNormTrain(a, g, b, 1e-3)[0]!, r));
        const grads = tf.grads(f as (...args: tf.Tensor[]) => tf.Tensor)([x, gamma, beta]);
        return [y!, mean!, variance!, ...grads].map((t) => t.dataSync() as Float32Array);
      });
    await tf.setBackend('cpu');
    const expected = run();
    await tf.setBackend('wasm');
    const actual = run();
    const names = ['y', 'mean', 'variance', 'dx', 'dgamma', 'dbeta'];
    for (let j = 0; j < expected.length; j++) assertClose(actual[j]!, expected[j]!, names[j]!, 1e-4);
  });

  test('sums over every axis but the last (conv bias gradients) equal the cpu kernel; other sums fall back', async () => {
    const x0 = seeded([3, 5, 4, 7], 105);
    const sums = () =>
      tf.tidy(() => {
        const x = tf.tensor(x0, [3, 5, 4, 7]);
        return [
          tf.sum(x, [0, 1, 2]),
          tf.sum(x, [2, 0, 1], true),
          tf.sum(x, [0, 1]),
          tf.sum(x),
          tf.sum(x, -1),
        ].map((t) => t.dataSync() as Float32Array);
      });
    await tf.setBackend('cpu');
    const expected = sums();
    await tf.setBackend('wasm');
    const actual = sums();
    for (let i = 0; i < expected.length; i++) assertClose(actual[i]!, expected[i]!, `sum ${i}`, 1e-5);
  });

  // Our own kernels' geometries that a batch norm follows in ResNet20: a first layer
  // (few-channel), a 3×3 stride 1 (Winograd), a downsampling one with 24 outputs (strided).
  const momentCases: ConvCase[] = [fewChannelCases[0]!, winogradCases[3]!, stridedCases[1]!].map((c) => ({
    ...c,
    activation: 'linear',
  }));

  test("our own convolution kernels write their output's moments; a batch norm on that output uses them", async (t) => {
    const addon = loadNative();
    if (!addon.info().winograd || !addon.convForwardMoments)
      return t.skip('own kernels off, or an older build');
    // The addon directly: Σy and Σy² per channel against float64 sums of the output it wrote.
    for (const [i, c] of momentCases.entries()) {
      const ho = c.stride === 1 ? c.h : Math.floor((c.h - c.k) / c.stride) + 1;
      const wo = c.stride === 1 ? c.w : Math.floor((c.w - c.k) / c.stride) + 1;
      const pad = c.stride === 1 ? (c.k - 1) / 2 : 0;
      const y = new Float32Array(c.n * ho * wo * c.cout);
      const moments = new Float64Array(2 * c.cout).fill(Number.NaN);
      const g: ConvGeometry = [
        [c.n, c.h, c.w, c.cin],
        [c.k, c.k, c.cin, c.cout],
        [c.n, ho, wo, c.cout],
        [c.stride, c.stride],
        [pad, pad],
        [pad, pad],
        [1, 1],
      ];
      const x = seeded([c.n, c.h, c.w, c.cin], 10 + i);
      const w = seeded([c.k, c.k, c.cin, c.cout], 20 + i);
      const filled = addon.convForwardMoments(x, w, seeded([c.cout], 30 + i), y, ...g, 0, moments);
      assert.equal(filled, true, `case ${i}: moments written`);
      const want = Array.from({ length: 2 * c.cout }, () => 0);
      y.forEach((v, p) => {
        want[p % c.cout]! += v;
        want[c.cout + (p % c.cout)]! += v * v;
      });
      for (let q = 0; q < want.length; q++)
        assert.ok(
          Math.abs(moments[q]! - want[q]!) <= 1e-5 * (1 + Math.abs(want[q]!)),
          `case ${i} moment ${q}: ${moments[q]} vs ${want[q]}`,
        );
      // With ReLU fused there are none to give (the batch norm wants y before it).
      assert.equal(addon.convForwardMoments(x, w, null, y, ...g, 1, moments), false);
    }
    // Through tfjs: conv → batch norm (alone, and + residual + ReLU) equals cpu's, and each
    // batch norm took the convolution's moments.
    const bnOf = (c: ConvCase, seed: number) =>
      tf.tidy(() => {
        const x = tf.tensor4d(seeded([c.n, c.h, c.w, c.cin], seed), [c.n, c.h, c.w, c.cin]);
        const w = tf.tensor4d(seeded([c.k, c.k, c.cin, c.cout], seed + 1), [c.k, c.k, c.cin, c.cout]);
        const y = tf.fused.conv2d({
          x,
          filter: w,
          strides: c.stride,
          pad: c.pad,
          bias: tf.tensor1d(seeded([c.cout], seed + 2)),
        });
        const scale = tf.tensor1d(seeded([c.cout], seed + 3));
        const offset = tf.tensor1d(seeded([c.cout], seed + 4));
        const plain = batchNormTrain(y, scale, offset, 1e-3);
        const y2 = tf.fused.conv2d({ x, filter: w, strides: c.stride, pad: c.pad });
        const fused = batchNormReluTrain(y2, scale, offset, 1e-3, tf.onesLike(y2));
        return [...plain, ...fused].map((r) => r.dataSync() as Float32Array);
      });
    for (const [i, c] of momentCases.entries()) {
      await tf.setBackend('cpu');
      const expected = bnOf(c, 40 + 10 * i);
      await tf.setBackend('wasm');
      const before = batchNormsOnConvMoments();
      const actual = bnOf(c, 40 + 10 * i);
      assert.equal(
        batchNormsOnConvMoments() - before,
        2,
        `case ${i}: batch norms on the convolution's moments`,
      );
      for (let j = 0; j < expected.length; j++)
        assertClose(actual[j]!, expected[j]!, `case ${i} output ${j}`, 1e-4);
    }
    // A convolution on oneDNN (5×5 stride 1) has none: its batch norm sums the output itself.
    const onednn: ConvCase = { n: 2, h: 6, w: 6, cin: 8, cout: 8, k: 5, stride: 1, pad: 'same' };
    const before = batchNormsOnConvMoments();
    bnOf(onednn, 90);
    assert.equal(batchNormsOnConvMoments(), before);
  });

  test('no tensors or backend buffers leak from the kernels', async () => {
    await tf.setBackend('wasm');
    const c = cases.at(-1)!;
    convAndGrads(c, 7);
    const before = tf.memory();
    const buffers = tf.engine().backend.numDataIds();
    convAndGrads(c, 7);
    assert.equal(tf.memory().numTensors, before.numTensors);
    assert.equal(tf.engine().backend.numDataIds(), buffers);
  });

  test('bad arguments throw a TypeError and the process goes on', () => {
    const addon = loadNative();
    const x = new Float32Array(2 * 4 * 4 * 3);
    const w = new Float32Array(3 * 3 * 3 * 5);
    const y = new Float32Array(2 * 4 * 4 * 5);
    type Geometry = [number[], number[], number[], number[], number[], number[], number[]];
    const geometry = (yShape: number[]): Geometry => [
      [2, 4, 4, 3],
      [3, 3, 3, 5],
      yShape,
      [1, 1],
      [1, 1],
      [1, 1],
      [1, 1],
    ];
    // A correct call works…
    addon.convForward(x, w, null, y, ...geometry([2, 4, 4, 5]));
    // …shapes that do not fit the buffers or each other are refused before oneDNN reads memory.
    assert.throws(
      () => addon.convForward(x, w, null, new Float32Array(3), ...geometry([2, 4, 4, 5])),
      /y is smaller than its shape/,
    );
    assert.throws(
      () => addon.convForward(x, w, null, y, ...geometry([2, 3, 4, 5])),
      /output size does not match/,
    );
    assert.throws(
      () => addon.convBackwardWeights(x, y, new Float32Array(4), ...geometry([2, 4, 4, 5])),
      /dw is smaller/,
    );
    assert.throws(() => addon.bnForward(x, x, x, x, x, x, 5, 1e-3), /channel count/);
    assert.throws(
      () => (addon.convForward as unknown as (...a: unknown[]) => void)([1, 2], w, null, y),
      /must be a Float32Array/,
    );
  });
});
