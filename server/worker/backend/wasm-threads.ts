// Multi-threaded tfjs wasm in Node. tfjs disables threads under Node and, in browsers, hands the
// emscripten pthread worker its scripts as blob: URLs, which Node's worker_threads cannot load.
// We force the thread flag, record the two Blobs tfjs builds while it initialises, write them
// to files and give the workers those paths instead. The workers are unref'd afterwards so that
// a process still exits on its own once its work is done.
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import workerThreads from 'node:worker_threads';
import * as tf from '@tensorflow/tfjs';

/** Free variables of tfjs' threaded-simd emscripten factory, which the worker evaluates globally. */
const WORKER_PRELUDE = `"use strict";
globalThis.require$$0 = require('fs');
globalThis.require$$1 = require('path');
globalThis.require$$3 = require('perf_hooks');
globalThis.require$$4 = require('os');
globalThis.commonjsGlobal = globalThis;
globalThis.__values = function (o) { return o[Symbol.iterator](); };
globalThis.__read = function (o, n) {
  const out = []; const it = o[Symbol.iterator]();
  for (let i = 0; n === undefined || i < n; i++) { const r = it.next(); if (r.done) break; out.push(r.value); }
  return out;
};
globalThis.__spreadArray = function (to, from) { return to.concat(Array.prototype.slice.call(from)); };
`;

class RecordingBlob extends Blob {
  readonly recorded: string;
  constructor(parts: Array<string> = [], options?: ConstructorParameters<typeof Blob>[1]) {
    super(parts, options);
    this.recorded = parts.map((p) => (typeof p === 'string' ? p : '')).join('');
  }
}

/** Writes `text` to `file` once: concurrent processes write the same content, renamed atomically. */
function writeOnce(file: string, text: string): void {
  if (fs.existsSync(file)) return;
  const tmp = `${file}.${process.pid}.tmp`;
  fs.writeFileSync(tmp, text);
  fs.renameSync(tmp, file);
}

// Content-addressed files in the temp dir: shared by every worker process of this tfjs version,
// nothing to clean up and nothing left behind per process (a killed worker runs no exit hook).
function writeScripts(mainScript: string, workerScript: string): string {
  const hash = createHash('sha256').update(mainScript).update(workerScript).digest('hex').slice(0, 16);
  const dir = path.join(os.tmpdir(), `pretext-tfjs-wasm-${hash}`);
  fs.mkdirSync(dir, { recursive: true });
  const mainPath = path.join(dir, 'tfjs-wasm-main.cjs');
  const workerPath = path.join(dir, 'tfjs-wasm-worker.cjs');
  writeOnce(mainPath, mainScript);
  // The worker turns the posted main-script Blob into a URL and imports it: point it at the file.
  const redirect = `URL.createObjectURL = () => ${JSON.stringify(mainPath)}; URL.revokeObjectURL = () => {};\n`;
  writeOnce(workerPath, WORKER_PRELUDE + redirect + workerScript);
  return workerPath;
}

export function threadsSupported(): boolean {
  return typeof SharedArrayBuffer === 'function' && typeof Atomics === 'object';
}

/**
 * Runs `init` (which must end in `tf.setBackend('wasm')`) with the Node patches for `threads`
 * threads in place; restores the globals afterwards whatever happens.
 */
export async function withThreadedWasm<T>(threads: number, init: () => Promise<T>): Promise<T> {
  const OriginalBlob = globalThis.Blob;
  // tfjs-wasm caps its pool at half of emscripten's core count, which Node answers with
  // os.cpus().length: report twice the wanted threads while the backend initialises.
  const originalCpus = os.cpus;
  os.cpus = () => {
    const real = originalCpus();
    const first = real[0];
    return first ? Array.from({ length: 2 * threads }, () => first) : real;
  };
  const originalCreate = URL.createObjectURL;
  let mainScript: string | undefined;
  tf.env().set('WASM_HAS_MULTITHREAD_SUPPORT', true);
  // The main-script Blob goes straight into the factory config (and from there to the workers),
  // so it is captured when constructed; the worker Blob comes next, through createObjectURL.
  globalThis.Blob = class extends RecordingBlob {
    constructor(parts?: Array<string>, options?: ConstructorParameters<typeof Blob>[1]) {
      super(parts, options);
      if (this.recorded.startsWith('var WasmBackendModuleThreadedSimd')) mainScript = this.recorded;
    }
  } as unknown as typeof Blob;
  URL.createObjectURL = (obj: Blob | MediaSource): string => {
    if (!(obj instanceof RecordingBlob) || mainScript === undefined) return originalCreate(obj as Blob);
    return writeScripts(mainScript, obj.recorded);
  };
  // Workers inherit the parent's execArgv by default (--import tsx, --input-type, ...), which the
  // plain CommonJS worker script neither needs nor always tolerates.
  const OriginalWorker = workerThreads.Worker;
  workerThreads.Worker = class extends OriginalWorker {
    constructor(filename: string | URL, options: workerThreads.WorkerOptions = {}) {
      super(filename, { ...options, execArgv: [] });
    }
  };
  try {
    return await init();
  } finally {
    workerThreads.Worker = OriginalWorker;
    globalThis.Blob = OriginalBlob;
    URL.createObjectURL = originalCreate;
    os.cpus = originalCpus;
  }
}

interface PThreadLike {
  unusedWorkers: Array<{ unref(): void }>;
  runningWorkers: Array<{ unref(): void }>;
}

/** Lets the process exit although the wasm thread pool's workers are still alive. */
export function unrefWasmWorkers(): void {
  const backend = tf.backend() as unknown as { wasm?: { PThread?: PThreadLike } };
  const pthread = backend.wasm?.PThread;
  if (!pthread) return;
  for (const w of [...pthread.unusedWorkers, ...pthread.runningWorkers]) w.unref();
}
