import fs from 'node:fs';
import os from 'node:os';
import * as tf from '@tensorflow/tfjs';
import { registerFusedAdam } from './fused-adam.js';
import { registerFusedBatchNorm } from './fused-batchnorm.js';
import { installReluGrad } from './wasm-kernels/activation-grads.js';
import { setGradientRelease } from './release-gradients.js';
import { loadNative, type NativeAddon } from '../../shared/backends/native-addon.js';
import { registerNativeKernels, unregisterNativeKernels } from './native/kernels.js';
import { registerWasmKernels } from './wasm-kernels/index.js';
import { setSimdThreads } from './wasm-kernels/simd-pool.js';
import { threadsSupported, unrefWasmWorkers, withThreadedWasm } from './wasm-threads.js';
import { describeAdapter } from '../../shared/backends/webgpu-adapter.js';
import { registerWebgpuKernels } from './webgpu-kernels/index.js';
import { startWebgpu } from './webgpu.js';

/** What the convolutions compute in: bf16 (native backend only) keeps fp32 master weights,
 *  batch norm, loss and optimizer; only the convolutions' inputs are bf16. */
export type Precision = 'fp32' | 'bf16';

export interface BackendChoice {
  /** 'tensorflow-gpu' | 'tensorflow' | 'native' | 'wasm' | 'cpu' | 'webgpu' */
  name: string;
  threads: number;
  precision: Precision;
  /**
   * What it runs on: oneDNN's version and ISA for native ('oneDNN 2.6.3 avx512_core_bf16'), the
   * adapter for webgpu ('nvidia hopper NVIDIA H200 (…)').
   */
  detail?: string;
}

export { AUTO_ORDER, BACKEND_NAMES, probeBackends } from '../../shared/backends/probe.js';
import { AUTO_ORDER, BACKEND_NAMES, NODE_PACKAGES, probeOne, require } from '../../shared/backends/probe.js';

/** Threads wasm uses: every core (tfjs' own default is half of them). PRETEXT_THREADS overrides. */
export function defaultThreads(): number {
  const env = Number(process.env.PRETEXT_THREADS);
  if (Number.isInteger(env) && env > 0) return env;
  return Math.max(1, os.availableParallelism?.() ?? os.cpus().length);
}

let wasmThreads = 1;
let detail: string | undefined;

/**
 * The precision when the caller names none: `PRETEXT_PRECISION` (fp32 | bf16, default fp32), for
 * benchmarks and evaluations. Training runs pass their resolved `training.precision`.
 */
export function precisionFromEnv(): Precision {
  const v = (process.env.PRETEXT_PRECISION ?? 'fp32').toLowerCase();
  if (v !== 'fp32' && v !== 'bf16')
    throw new Error(`PRETEXT_PRECISION must be fp32 or bf16, got "${v.slice(0, 20)}"`);
  return v;
}

/**
 * wasm threads: every core on plain wasm. Under 'native' one: the heavy kernels run on OpenMP
 * threads, and wasm's pthreads only compete with them (324 vs 308 img/s, ResNet20, 2 cores).
 * PRETEXT_WASM_THREADS overrides.
 */
function wasmThreadCount(native: boolean): number {
  const env = Number(process.env.PRETEXT_WASM_THREADS);
  if (Number.isInteger(env) && env > 0) return env;
  return native ? 1 : defaultThreads();
}

/** Whether Linux hands out transparent huge pages to a region that asks ("always" or "madvise"). */
export function transparentHugePages(): boolean {
  try {
    return !fs.readFileSync('/sys/kernel/mm/transparent_hugepage/enabled', 'utf8').includes('[never]');
  } catch {
    return false; // not Linux, or a kernel without them
  }
}

/**
 * Asks for 2 MB pages over the wasm heap, which holds every tensor the native kernels read and
 * write (ResNet20 training 3–6% faster, interleaved: fewer TLB misses). PRETEXT_HUGE_PAGES=0
 * keeps 4 KB pages. Whether Linux grants them depends on its transparent-huge-page setting.
 */
function adviseHugePages(addon: NativeAddon): boolean {
  if (process.env.PRETEXT_HUGE_PAGES === '0' || !addon.adviseHugePages || !transparentHugePages())
    return false;
  const heap = (tf.backend() as unknown as { wasm?: { HEAPU8?: Uint8Array } }).wasm?.HEAPU8?.buffer;
  if (!heap) return false;
  // The whole 4 GB a wasm32 memory may grow to: V8 reserves it up front and grows in place.
  return addon.adviseHugePages(new Float32Array(heap, 0, 1), 2 ** 32) === 0;
}

