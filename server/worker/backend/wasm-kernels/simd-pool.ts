// pretext's own SIMD kernels for the wasm backend (native/wasm/kernels.c, built into gen/wasm/),
// instantiated on tfjs-wasm's memory so that they read and write its tensors in place. Under
// tfjs' threaded build the memory is shared, and (threads − 1) worker threads instantiate the
// same module on it: a job's tasks are claimed from one counter by the main thread and the
// workers, and the main thread waits (Atomics.wait) until all are done.
import fs from 'node:fs';
import { Worker } from 'node:worker_threads';
import type * as tf from '@tensorflow/tfjs';
import type { WasmBackendLike } from './util.js';

export enum JobKind {
  ConvFilterGrad = 1,
  BnForwardSums = 2,
  BnForwardApply = 3,
  BnBackwardSums = 4,
  BnBackwardApply = 5,
  ConvInputGrad = 6,
  ConvForward = 7,
}

/** The Job struct of kernels.c: kind, tasks, next, done, then 28 int32 arguments. */
const JOB = { kind: 0, tasks: 1, next: 2, done: 3, args: 4, words: 32 } as const;
const MAX_ARGS = JOB.words - JOB.args;

interface KernelExports {
  run_job(job: number): void;
  sum_parts_f32(out: number, parts: number, count: number, len: number): void;
  sum_parts_f64(out: number, parts: number, count: number, len: number): void;
  transpose_filter(dst: number, src: number, taps: number, c: number, o: number): void;
}

// The WebAssembly API (the project's TypeScript libs declare none): what this file uses.
interface WasmMemory {
  readonly buffer: ArrayBufferLike;
}
const WebAssemblyApi = (
  globalThis as unknown as {
    WebAssembly: {
      Module: new (bytes: Uint8Array) => object;
      Instance: new (module: object, imports: object) => { exports: unknown };
    };
  }
).WebAssembly;

interface EmscriptenModule {
  wasmMemory?: WasmMemory;
  asm?: { memory?: WasmMemory };
  _malloc(bytes: number): number;
  _free(ptr: number): void;
}

// A task that traps (a wasm RuntimeError) never counts as done: the worker counts it as failed
// instead and wakes the main thread, which then fails the call rather than wait forever.
const WORKER_SOURCE = `
const { workerData } = require('node:worker_threads');
const { module, memory, generationAt, jobAt, seen: start } = workerData;
const run = new WebAssembly.Instance(module, { env: { memory } }).exports.run_job;
const control = new Int32Array(memory.buffer, generationAt, 2);
const job = new Int32Array(memory.buffer, jobAt, ${JOB.words});
let seen = start;
for (;;) {
  Atomics.wait(control, 0, seen);
  seen = Atomics.load(control, 0);
  try {
    run(jobAt);
  } catch {
    Atomics.add(control, 1, 1);
    Atomics.notify(job, ${JOB.done});
  }
}
`;

function wasmFile(shared: boolean): URL {
  return new URL(`../../../../gen/wasm/pretext-kernels${shared ? '-shared' : ''}.wasm`, import.meta.url);
}

export class SimdPool {
  readonly exports: KernelExports;
  private readonly memory: WasmMemory;
  private readonly shared: boolean;
  /** Byte offsets in tfjs' heap: the generation and failed-task words (16 bytes), then the Job. */
  private readonly generationAt: number;
  private readonly jobAt: number;
  private scratchAt = 0;
  private scratchBytes = 0;
  private readonly workers: Worker[] = [];

  constructor(
    readonly owner: EmscriptenModule,
    threads: number,
  ) {
    const emscripten = owner;
    const memory = emscripten.wasmMemory ?? emscripten.asm?.memory;
    if (!memory) throw new Error('tfjs-wasm exposes no memory');
    this.memory = memory;
    this.shared = typeof SharedArrayBuffer === 'function' && memory.buffer instanceof SharedArrayBuffer;
    const module = new WebAssemblyApi.Module(fs.readFileSync(wasmFile(this.shared)));
    this.exports = new WebAssemblyApi.Instance(module, { env: { memory } })
      .exports as unknown as KernelExports;
    this.generationAt = emscripten._malloc(16 + 4 * JOB.words);
    this.jobAt = this.generationAt + 16;
    this.words()[(this.generationAt >> 2) + 1] = 0; // failed tasks (malloc does not zero)
    if (!this.shared) return;
    for (let i = 1; i < threads; i++) {
      const worker = new Worker(WORKER_SOURCE, {
        eval: true,
        execArgv: [],
        workerData: {
          module,
          memory,
          generationAt: this.generationAt,
          jobAt: this.jobAt,
          seen: this.words()[this.generationAt >> 2],
        },
      });
      // Idle workers wait in Atomics.wait: they must not keep the process alive.
      worker.unref();
      this.workers.push(worker);
    }
  }

  /** Stops the workers (a new tfjs-wasm instance needs a new pool). */
  close(): void {
    for (const w of this.workers) void w.terminate();
    this.workers.length = 0;
  }

