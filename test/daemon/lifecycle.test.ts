// Shutdown, restart and crash recovery of pretextd.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import * as grpc from '@grpc/grpc-js';
import type { RunEvent } from '../../gen/ts/pretext/v1/event.js';
import { type Run, RunState } from '../../gen/ts/pretext/v1/run.js';
import { PretextServiceClient, StartPretextRequest } from '../../gen/ts/pretext/v1/service.js';
import { isAlive, startTestDaemon, TINY_WORKER, tinyPretext } from '../helpers/daemon.js';
import { REPO_ROOT, SHARED_DATASETS } from '../helpers/paths.js';
import { workerPidsOf } from '../helpers/daemon-process.js';

const TERMINAL = [RunState.RUN_STATE_SUCCEEDED, RunState.RUN_STATE_FAILED, RunState.RUN_STATE_CANCELLED];

test('graceful shutdown ends open streams, interrupts the run, and a restart resumes it', async () => {
  const d = await startTestDaemon();
  const { run } = await d.call<{ run: Run }>('startPretext', tinyPretext({ epochs: 500, steps: 5 }));
  await d.stream({ runId: run.id }, (ev) => ev.some((e) => e.payload?.$case === 'step'));
  // Two open streams (one run, all runs) must not keep the daemon from closing.
  const open = [d.stream({ runId: run.id }), d.stream({})].map((p) =>
    p.then(
      () => 'ended',
      (err: grpc.ServiceError) => grpc.status[err.code],
    ),
  );
  const pids = d.daemon.workerPids();
  assert.equal(pids.length, 1);
  const t0 = Date.now();
  await d.restart({ autoResume: false });
  assert.ok(Date.now() - t0 < 15_000, 'shutdown took too long');
  const outcomes = await Promise.all(open);
  for (const o of outcomes) assert.ok(['ended', 'UNAVAILABLE', 'CANCELLED'].includes(o), o);
  assert.ok(!isAlive(pids[0]!), 'the worker outlived the daemon');

  const { run: after } = await d.call<{ run: Run }>('getRun', { runId: run.id });
  assert.equal(after.state, RunState.RUN_STATE_INTERRUPTED);
  assert.match(after.error, /shut down/);
  // Resume it explicitly, then cancel; history stays one continuous log.
  await d.call('resumeRun', { runId: run.id });
  const resumed = await d.waitState(run.id, [RunState.RUN_STATE_RUNNING]);
  assert.equal(resumed.attempts, 2);
  await d.call('cancelRun', { runId: run.id });
  await d.waitState(run.id, TERMINAL);
  const history = await d.stream({ runId: run.id, skipSteps: true });
  const states = history.flatMap((e) => (e.payload?.$case === 'state' ? [e.payload.state.to] : []));
  assert.deepEqual(states, [
    RunState.RUN_STATE_QUEUED,
    RunState.RUN_STATE_RUNNING,
    RunState.RUN_STATE_INTERRUPTED,
    RunState.RUN_STATE_QUEUED,
    RunState.RUN_STATE_RUNNING,
    RunState.RUN_STATE_CANCELLED,
  ]);
  await d.stop();
});

