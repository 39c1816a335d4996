// The disk: the free-space guard (refuses new runs with FAILED_PRECONDITION and the reason,
// lets running runs go on, holds queued ones, says so in GetServerInfo, `pretext info` and the
// TUI header, starts again once space is back) and retention (`pretext gc --dry-run`, then gc).
// The filling test puts the state dir on a real 64 MiB tmpfs when this process may mount one.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import * as grpc from '@grpc/grpc-js';
import Database from 'better-sqlite3';
import { render } from 'ink-testing-library';
import { createElement } from 'react';
import { type Run, RunState } from '../../gen/ts/pretext/v1/run.js';
import type { CollectGarbageResponse, GetServerInfoResponse } from '../../gen/ts/pretext/v1/service.js';
import { main as cli } from '../../cli/main.js';
import { bufferIo } from '../../cli/io.js';
import { Header } from '../../client-tui/components/Header.js';
import { initialState, reduce } from '../../client-tui/state.js';
import { DB_FILE } from '../../server/daemon/runs/db.js';
import { evenlySpaced } from '../../server/daemon/disk/gc.js';
import { parseBytes } from '../../server/shared/contract/sizes.js';
import { startTestDaemon, tinyPretext } from '../helpers/daemon.js';

const LOW = /^low disk space: state dir .* has [\d.]+ \w+ free, .*below --min-free-disk/;

async function pretextCli(addr: string, ...args: string[]) {
  const io = bufferIo({});
  const code = await cli(['--addr', addr, ...args], io);
  return { code, out: io.stdout(), err: io.stderr() };
}

test('sizes: --min-free-disk accepts 5GiB, 500MB, 0 and refuses nonsense', () => {
  assert.equal(parseBytes('5GiB', '--min-free-disk'), 5 * 2 ** 30);
  assert.equal(parseBytes('500MB', '--min-free-disk'), 500e6);
  assert.equal(parseBytes('0', '--min-free-disk'), 0);
  assert.throws(() => parseBytes('lots', '--min-free-disk'), /--min-free-disk "lots" is not a size/);
  // A unit named like an Object.prototype member is no unit.
  assert.throws(() => parseBytes('5constructor', '--min-free-disk'), /is not a size/);
  assert.throws(() => parseBytes('99999TiB', '--min-free-disk'), /too large/);
  assert.deepEqual(evenlySpaced(10, 4), [0, 3, 6, 9]);
  assert.deepEqual(evenlySpaced(3, 5), [0, 1, 2]);
});

test('below the threshold: new runs are refused with the reason, info, CLI and TUI header say so', async () => {
  // More free space than any disk has: the guard is down from the start.
  const d = await startTestDaemon({ minFreeBytes: 2 ** 50 });
  try {
    for (const [method, req] of [
      ['startPretext', tinyPretext()],
      ['startDownstream', { config: { dataset: 'cifar10', nLabels: 100, training: { epochs: 1 } } }],
      ['startStudy', { config: { preset: 'demo' } }],
    ] as const) {
      await assert.rejects(d.call(method, req), (err: grpc.ServiceError) => {
        assert.equal(err.code, grpc.status.FAILED_PRECONDITION, `${method}: ${err.details}`);
        assert.match(err.details, LOW);
        return true;
      });
    }
    const info = await d.call<GetServerInfoResponse>('getServerInfo', {});
    assert.equal(info.disk?.startingPaused, true);
    assert.match(info.disk?.reason ?? '', LOW);
    assert.equal(info.disk?.minFreeBytes, 2 ** 50);
    assert.ok((info.disk?.stateDirFreeBytes ?? 0) > 0);
    assert.equal((await d.call<{ runs: Run[] }>('listRuns', {})).runs.length, 0);

    const shown = await pretextCli(d.daemon.address, 'info');
    assert.equal(shown.code, 0, shown.err);
    assert.match(shown.out, /disk guard\s+NOT STARTING RUNS/);
    assert.match(shown.out, /warning: low disk space: state dir/);

    const dash = reduce(initialState, { type: 'serverInfo', warning: info.disk?.reason ?? '' });
    const frame = render(
      createElement(Header, {
        addr: d.daemon.address,
        link: { state: 'live', attempt: 0 },
        total: 0,
        running: 0,
        queued: 0,
        width: 200,
        warning: dash.daemonWarning,
      }),
    );
    assert.match(frame.lastFrame() ?? '', /pretext ⚠ low disk space: state dir/);
    frame.unmount();
  } finally {
    await d.stop();
  }
});

