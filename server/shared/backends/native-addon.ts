// Loads pretext's optional native kernels (native/src/pretext_native.cc, oneDNN). The addon is
// built at install time only where Debian's libdnnl-dev is present; everything works without it.
import fs from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

/** A convolution's geometry, the addon's trailing arguments: x shape (NHWC), filter shape (HWIO),
 *  y shape (NHWC), strides, padding top/left, padding bottom/right, dilations. */
export type ConvGeometry = [number[], number[], number[], number[], number[], number[], number[]];

/** One convolution of an inference plan: source tensor, residual tensor (-1: none), ReLU (0/1),
 *  HWIO weights, bias, [kh, kw, cin, cout], strides, padding top/left, padding bottom/right.
 *  Step i writes tensor i + 1; tensor 0 is the plan's input. */
export type PlanStep = [
  number,
  number,
  number,
  Float32Array,
  Float32Array,
  [number, number, number, number],
  [number, number],
  [number, number],
  [number, number],
];

/** Training batch norm, channels last: biased batch variance, as tf.moments. */
type BnForwardArgs = [
  x: Float32Array,
  gamma: Float32Array,
  beta: Float32Array,
  y: Float32Array,
  mean: Float32Array,
  variance: Float32Array,
  channels: number,
  epsilon: number,
];
type BnBackwardArgs = [
  dy: Float32Array,
  x: Float32Array,
  mean: Float32Array,
  variance: Float32Array,
  gamma: Float32Array,
  dx: Float32Array,
  dGamma: Float32Array,
  dBeta: Float32Array,
  channels: number,
  epsilon: number,
];

