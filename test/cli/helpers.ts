// A real daemon in this process for end-to-end tests: port 0 (or a given port, to restart
// on the same address), state in a temp dir, the shared datasets as data dir.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { type Daemon, startDaemon } from '../../server/daemon/daemon.js';
import { SHARED_DATASETS } from '../helpers/paths.js';

export const FIXTURES = path.join(path.dirname(fileURLToPath(import.meta.url)), 'fixtures');

export interface TestDaemon {
  daemon: Daemon;
  addr: string;
  port: number;
  stateDir: string;
  /** Stops the daemon; keeps the state dir (for restarts). */
  stop(): Promise<void>;
  /** Stops the daemon and removes the state dir. */
  close(): Promise<void>;
}

export interface TestDaemonOptions {
  port?: number;
  stateDir?: string;
  token?: string;
  tls?: boolean;
  maxConcurrentRuns?: number;
  autoResume?: boolean;
}

export async function startTestDaemon(o: TestDaemonOptions = {}): Promise<TestDaemon> {
  const stateDir = o.stateDir ?? fs.mkdtempSync(path.join(os.tmpdir(), 'pretext-cli-test-'));
  const daemon = await startDaemon({
    listen: `127.0.0.1:${o.port ?? 0}`,
    stateDir,
    dataDir: SHARED_DATASETS,
    allowDownload: false,
    quiet: true,
    token: o.token,
    maxConcurrentRuns: o.maxConcurrentRuns ?? 1,
    autoResume: o.autoResume ?? true,
    stopGraceMs: 2000,
    ...(o.tls
      ? {
          tlsCert: fs.readFileSync(path.join(FIXTURES, 'server-cert.pem'), 'utf8'),
          tlsKey: fs.readFileSync(path.join(FIXTURES, 'server-key.pem'), 'utf8'),
        }
      : {}),
  });
  let stopped = false;
  const stop = async () => {
    if (stopped) return;
    stopped = true;
    await daemon.close();
  };
  return {
    daemon,
    addr: daemon.address,
    port: daemon.port,
    stateDir,
    stop,
    close: async () => {
      await stop();
      fs.rmSync(stateDir, { recursive: true, force: true });
    },
  };
}

/** Flags of a tiny real pretext run (seconds on a CPU). */
export const TINY_PRETEXT = [
  '--method',
  'rotation',
  '--dataset',
  'cifar10',
  '--unlabeled-limit',
  '256',
  '--depth',
  '8',
  '--epochs',
  '2',
  '--batch-size',
  '32',
  '--max-steps-per-epoch',
  '3',
];

/** Waits until `check` returns a value that is not undefined. */
export async function waitFor<T>(
  check: () => T | undefined | Promise<T | undefined>,
  timeoutMs = 60_000,
  what = 'condition',
): Promise<T> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const v = await check();
    if (v !== undefined) return v;
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}