test('a filling disk pauses starting (running runs go on, queued ones wait) until space is freed', async (t) => {
  const mountPoint = mkdtempSync(path.join(os.tmpdir(), 'pretext-tmpfs-'));
  try {
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=64m', 'tmpfs', mountPoint], { stdio: 'ignore' });
  } catch {
    rmSync(mountPoint, { recursive: true, force: true });
    t.skip('mount -t tmpfs is not permitted here; the threshold test above covers the refusal');
    return;
  }
  t.after(() => {
    execFileSync('umount', ['-l', mountPoint]);
    rmSync(mountPoint, { recursive: true, force: true });
  });
  const stateDir = path.join(mountPoint, 'state');
  const d = await startTestDaemon({ stateDir, minFreeBytes: 32 * 2 ** 20, diskCheckIntervalMs: 100 });
  try {
    const { run } = await d.call<{ run: Run }>('startPretext', tinyPretext({ epochs: 500, steps: 5 }));
    const { run: waiting } = await d.call<{ run: Run }>('startPretext', tinyPretext({ epochs: 1, seed: 5 }));
    await d.stream({ runId: run.id }, (ev) => ev.some((e) => e.payload?.$case === 'step'));

    // Fill the disk below the threshold.
    const filler = path.join(mountPoint, 'filler');
    writeFileSync(filler, Buffer.alloc(40 * 2 ** 20));
    await assert.rejects(d.call('startPretext', tinyPretext()), (err: grpc.ServiceError) => {
      assert.equal(err.code, grpc.status.FAILED_PRECONDITION);
      assert.match(err.details, LOW);
      return true;
    });
    await assert.rejects(d.call('evaluate', { config: { targetRunId: run.id } }), /FAILED_PRECONDITION/);
    // The running run goes on training while starting is paused.
    const info = await d.call<GetServerInfoResponse>('getServerInfo', {});
    assert.equal(info.disk?.startingPaused, true);
    const seen = (await d.call<{ run: Run }>('getRun', { runId: run.id })).run.lastSeq;
    await d.stream({ runId: run.id, fromSeq: seen + 1 }, (ev) => ev.some((e) => e.payload?.$case === 'step'));
    // Its slot frees up, yet the queued run waits.
    await d.call('cancelRun', { runId: run.id });
    await d.waitState(run.id, [RunState.RUN_STATE_CANCELLED]);
    await new Promise((r) => setTimeout(r, 500));
    assert.equal(
      (await d.call<{ run: Run }>('getRun', { runId: waiting.id })).run.state,
      RunState.RUN_STATE_QUEUED,
    );

    // Space back: the guard notices on its own and the queue moves.
    rmSync(filler);
    const done = await d.waitState(
      waiting.id,
      [RunState.RUN_STATE_SUCCEEDED, RunState.RUN_STATE_FAILED],
      60_000,
    );
    assert.equal(done.state, RunState.RUN_STATE_SUCCEEDED, done.error);
    assert.equal((await d.call<GetServerInfoResponse>('getServerInfo', {})).disk?.startingPaused, false);
  } finally {
    await d.stop();
  }
});

