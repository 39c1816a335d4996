// Spare workers: a run takes a worker that has already booted (the same process, no new fork),
// a replacement starts behind it, a spare that died is never handed out, and close() leaves no
// idle worker alive.
import assert from 'node:assert/strict';
import path from 'node:path';
import { test } from 'node:test';
import { WorkerLauncher } from '../../server/daemon/runs/worker-launcher.js';
import { type WorkerOutcome, WorkerProcess } from '../../server/daemon/runs/worker-process.js';
import type { JobSpec } from '../../server/shared/worker-protocol.js';
import { REPO_ROOT } from '../helpers/paths.js';

const SLEEP_WORKER = path.join(REPO_ROOT, 'bench/fixtures/sleep-worker.ts');
const env = { ...process.env, PRETEXT_SLEEP_MS: '50' };
const job: JobSpec = {
  runId: 'r1',
  kind: 'pretext',
  method: 'rotation',
  config: {} as JobSpec['config'],
  runDir: '/nonexistent',
  dataDir: '/nonexistent',
  allowDownload: false,
  backend: 'cpu',
  seed: 1,
  resume: false,
};

async function until(what: string, ok: () => boolean, ms = 30_000): Promise<void> {
  const end = Date.now() + ms;
  while (!ok()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

function runOn(launcher: WorkerLauncher): { worker: WorkerProcess; outcome: Promise<WorkerOutcome> } {
  let worker!: WorkerProcess;
  const outcome = new Promise<WorkerOutcome>((resolve) => {
    worker = new WorkerProcess(launcher, job, { onMessage() {}, onOutput() {}, onExit: resolve });
  });
  return { worker, outcome };
}

test('a run takes the ready spare, and a new spare starts behind it', async () => {
  const launcher = new WorkerLauncher(SLEEP_WORKER, env, 1);
  try {
    await until('the spare to be ready', () => launcher.readyPids().length === 1);
    const [sparePid] = launcher.readyPids();
    const t0 = performance.now();
    const { worker, outcome } = runOn(launcher);
    assert.equal(worker.pid, sparePid, 'the run reuses the spare process');
    const o = await outcome;
    assert.equal(o.type, 'done');
    // A 50 ms job on a booted worker: no Node/tsx start-up in the run's time.
    const ms = performance.now() - t0;
    assert.ok(ms < 1_500, `a warm run took ${ms.toFixed(0)} ms`);
    await until('the replacement spare', () => launcher.readyPids().length === 1);
    assert.notEqual(launcher.readyPids()[0], sparePid);
  } finally {
    await launcher.close();
  }
});

test('a spare that died is not handed out; the run gets a fresh fork', async () => {
  const launcher = new WorkerLauncher(SLEEP_WORKER, env, 1);
  try {
    await until('the spare to be ready', () => launcher.readyPids().length === 1);
    const [dead] = launcher.readyPids();
    process.kill(dead!, 'SIGKILL');
    await until('the dead spare to be dropped', () => launcher.idleCount === 0);
    const { worker, outcome } = runOn(launcher);
    assert.notEqual(worker.pid, dead);
    assert.equal((await outcome).type, 'done');
  } finally {
    await launcher.close();
  }
});

test('close() kills idle spares, and no spares means a fork per run', async () => {
  const launcher = new WorkerLauncher(SLEEP_WORKER, env, 2);
  await until('two ready spares', () => launcher.readyPids().length === 2);
  const pids = launcher.readyPids();
  await launcher.close();
  await until('the spares to exit', () => pids.every((p) => !alive(p)));
  assert.equal(launcher.idleCount, 0);

  const cold = new WorkerLauncher(SLEEP_WORKER, env, 0);
  const { outcome } = runOn(cold);
  assert.equal((await outcome).type, 'done');
  assert.equal(cold.idleCount, 0, 'spares 0 keeps none');
  await cold.close();
});