/** The addon's functions; shapes are tfjs' (NHWC tensors, HWIO filters). */
export interface NativeAddon {
  convForward(
    x: Float32Array,
    w: Float32Array,
    bias: Float32Array | null,
    y: Float32Array,
    ...g: [...ConvGeometry, relu?: number]
  ): void;
  /**
   * convForward that also writes y's per-channel Σy and Σy² into `moments` (2 × output channels)
   * where its kernel can (pretext's own, without ReLU): returns whether it did. Absent in older builds.
   */
  convForwardMoments?(
    x: Float32Array,
    w: Float32Array,
    bias: Float32Array | null,
    y: Float32Array,
    ...g: [...ConvGeometry, relu: number, moments: Float64Array]
  ): boolean;
  convBackwardData(dy: Float32Array, w: Float32Array, dx: Float32Array, ...g: ConvGeometry): void;
  /** y = max(x, 0), threaded; absent in builds from before it. */
  relu?(x: Float32Array, y: Float32Array): void;
  /** out = a + b (one shape), threaded; absent in builds from before it. */
  add?(a: Float32Array, b: Float32Array, out: Float32Array): void;
  /** dx = dy · step(x): ReLU's gradient. */
  reluGrad(dy: Float32Array, x: Float32Array, dx: Float32Array): void;
  convBackwardWeights(x: Float32Array, dy: Float32Array, dw: Float32Array, ...g: ConvGeometry): void;
  /**
   * convBackwardWeights of dy·step(y) (y: the output of a ReLU after the convolution), with the
   * bias gradient when db is given (absent in older builds).
   */
  convBackwardWeightsMasked?(
    x: Float32Array,
    dy: Float32Array,
    dw: Float32Array,
    ...rest: [...ConvGeometry, db: Float32Array | null, y: Float32Array]
  ): void;
  /** convBackwardWeights that also writes the bias gradient db (absent in older builds). */
  convBackwardWeightsBias?(
    x: Float32Array,
    dy: Float32Array,
    dw: Float32Array,
    ...g: [...ConvGeometry, db: Float32Array]
  ): void;
  bnForward(...args: BnForwardArgs): void;
  bnBackward(...args: BnBackwardArgs): void;
  /** bnForward with y = relu(bn(x) + residual) (residual may be null); absent in older builds. */
  bnActForward?(...args: [...BnForwardArgs, residual: Float32Array | null, relu: number]): void;
  /** bnActForward given x's Σx and Σx² (convForwardMoments'), which it then does not compute. */
  bnForwardMoments?(
    ...args: [...BnForwardArgs, residual: Float32Array | null, relu: number, moments: Float64Array | null]
  ): void;
  /** bnBackward through that ReLU (dy · step(y)); dResidual (may be null) gets that masked dy. */
  bnActBackward?(...args: [...BnBackwardArgs, y: Float32Array, dResidual: Float32Array | null]): void;
  channelSum(x: Float32Array, out: Float32Array, channels: number): void;
  /** fused-adam.ts' update, threaded, the same bits (absent in older builds). */
  adamUpdate?(
    x: Float32Array,
    m: Float32Array,
    v: Float32Array,
    g: Float32Array,
    outX: Float32Array,
    outM: Float32Array,
    outV: Float32Array,
    c1: number,
    c2: number,
    learningRate: number,
    beta1: number,
    beta2: number,
    epsilon: number,
  ): void;
  /** An inference chain of convolutions (batch norm folded, ReLU / residual sum fused); its id. */
  planCreate(input: [number, number, number], steps: PlanStep[], output: number): number;
  /** [h, w, c] of the plan's output tensor. */
  planOutputShape(plan: number): [number, number, number];
  /** Runs the plan on n NHWC images; `out` gets the output tensor (NHWC). */
  planRun(plan: number, x: Float32Array, n: number, out: Float32Array): void;
  planFree(plan: number): void;
  info(): {
    onednn: string;
    threads: number;
    isa: string;
    bf16: boolean;
    precision: 'fp32' | 'bf16';
    /** Whether 3×3 stride-1 convolutions take the Winograd kernels (absent in older builds). */
    winograd?: boolean;
    /** Convolution calls per implementation since the addon loaded (absent in older builds). */
    convCalls?: {
      winograd: number;
      onednn: number;
      pointwise?: number;
      fewChannels?: number;
      strided?: number;
    };
  };
  /** Winograd kernels on or off for later convolutions; whether they were on (absent in older builds). */
  setWinograd?(on: boolean): boolean;
  /** Convolution input precision for later calls; 'bf16' throws on CPUs without AVX512-BF16/AMX. */
  setPrecision(precision: 'fp32' | 'bf16'): void;
  setThreads(n: number): void;
  /**
   * madvise(MADV_HUGEPAGE) from the view's start over `bytes`: 2 MB pages for the wasm heap.
   * Returns 0 or the errno (absent in older builds).
   */
  adviseHugePages?(view: Float32Array, bytes: number): number;
}

const here = path.dirname(fileURLToPath(import.meta.url));
/** Where scripts/build-native.mjs puts the addon (repository root / native / build). */
export const DEFAULT_ADDON_PATH = path.resolve(here, '../../../native/build/pretext_native.node');

/** PRETEXT_NATIVE_ADDON overrides the path; PRETEXT_NATIVE=0 turns the addon off. */
export function addonPath(): string {
  return process.env.PRETEXT_NATIVE_ADDON || DEFAULT_ADDON_PATH;
}

/** Cheap check without loading: [available, reason]. */
export function probeNative(): [boolean, string] {
  if (process.env.PRETEXT_NATIVE === '0') return [false, 'turned off by PRETEXT_NATIVE=0'];
  const file = addonPath();
  if (!fs.existsSync(file))
    return [
      false,
      `native kernels not built (${file} missing; needs libdnnl-dev, then npm run build:native)`,
    ];
  return [true, ''];
}

let loaded: NativeAddon | undefined;

/** Loads the addon (once); throws with the reason when it is absent or cannot load. */
export function loadNative(): NativeAddon {
  if (loaded) return loaded;
  const [ok, reason] = probeNative();
  if (!ok) throw new Error(reason);
  // OpenMP threads that spin after each kernel steal the core that the next (wasm) op needs:
  // 673 vs 914 ms per ResNet20 step measured on 2 cores. libgomp reads this when it loads.
  process.env.OMP_WAIT_POLICY ??= 'passive';
  loaded = createRequire(import.meta.url)(addonPath()) as NativeAddon;
  return loaded;
}
