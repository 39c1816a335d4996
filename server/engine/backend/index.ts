// Picks and starts the TensorFlow.js backend of a worker. tfjs itself silently falls back to cpu
// when a backend fails to start; here a forced backend that cannot start is an error, and 'auto'
// says which one it ended on.
import fs from 'node:fs';
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { registerFusedBatchNorm } from './fused-batchnorm.js';
import { registerWasmKernels } from './wasm-kernels/index.js';
import { threadsSupported, unrefWasmWorkers, withThreadedWasm } from './wasm-threads.js';

export interface BackendChoice {
  /** 'tensorflow-gpu' | 'tensorflow' | 'wasm' | 'cpu' | 'webgpu' */
  name: string;
  threads: number;
}

export const BACKEND_NAMES = ['tensorflow-gpu', 'tensorflow', 'wasm', 'cpu', 'webgpu'] as const;
/** The order 'auto' tries. */
export const AUTO_ORDER = ['tensorflow-gpu', 'tensorflow', 'wasm', 'cpu'] as const;

const require = createRequire(import.meta.url);

const NODE_PACKAGES: Record<string, string> = {
  'tensorflow-gpu': '@tensorflow/tfjs-node-gpu',
  tensorflow: '@tensorflow/tfjs-node',
};

function resolvePackage(pkg: string): string | undefined {
  try {
    return require.resolve(`${pkg}/package.json`);
  } catch {
    return undefined;
  }
}

/** Cheap, synchronous availability check (no tfjs initialisation) for GetServerInfo. */
export function probeBackends(): Array<{ name: string; available: boolean; reason: string }> {
  return BACKEND_NAMES.map((name) => {
    const [available, reason] = probeOne(name);
    return { name, available, reason };
  });
}

function probeOne(name: string): [boolean, string] {
  switch (name) {
    case 'tensorflow-gpu':
    case 'tensorflow': {
      const pkg = NODE_PACKAGES[name]!;
      const pj = resolvePackage(pkg);
      if (!pj)
        return [false, `${pkg} is not installed (optional dependency; its install downloads libtensorflow)`];
      // The native binding is fetched by the package's install script; without it the import fails.
      const libDir = path.join(path.dirname(pj), 'lib');
      const hasBinding = fs.existsSync(libDir) && findFile(libDir, 'tfjs_binding.node', 3);
      return hasBinding ? [true, ''] : [false, `${pkg} is installed but its native binding is missing`];
    }
    case 'wasm': {
      if (typeof (globalThis as { WebAssembly?: unknown }).WebAssembly !== 'object')
        return [false, 'this Node.js has no WebAssembly'];
      const pj = resolvePackage('@tensorflow/tfjs-backend-wasm');
      if (!pj) return [false, '@tensorflow/tfjs-backend-wasm is not installed'];
      return [true, ''];
    }
    case 'cpu':
      return [true, ''];
    case 'webgpu':
      return [false, 'WebGPU is not available in Node.js'];
    default:
      return [false, `unknown backend "${name}"`];
  }
}

function findFile(dir: string, file: string, depth: number): boolean {
  for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
    if (entry.isFile() && entry.name === file) return true;
    if (entry.isDirectory() && depth > 0 && findFile(path.join(dir, entry.name), file, depth - 1))
      return true;
  }
  return false;
}

/** Threads wasm uses: every core (tfjs' own default is half of them). PRETEXT_THREADS overrides. */
export function defaultThreads(): number {
  const env = Number(process.env.PRETEXT_THREADS);
  if (Number.isInteger(env) && env > 0) return env;
  return Math.max(1, os.availableParallelism?.() ?? os.cpus().length);
}

let wasmThreads = 1;

async function startWasm(): Promise<number> {
  const wasm = await import('@tensorflow/tfjs-backend-wasm');
  registerWasmKernels();
  const threads = defaultThreads();
  if (threads > 1 && threadsSupported()) {
    wasm.setThreadsCount(threads);
    await withThreadedWasm(threads, () => tf.setBackend('wasm'));
    unrefWasmWorkers();
  } else {
    tf.env().set('WASM_HAS_MULTITHREAD_SUPPORT', false);
    await tf.setBackend('wasm');
  }
  wasmThreads = tf.getBackend() === 'wasm' ? wasm.getThreadsCount() : 1;
  return wasmThreads;
}

async function start(name: string): Promise<number> {
  registerFusedBatchNorm();
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
    case 'cpu':
      await tf.setBackend('cpu');
      return 1;
    case 'webgpu':
      throw new Error('WebGPU is not available in Node.js');
    default:
      throw new Error(`unknown backend "${name}" (known: auto, ${BACKEND_NAMES.join(', ')})`);
  }
}

function tfName(name: string): string {
  return name === 'tensorflow-gpu' ? 'tensorflow' : name;
}

async function startVerified(name: string): Promise<BackendChoice> {
  const threads = await start(name);
  // tf.setBackend resolves false (and tfjs may keep another backend) when initialisation fails.
  const active = tf.getBackend();
  if (active !== tfName(name)) throw new Error(`backend "${name}" did not start (tfjs is on "${active}")`);
  await tf.ready();
  return { name, threads };
}

/**
 * Starts the requested backend ('auto' or a name) and returns what is in use. 'auto' tries
 * tensorflow-gpu → tensorflow → wasm → cpu; a named backend that cannot start throws.
 */
export async function initBackend(requested: string): Promise<BackendChoice> {
  const want = (requested || 'auto').toLowerCase();
  if (want !== 'auto') {
    try {
      return await startVerified(want);
    } catch (err) {
      const msg = err instanceof Error ? err.message : String(err);
      throw new Error(`backend "${want}" was requested but cannot start: ${msg}`);
    }
  }
  const failures: string[] = [];
  for (const name of AUTO_ORDER) {
    if (!probeOne(name)[0]) continue;
    try {
      return await startVerified(name);
    } catch (err) {
      failures.push(`${name}: ${err instanceof Error ? err.message : String(err)}`);
    }
  }
  throw new Error(`no TensorFlow.js backend could start (${failures.join('; ')})`);
}

/** Threads of the wasm backend as started (1 before it starts or when single-threaded). */
export function wasmThreadsCount(): number {
  return wasmThreads;
}
