// Starts an in-process pretextd on port 0 in a temporary state dir, with a real generated
// grpc-js client; `stop` closes both and fails the test if a worker process leaked.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import * as grpc from '@grpc/grpc-js';
import { PretextServiceClient } from '../../gen/ts/pretext/v1/service.js';
import { type Daemon, type DaemonOptions, startDaemon } from '../../server/daemon/daemon.js';
import { bearer, type RpcHelpers, rpcHelpers } from './client.js';
import { REPO_ROOT, SHARED_DATASETS } from './paths.js';

export const TINY_WORKER = path.join(REPO_ROOT, 'test/fixtures/tiny-worker.ts');

export interface TestDaemon extends RpcHelpers {
  daemon: Daemon;
  client: PretextServiceClient;
  stateDir: string;
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
  const metadata = bearer(options.token);
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
    ...rpcHelpers(
      () => client,
      metadata,
      () => {
        for (const p of daemon.workerPids()) pids.add(p);
        for (const p of daemon.spareWorkerPids()) pids.add(p);
      },
    ),
    async restart(extra = {}) {
      client.close();
      await daemon.close();
      daemon = await startDaemon({ ...options, ...extra, stateDir });
      client = new PretextServiceClient(daemon.address, grpc.credentials.createInsecure());
    },
    async stop() {
      client.close();
      await daemon.close();
      // Every worker the daemon started, spares included, must be gone once it has closed.
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
