// `pretextd backup --out FILE` taken while a run trains and writes checkpoints every few
// hundred milliseconds; the tar is unpacked into a new state dir, every checkpoint in it loads
// whole, and a daemon started there serves the history and trains on the restored checkpoints.
import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import * as tf from '@tensorflow/tfjs';
import { type Run, RunState } from '../../gen/ts/pretext/v1/run.js';
import Database from 'better-sqlite3';
import { DB_FILE, openDb, SCHEMA_VERSION } from '../../server/daemon/runs/db.js';
import { disposeCheckpoint, loadCheckpoint } from '../../server/worker/engine/checkpoint.js';
import { startTestDaemon, tinyPretext } from '../helpers/daemon.js';
import { REPO_ROOT } from '../helpers/paths.js';

const CHECKPOINTS = { PRETEXT_TINY_CHECKPOINTS: '1' };

function pretextdBackup(
  stateDir: string,
  out: string,
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(
      process.execPath,
      [path.join(REPO_ROOT, 'bin/pretextd.js'), 'backup', '--out', out, '--state-dir', stateDir],
      {
        cwd: REPO_ROOT,
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
    child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
    child.on('exit', (code) => resolve({ code, stdout, stderr }));
  });
}

test('a backup taken during a run restores into a state dir that a daemon serves', async (t) => {
  const work = mkdtempSync(path.join(os.tmpdir(), 'pretext-backup-'));
  t.after(() => rmSync(work, { recursive: true, force: true }));
  const d = await startTestDaemon({ workerEnv: CHECKPOINTS });
  let restored: Awaited<ReturnType<typeof startTestDaemon>> | undefined;
  let liveId = '';
  try {
    const { run: done } = await d.call<{ run: Run }>('startPretext', tinyPretext({ epochs: 2, steps: 3 }));
    await d.waitState(done.id, [RunState.RUN_STATE_SUCCEEDED]);
    const { run: live } = await d.call<{ run: Run }>(
      'startPretext',
      tinyPretext({ epochs: 500, steps: 2, seed: 4 }),
    );
    liveId = live.id;
    await d.stream(
      { runId: live.id },
      (ev) => ev.filter((e) => e.payload?.$case === 'checkpoint').length >= 3,
    );

    // Two backups back to back while the run keeps swapping its `last` checkpoint in.
    const out = path.join(work, 'pretext-backup.tar');
    for (const file of [out, `${out}.2`]) {
      const res = await pretextdBackup(d.stateDir, file);
      assert.equal(res.code, 0, res.stderr);
      assert.match(
        res.stdout,
        new RegExp(`written to ${file.replace(/[.]/g, '\\.')}: 2 runs, \\d+ checkpoints`),
      );
    }
    const { run: still } = await d.call<{ run: Run }>('getRun', { runId: live.id });
    assert.equal(still.state, RunState.RUN_STATE_RUNNING, 'the backup disturbed the run');
    const epochAtBackup = still.progress?.epoch ?? 0;

    const members = execFileSync('tar', ['-tf', out]).toString().trim().split('\n');
    assert.ok(members.includes(DB_FILE));
    assert.ok(members.includes('backup.json'));
    assert.ok(
      !members.some((m) => /\.(tmp|old)(\/|$)|\.tmp-\d+$/.test(m)),
      `staging files in the backup: ${members.join(' ')}`,
    );
    for (const id of [done.id, live.id]) {
      for (const name of ['best', 'last']) {
        const files = members.filter((m) => m.startsWith(`runs/${id}/checkpoints/${name}/`)).sort();
        assert.deepEqual(
          files.map((f) => path.basename(f)),
          ['model.json', 'state.bin', 'state.json', 'weights.bin'],
          `${id} ${name}`,
        );
      }
    }

    // Restore = unpack into an empty folder.
    const stateDir = path.join(work, 'restored');
    mkdirSync(stateDir);
    execFileSync('tar', ['-xf', out, '-C', stateDir]);
    const manifest = JSON.parse(readFileSync(path.join(stateDir, 'backup.json'), 'utf8')) as {
      runs: number;
      checkpoints: number;
    };
    assert.equal(manifest.runs, 2);
    assert.equal(manifest.checkpoints, 4);
    // Every checkpoint is one whole generation: it loads, and its sizes agree with its manifest.
    await tf.setBackend('cpu');
    for (const id of [done.id, live.id]) {
      for (const name of ['best', 'last']) {
        const c = await loadCheckpoint<{ epoch: number }>(
          path.join(stateDir, 'runs', id, 'checkpoints', name),
        );
        assert.ok(c.state.epoch >= 1);
        assert.ok(c.weights.length > 0 && c.optimizer.length > 0);
        disposeCheckpoint(c);
      }
    }

    restored = await startTestDaemon({ stateDir, workerEnv: CHECKPOINTS, autoResume: false });
    const { run: a } = await restored.call<{ run: Run }>('getRun', { runId: done.id });
    assert.equal(a.state, RunState.RUN_STATE_SUCCEEDED);
    assert.deepEqual(
      a.artifacts.map((x) => x.name),
      ['best', 'last'],
    );
    // The run that was training when the snapshot was taken is INTERRUPTED, with its history.
    const { run: b } = await restored.call<{ run: Run }>('getRun', { runId: live.id });
    assert.equal(b.state, RunState.RUN_STATE_INTERRUPTED);
    assert.ok((b.progress?.epoch ?? 0) >= 1 && (b.progress?.epoch ?? 0) <= epochAtBackup);
    const history = await restored.stream({ runId: live.id, historyOnly: true });
    assert.ok(history.filter((e) => e.payload?.$case === 'checkpoint').length >= 3);
    // It resumes there, and a downstream run trains on the restored pretext checkpoint.
    await restored.call('resumeRun', { runId: live.id });
    await restored.waitState(live.id, [RunState.RUN_STATE_RUNNING]);
    await restored.call('cancelRun', { runId: live.id });
    await restored.waitState(live.id, [RunState.RUN_STATE_CANCELLED]);
    const { run: ds } = await restored.call<{ run: Run }>('startDownstream', {
      config: {
        pretextRunId: done.id,
        dataset: 'cifar10',
        nLabels: 100,
        testLimit: 50,
        training: { epochs: 1, seed: 1 },
      },
    });
    const dsDone = await restored.waitState(ds.id, [RunState.RUN_STATE_SUCCEEDED, RunState.RUN_STATE_FAILED]);
    assert.equal(dsDone.state, RunState.RUN_STATE_SUCCEEDED, dsDone.error);
    assert.deepEqual(readdirSync(path.join(stateDir, 'runs')).sort(), [done.id, live.id, ds.id].sort());
  } finally {
    await restored?.stop();
    if (liveId) await d.call('cancelRun', { runId: liveId }).catch(() => {});
    await d.stop();
  }
});

test('backup refuses a state dir without a database, and a newer one', async () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'pretext-nobackup-'));
  try {
    const res = await pretextdBackup(dir, path.join(dir, 'x.tar'));
    assert.equal(res.code, 2);
    assert.match(res.stderr, /cannot open .*pretext\.sqlite.*is --state-dir right/);
    assert.deepEqual(readdirSync(dir), [], 'a failed backup left files behind');
    openDb(dir).close();
    const db = new Database(path.join(dir, DB_FILE));
    db.pragma(`user_version = ${SCHEMA_VERSION + 1}`);
    db.close();
    const newer = await pretextdBackup(dir, path.join(dir, 'x.tar'));
    assert.equal(newer.code, 2);
    assert.match(newer.stderr, /newer than this pretextd understands/);
    assert.ok(!readdirSync(dir).some((f) => f.endsWith('.tar') || f.startsWith('.pretext-backup-')));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