test('gc --dry-run lists old last checkpoints and surplus step events with bytes; gc removes exactly those', async () => {
  const d = await startTestDaemon({ workerEnv: { PRETEXT_TINY_CHECKPOINTS: '1' } });
  try {
    const { run } = await d.call<{ run: Run }>('startPretext', tinyPretext({ epochs: 3, steps: 4 }));
    const { run: recent } = await d.call<{ run: Run }>(
      'startPretext',
      tinyPretext({ epochs: 2, steps: 2, seed: 3 }),
    );
    await d.waitState(run.id, [RunState.RUN_STATE_SUCCEEDED]);
    await d.waitState(recent.id, [RunState.RUN_STATE_SUCCEEDED]);
    const ckpt = (id: string, name: string) => path.join(d.stateDir, 'runs', id, 'checkpoints', name);
    assert.ok(existsSync(ckpt(run.id, 'last')) && existsSync(ckpt(run.id, 'best')));

    // The daemon's own policy keeps everything.
    const keep = await pretextCli(d.daemon.address, 'gc', '--dry-run');
    assert.equal(keep.code, 0, keep.err);
    assert.match(keep.out, /retention keeps everything/);

    // The first run ended 31 days ago (its record is moved back in time).
    const db = new Database(path.join(d.stateDir, DB_FILE));
    db.prepare('UPDATE runs SET finished_ms = finished_ms - ? WHERE id = ?').run(31 * 86_400_000, run.id);
    db.close();

    const dry = await pretextCli(
      d.daemon.address,
      'gc',
      '--dry-run',
      '--last-days',
      '30',
      '--step-events',
      '5',
    );
    assert.equal(dry.code, 0, dry.err);
    assert.match(dry.out, new RegExp(`${run.id}\\s+checkpoint\\s+[\\d.]+ KiB\\s+.*checkpoints/last`));
    assert.match(dry.out, new RegExp(`${run.id}\\s+step_events\\s+\\d+ B\\s+7 of 12 step events`));
    assert.ok(
      !new RegExp(`${recent.id}\\s+checkpoint`).test(dry.out),
      'a recent run would lose its last checkpoint',
    );
    assert.match(dry.out, /would remove 2 items, [\d.]+ KiB/);
    // A dry run changes nothing.
    assert.ok(existsSync(ckpt(run.id, 'last')));
    const stepsOf = async (id: string) =>
      (await d.stream({ runId: id, historyOnly: true })).filter((e) => e.payload?.$case === 'step');
    assert.equal((await stepsOf(run.id)).length, 12);

    const res = await d.call<CollectGarbageResponse>('collectGarbage', {
      dryRun: false,
      policy: { lastCheckpointDays: 30, stepEventsPerRun: 5 },
    });
    assert.equal(res.items.length, 2);
    assert.ok(res.bytes > 0);
    assert.ok(!existsSync(ckpt(run.id, 'last')));
    assert.ok(existsSync(path.join(ckpt(run.id, 'best'), 'state.json')), 'best must stay');
    assert.ok(existsSync(ckpt(recent.id, 'last')));
    const { run: after } = await d.call<{ run: Run }>('getRun', { runId: run.id });
    assert.deepEqual(
      after.artifacts.map((a) => a.name),
      ['best'],
    );
    const steps = await stepsOf(run.id);
    assert.equal(steps.length, 5);
    // First and last step survive; epoch events are never thinned.
    const stepNo = steps.map((e) => (e.payload?.$case === 'step' ? e.payload.step.step : -1));
    assert.equal(stepNo[0], 1);
    assert.equal(stepNo[4], 12);
    const history = await d.stream({ runId: run.id, historyOnly: true });
    assert.equal(history.filter((e) => e.payload?.$case === 'epoch').length, 3);
    // The recent run had 4 steps: under the cap, untouched.
    assert.equal((await stepsOf(recent.id)).length, 4);
    // Nothing left to do.
    const again = await pretextCli(d.daemon.address, 'gc', '--last-days', '30', '--step-events', '5');
    assert.match(again.out, /nothing to remove/);
    // Its `last` is gone: asking for it is refused up front, not after a worker started.
    await assert.rejects(
      d.call('startDownstream', {
        config: { pretextRunId: run.id, nLabels: 100, checkpoint: 2, training: { epochs: 1, seed: 1 } },
      }),
      (err: { code: number; details: string }) =>
        err.code === 9 && /no 'last' checkpoint any more/.test(err.details),
    );
    // A downstream run still builds on the kept best checkpoint.
    const { run: ds } = await d.call<{ run: Run }>('startDownstream', {
      config: {
        pretextRunId: run.id,
        dataset: 'cifar10',
        nLabels: 100,
        testLimit: 50,
        training: { epochs: 1, seed: 1 },
      },
    });
    const dsDone = await d.waitState(ds.id, [RunState.RUN_STATE_SUCCEEDED, RunState.RUN_STATE_FAILED]);
    assert.equal(dsDone.state, RunState.RUN_STATE_SUCCEEDED, dsDone.error);
  } finally {
    await d.stop();
  }
});

test('retention configured on the daemon runs by itself at start-up', async () => {
  const d = await startTestDaemon();
  const stateDir = d.stateDir;
  const { run } = await d.call<{ run: Run }>('startPretext', tinyPretext({ epochs: 2, steps: 4 }));
  await d.waitState(run.id, [RunState.RUN_STATE_SUCCEEDED]);
  await d.restart({ retention: { stepEventsPerRun: 3 } });
  try {
    const deadline = Date.now() + 10_000;
    let steps = 8;
    while (steps > 3 && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 100));
      steps = (await d.stream({ runId: run.id, historyOnly: true })).filter(
        (e) => e.payload?.$case === 'step',
      ).length;
    }
    assert.equal(steps, 3);
    const info = await d.call<GetServerInfoResponse>('getServerInfo', {});
    assert.deepEqual(info.retention, { lastCheckpointDays: 0, stepEventsPerRun: 3 });
    assert.equal(info.stateDir, stateDir);
  } finally {
    await d.stop();
  }
});
