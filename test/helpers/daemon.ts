// Starts an in-process pretextd on port 0 in a temporary state dir, with a real generated
// grpc-js client; `stop` closes both and fails the test if a worker process leaked.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import * as grpc from '@grpc/grpc-js';
import type { RunEvent } from '../../gen/ts/pretext/v1/event.js';
import { type Run, RunState } from '../../gen/ts/pretext/v1/run.js';
import * as svc from '../../gen/ts/pretext/v1/service.js';
import { PretextServiceClient, type StreamMetricsRequest } from '../../gen/ts/pretext/v1/service.js';
import { type Daemon, type DaemonOptions, startDaemon } from '../../server/daemon/daemon.js';
import { REPO_ROOT, SHARED_DATASETS } from './paths.js';

export const TINY_WORKER = path.join(REPO_ROOT, 'test/fixtures/tiny-worker.ts');

export interface TestDaemon {
  daemon: Daemon;
  client: PretextServiceClient;
  stateDir: string;
  /** Calls a unary method and resolves with its response (rejects with the ServiceError). */
  call<Res>(method: string, req: unknown, metadata?: grpc.Metadata): Promise<Res>;
  /** Collects a StreamMetrics stream until it ends (or `until` returns true, then cancels). */
  stream(req: Partial<StreamMetricsRequest>, until?: (e: RunEvent[]) => boolean): Promise<RunEvent[]>;
  /** Polls GetRun until the run reaches one of `states`. */
  waitState(runId: string, states: RunState[], timeoutMs?: number): Promise<Run>;
  /** Restarts the daemon on the same state dir (same port is not guaranteed). */
  restart(extra?: Partial<DaemonOptions>): Promise<void>;
  stop(): Promise<void>;
}

export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

export async function startTestDaemon(opts: Partial<DaemonOptions> = {}): Promise<TestDaemon> {
  const stateDir = opts.stateDir ?? mkdtempSync(path.join(os.tmpdir(), 'pretext-test-'));
  const options: DaemonOptions = {
    listen: '127.0.0.1:0',
    dataDir: SHARED_DATASETS,
    workerEntry: TINY_WORKER,
    allowDownload: false,
    quiet: true,
    stopGraceMs: 5_000,
    ...opts,
    stateDir,
  };
  let daemon = await startDaemon(options);
  const metadata = () => {
    const md = new grpc.Metadata();
    if (options.token) md.set('authorization', `Bearer ${options.token}`);
    return md;
  };
  let client = new PretextServiceClient(daemon.address, grpc.credentials.createInsecure());
  const pids = new Set<number>();

  const t: TestDaemon = {
    get daemon() {
      return daemon;
    },
    get client() {
      return client;
    },
    stateDir,
    call<Res>(method: string, req: unknown, md?: grpc.Metadata) {
      return new Promise<Res>((resolve, reject) => {
        const fn = (client as unknown as Record<string, (...args: unknown[]) => unknown>)[method];
        if (!fn) throw new Error(`no method ${method}`);
        // ts-proto's encoders expect complete messages; fill in defaults like a real client.
        const type = (svc as unknown as Record<string, { fromPartial(o: unknown): unknown }>)[
          `${method[0]!.toUpperCase()}${method.slice(1)}Request`
        ];
        fn.call(
          client,
          type ? type.fromPartial(req) : req,
          md ?? metadata(),
          (err: grpc.ServiceError | null, res: Res) => {
            for (const p of daemon.workerPids()) pids.add(p);
            if (err) reject(err);
            else resolve(res);
          },
        );
      });
    },
    stream(req, until) {
      return new Promise<RunEvent[]>((resolve, reject) => {
        const events: RunEvent[] = [];
        const s = client.streamMetrics(svc.StreamMetricsRequest.fromPartial(req), metadata());
        let done = false;
        s.on('data', (r: { event?: RunEvent }) => {
          if (r.event) events.push(r.event);
          for (const p of daemon.workerPids()) pids.add(p);
          if (!done && until?.(events)) {
            done = true;
            s.cancel();
            resolve(events);
          }
        });
        s.on('end', () => {
          if (!done) resolve(events);
          done = true;
        });
        s.on('error', (err: grpc.ServiceError) => {
          if (done && err.code === grpc.status.CANCELLED) return;
          done = true;
          reject(err);
        });
      });
    },
    async waitState(runId, states, timeoutMs = 120_000) {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const { run } = await t.call<{ run: Run }>('getRun', { runId });
        if (states.includes(run.state)) return run;
        if (Date.now() > deadline) {
          throw new Error(
            `run ${runId} is ${RunState[run.state]} after ${timeoutMs} ms (error: ${run.error})`,
          );
        }
        await new Promise((r) => setTimeout(r, 100));
      }
    },
    async restart(extra = {}) {
      client.close();
      await daemon.close();
      daemon = await startDaemon({ ...options, ...extra, stateDir });
      client = new PretextServiceClient(daemon.address, grpc.credentials.createInsecure());
    },
    async stop() {
      client.close();
      await daemon.close();
      // Every worker the daemon started must be gone once it has closed.
      const leaked = [...pids].filter(isAlive);
      rmSync(stateDir, { recursive: true, force: true });
      assert.deepEqual(leaked, [], `worker processes leaked: ${leaked.join(', ')}`);
    },
  };
  return t;
}

/** A small pretext request the tiny worker trains in well under a second per epoch. */
export function tinyPretext(over: { epochs?: number; steps?: number; seed?: number; limit?: number } = {}) {
  return {
    config: {
      method: 'rotation',
      dataset: 'cifar10',
      unlabeledLimit: over.limit ?? 64,
      depth: 8,
      training: {
        epochs: over.epochs ?? 2,
        batchSize: 16,
        maxStepsPerEpoch: over.steps ?? 3,
        seed: over.seed ?? 1,
      },
    },
    name: 'tiny',
  };
}