test('after a SIGKILL of the daemon, its runs become INTERRUPTED, the orphan worker exits, and they resume', async (t) => {
  const stateDir = mkdtempSync(path.join(os.tmpdir(), 'pretext-kill-'));
  const child = spawn(
    process.execPath,
    [
      '--import',
      'tsx',
      'server/daemon/main.ts',
      '--listen',
      '127.0.0.1:0',
      '--state-dir',
      stateDir,
      '--data-dir',
      SHARED_DATASETS,
      '--quiet',
    ],
    {
      cwd: REPO_ROOT,
      env: { ...process.env, PRETEXT_WORKER_ENTRY: TINY_WORKER },
      stdio: ['ignore', 'pipe', 'inherit'],
    },
  );
  const address = await new Promise<string>((resolve, reject) => {
    let out = '';
    child.stdout.on('data', (c: Buffer) => {
      out += c.toString();
      const m = /pretextd listening on (\S+)/.exec(out);
      if (m) resolve(m[1]!);
    });
    child.on('exit', (c) => reject(new Error(`pretextd exited with ${c}`)));
  });
  // Whatever fails below, never leave the daemon (and its training worker) running.
  t.after(() => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  });
  const client = new PretextServiceClient(address, grpc.credentials.createInsecure());
  const run = await new Promise<Run>((resolve, reject) =>
    client.startPretext(StartPretextRequest.fromPartial(tinyPretext({ epochs: 500, steps: 5 })), (err, r) =>
      err ? reject(err) : resolve(r.run!),
    ),
  );
  // Wait for a step event so the worker is really training.
  await new Promise<void>((resolve, reject) => {
    const s = client.streamMetrics({ runId: run.id, fromSeq: 0, historyOnly: false, skipSteps: false });
    s.on('data', (r: { event: RunEvent }) => {
      if (r.event.payload?.$case === 'step') {
        s.cancel();
        resolve();
      }
    });
    s.on('error', (e: grpc.ServiceError) => (e.code === grpc.status.CANCELLED ? undefined : reject(e)));
  });
  client.close();
  // (tsx may also run an esbuild service child: only the run's worker and the spare count.)
  const workers = await workerPidsOf(child.pid!, `pretext-worker run ${run.id}`);
  assert.equal(workers.length, 1);
  // The spare worker the daemon keeps booted for the next run.
  const spares = await workerPidsOf(child.pid!, 'pretext-worker spare');
  assert.equal(spares.length, 1, 'one spare worker waits');
  child.kill('SIGKILL');
  await new Promise((r) => child.once('exit', r));
  // The orphaned worker, and the spare, notice their IPC channel closed and exit by themselves.
  const deadline = Date.now() + 10_000;
  const orphans = () => [...workers, ...spares].filter((p) => isAlive(p));
  while (orphans().length && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
  assert.deepEqual(orphans(), [], 'an orphaned worker kept running');

  const d = await startTestDaemon({ stateDir, autoResume: true });
  const resumed = await d.waitState(run.id, [RunState.RUN_STATE_RUNNING]);
  assert.equal(resumed.attempts, 2);
  const history = await d.stream({ runId: run.id, skipSteps: true }, (ev) =>
    ev.some((e) => e.payload?.$case === 'state' && e.payload.state.to === RunState.RUN_STATE_INTERRUPTED),
  );
  const interrupted = history.find(
    (e) => e.payload?.$case === 'state' && e.payload.state.to === RunState.RUN_STATE_INTERRUPTED,
  );
  assert.ok(interrupted);
  await d.call('cancelRun', { runId: run.id });
  await d.waitState(run.id, TERMINAL);
  await d.stop();
});

test('the scheduler runs at most --max-concurrent-runs at once, in FIFO order', async () => {
  const d = await startTestDaemon({ maxConcurrentRuns: 2 });
  try {
    const ids: string[] = [];
    for (let i = 0; i < 3; i++) {
      const { run } = await d.call<{ run: Run }>(
        'startPretext',
        tinyPretext({ epochs: 500, steps: 5, seed: 20 + i }),
      );
      ids.push(run.id);
    }
    await d.waitState(ids[0]!, [RunState.RUN_STATE_RUNNING]);
    await d.waitState(ids[1]!, [RunState.RUN_STATE_RUNNING]);
    const { run: third } = await d.call<{ run: Run }>('getRun', { runId: ids[2] });
    assert.equal(third.state, RunState.RUN_STATE_QUEUED);
    assert.equal(d.daemon.workerPids().length, 2);
    // Freeing a slot starts the next queued run.
    await d.call('cancelRun', { runId: ids[0] });
    await d.waitState(ids[2]!, [RunState.RUN_STATE_RUNNING]);
    for (const id of ids.slice(1)) await d.call('cancelRun', { runId: id });
    for (const id of ids) await d.waitState(id, TERMINAL);
  } finally {
    await d.stop();
  }
});