async function startWasm(native = false, precision: Precision = 'fp32'): Promise<number> {
  const wasm = await import('@tensorflow/tfjs-backend-wasm');
  registerWasmKernels();
  if (!native) unregisterNativeKernels();
  if (native) {
    const addon = loadNative();
    // Before the kernels are registered: bf16 on a CPU without it fails here, leaving wasm as it was.
    addon.setPrecision(precision);
    registerNativeKernels(addon);
    addon.setThreads(defaultThreads());
    const info = addon.info();
    const convs = precision === 'bf16' ? ', bf16 convolutions' : info.winograd ? ', Winograd 3×3' : '';
    detail = `oneDNN ${info.onednn} ${info.isa}, ${info.threads} threads${convs}`;
  }
  const threads = wasmThreadCount(native);
  if (threads > 1 && threadsSupported()) {
    wasm.setThreadsCount(threads);
    await withThreadedWasm(threads, () => tf.setBackend('wasm'));
    unrefWasmWorkers();
  } else {
    tf.env().set('WASM_HAS_MULTITHREAD_SUPPORT', false);
    await tf.setBackend('wasm');
  }
  wasmThreads = tf.getBackend() === 'wasm' ? wasm.getThreadsCount() : 1;
  setSimdThreads(wasmThreads);
  if (native && detail && adviseHugePages(loadNative())) detail += ', 2 MB pages';
  return wasmThreads;
}

async function start(name: string, precision: Precision): Promise<number> {
  detail = undefined;
  if (precision === 'bf16' && name !== 'native')
    throw new Error(
      `precision bf16 needs the native backend (oneDNN on a CPU with AVX512-BF16 or AMX); "${name}" computes in fp32`,
    );
  registerFusedBatchNorm();
  registerFusedAdam();
  installReluGrad();
  // PRETEXT_KEEP_GRADIENTS=1: tfjs' own behaviour (all gradients kept until backprop ends).
  setGradientRelease(process.env.PRETEXT_KEEP_GRADIENTS !== '1');
  switch (name) {
    case 'tensorflow-gpu':
    case 'tensorflow': {
      const [ok, reason] = probeOne(name);
      if (!ok) throw new Error(reason);
      // Loading the package registers (and selects) its backend, named 'tensorflow' for both.
      require(NODE_PACKAGES[name]!);
      await tf.setBackend('tensorflow');
      return os.cpus().length;
    }
    case 'wasm':
      return startWasm();
    case 'native':
      await startWasm(true, precision);
      return defaultThreads();
    case 'cpu':
      await tf.setBackend('cpu');
      return 1;
    case 'webgpu': {
      const [ok, reason] = probeOne(name);
      if (!ok) throw new Error(reason);
      detail = describeAdapter(await startWebgpu());
      registerWebgpuKernels();
      return 1;
    }
    default:
      throw new Error(`unknown backend "${name}" (known: auto, ${BACKEND_NAMES.join(', ')})`);
  }
}

function tfName(name: string): string {
  if (name === 'native') return 'wasm';
  return name === 'tensorflow-gpu' ? 'tensorflow' : name;
}

async function startVerified(name: string, precision: Precision): Promise<BackendChoice> {
  const threads = await start(name, precision);
  // tf.setBackend resolves false (and tfjs may keep another backend) when initialisation fails.
  const active = tf.getBackend();
  if (active !== tfName(name)) throw new Error(`backend "${name}" did not start (tfjs is on "${active}")`);
  await tf.ready();
  return detail ? { name, threads, precision, detail } : { name, threads, precision };
}

/**
 * Starts the requested backend ('auto' or a name) and returns what is in use. 'auto' tries
 * AUTO_ORDER (tensorflow-gpu → tensorflow → native → webgpu → wasm → cpu; only native for
 * bf16); a named backend that cannot start throws, as does bf16 where it cannot run.
 */
export async function initBackend(
  requested: string,
  opts: { precision?: Precision } = {},
): Promise<BackendChoice> {
  const want = (requested || 'auto').toLowerCase();
  const precision = opts.precision ?? precisionFromEnv();
  if (want !== 'auto') {
    try {
      return await startVerified(want, precision);
    } catch (err) {
      const msg = err instanceof Error ? err.message : String(err);
      throw new Error(`backend "${want}" was requested but cannot start: ${msg}`);
    }
  }
  const failures: string[] = [];
  for (const name of precision === 'bf16' ? (['native'] as const) : AUTO_ORDER) {
    if (!probeOne(name)[0]) continue;
    try {
      return await startVerified(name, precision);
    } catch (err) {
      failures.push(`${name}: ${err instanceof Error ? err.message : String(err)}`);
    }
  }
  throw new Error(`no TensorFlow.js backend could start (${failures.join('; ')})`);
}