  get threads(): number {
    return 1 + this.workers.length;
  }

  /** The heap's current buffer (growth replaces it). */
  memoryBuffer(): ArrayBufferLike {
    return this.memory.buffer;
  }

  /** A view of the whole heap: taken per use, as growth replaces the buffer. */
  private words(): Int32Array {
    return new Int32Array(this.memory.buffer);
  }

  /** A scratch buffer of at least `bytes` (16-aligned), valid until the next call. */
  scratch(bytes: number): number {
    if (bytes > this.scratchBytes) {
      if (this.scratchAt) this.owner._free(this.scratchAt);
      this.scratchBytes = Math.max(bytes, 2 * this.scratchBytes);
      this.scratchAt = this.owner._malloc(this.scratchBytes + 16);
      if (!this.scratchAt)
        throw new Error(`wasm kernels: cannot allocate ${this.scratchBytes} bytes of scratch`);
    }
    return (this.scratchAt + 15) & ~15;
  }

  /** Jobs run, by kind: tests prove with it that a shape took this path. */
  readonly jobs = new Map<JobKind, number>();

  /** Runs `tasks` tasks of one job on every thread and returns when all are done. */
  run(kind: JobKind, tasks: number, args: number[]): void {
    this.jobs.set(kind, (this.jobs.get(kind) ?? 0) + 1);
    if (args.length > MAX_ARGS)
      throw new Error(`wasm kernels: ${args.length} arguments, at most ${MAX_ARGS}`);
    const w = this.words();
    const job = this.jobAt >> 2;
    w[job + JOB.kind] = kind;
    w[job + JOB.tasks] = tasks;
    for (let i = 0; i < args.length; i++) w[job + JOB.args + i] = args[i]!;
    Atomics.store(w, job + JOB.done, 0);
    // The claim counter last: a task claimed below `tasks` sees every word above.
    Atomics.store(w, job + JOB.next, 0);
    if (this.workers.length > 0) {
      Atomics.add(w, this.generationAt >> 2, 1);
      Atomics.notify(w, this.generationAt >> 2);
    }
    const failedAt = (this.generationAt >> 2) + 1;
    // A trap ends one task; claiming again goes on with the rest, so that every task ends up
    // done or failed (workers count theirs in the failed word).
    let error: unknown;
    let mine = 0;
    for (;;) {
      try {
        this.exports.run_job(this.jobAt);
        break;
      } catch (err) {
        error ??= err;
        mine++;
      }
    }
    let failed = mine;
    if (this.shared)
      for (;;) {
        failed = mine + Atomics.load(w, failedAt);
        const done = Atomics.load(w, job + JOB.done);
        if (done + failed >= tasks) break;
        Atomics.wait(w, job + JOB.done, done, 100);
      }
    if (failed === 0) return;
    Atomics.store(w, failedAt, 0);
    throw jobError(kind, error);
  }
}

function jobError(kind: JobKind, cause: unknown): Error {
  const why = cause instanceof Error ? cause.message : 'in a worker thread';
  return new Error(`pretext wasm kernel (job ${kind}) failed: ${why}`);
}

let pool: SimdPool | undefined;
let poolFailed = false;
let poolThreads = 1;

const enabled = process.env.PRETEXT_WASM_SIMD !== '0';

/** Whether pretext's SIMD kernels may run: PRETEXT_WASM_SIMD=0 (read once) turns them off. */
export function simdEnabled(): boolean {
  return enabled;
}

/** The threads the pool uses (tfjs-wasm's own count; set when the backend starts). */
export function setSimdThreads(threads: number): void {
  poolThreads = Math.max(1, threads);
}

/**
 * The pool on the active wasm backend's memory, created on first use; undefined where the module
 * cannot load (callers then keep their JS or tfjs kernels). PRETEXT_WASM_SIMD=0 turns it off.
 */
export function simdPool(backend: WasmBackendLike): SimdPool | undefined {
  if (poolFailed || !simdEnabled()) return undefined;
  const emscripten = (backend as unknown as { wasm?: EmscriptenModule }).wasm;
  if (!emscripten) return undefined;
  if (pool?.owner === emscripten) return pool;
  pool?.close();
  try {
    pool = new SimdPool(emscripten, poolThreads);
  } catch (err) {
    poolFailed = true;
    pool = undefined;
    process.emitWarning(
      `pretext wasm kernels unavailable: ${err instanceof Error ? err.message : String(err)}`,
    );
  }
  return pool;
}

/** Stops the pool's workers; the next kernel call starts a new pool (with setSimdThreads' count). */
export function closeSimdPool(): void {
  pool?.close();
  pool = undefined;
}

/** The current pool, if any (for tests and diagnostics). */
export function currentSimdPool(): SimdPool | undefined {
  return pool;
}

/** A tensor's byte offset in the wasm heap. */
export function heapOffset(backend: WasmBackendLike, info: tf.TensorInfo): number {
  return backend.typedArrayFromHeap(info).byteOffset;
}
