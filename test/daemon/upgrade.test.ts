// Upgrades: a state dir written by schema version 2 (test/fixtures/state-v2) is migrated
// forward after a backup copy; a state dir newer than this pretextd is refused.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import Database from 'better-sqlite3';
import type { RunEvent } from '../../gen/ts/pretext/v1/event.js';
import { type Run, RunState, Selection } from '../../gen/ts/pretext/v1/run.js';
import { DB_FILE, openDb, SCHEMA_VERSION } from '../../server/daemon/runs/db.js';
import { startTestDaemon } from '../helpers/daemon.js';
import { REPO_ROOT, SHARED_DATASETS } from '../helpers/paths.js';

const FIXTURE = path.join(REPO_ROOT, 'test/fixtures/state-v2');
const PRETEXT_RUN = 'r-20261130-a5c6c1';
const DOWNSTREAM_RUN = 'r-20261130-fc6ba6';

function fixtureCopy(): string {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'pretext-upgrade-'));
  cpSync(FIXTURE, dir, { recursive: true });
  return dir;
}

function userVersion(file: string): number {
  const db = new Database(file, { readonly: true });
  try {
    return db.pragma('user_version', { simple: true }) as number;
  } finally {
    db.close();
  }
}

test('a schema-2 state dir is backed up, migrated forward, and served with its history', async () => {
  const stateDir = fixtureCopy();
  assert.equal(userVersion(path.join(stateDir, DB_FILE)), 2);
  const d = await startTestDaemon({ stateDir });
  try {
    assert.equal(userVersion(path.join(stateDir, DB_FILE)), SCHEMA_VERSION);
    // The copy taken before migrating is the untouched version-2 database.
    const backup = path.join(stateDir, `${DB_FILE}.v2.bak`);
    assert.ok(existsSync(backup), 'no backup copy before the migration');
    assert.equal(userVersion(backup), 2);
    const old = new Database(backup, { readonly: true });
    assert.equal((old.prepare('SELECT COUNT(*) AS n FROM runs').get() as { n: number }).n, 3);
    old.close();

    const { run } = await d.call<{ run: Run }>('getRun', { runId: PRETEXT_RUN });
    assert.equal(run.state, RunState.RUN_STATE_SUCCEEDED);
    assert.deepEqual(
      run.artifacts.map((a) => a.name),
      ['best', 'last'],
    );
    const { run: ds } = await d.call<{ run: Run }>('getRun', { runId: DOWNSTREAM_RUN });
    assert.equal(ds.parentRunId, PRETEXT_RUN);
    assert.ok(ds.result?.test, 'the downstream result survived');
    // It selected on labeled images outside its budget, as every run then did: schema 5 says so.
    assert.equal(
      ds.config?.$case === 'downstream' && ds.config.downstream.selection,
      Selection.SELECTION_EXTRA_LABELED,
    );
    assert.ok(
      ds.labelsUsed && ds.labelsUsed.extra > 0 && ds.labelsUsed.total > ds.labelsUsed.train,
      JSON.stringify(ds.labelsUsed),
    );
    const history: RunEvent[] = await d.stream({ runId: PRETEXT_RUN, historyOnly: true });
    assert.equal(history.filter((e) => e.payload?.$case === 'epoch').length, 2);
    assert.equal(history.filter((e) => e.payload?.$case === 'step').length, 6);

    // The upgraded registry takes new work, built on the old run's checkpoint.
    const { run: next } = await d.call<{ run: Run }>('startDownstream', {
      config: {
        pretextRunId: PRETEXT_RUN,
        dataset: 'cifar10',
        nLabels: 100,
        testLimit: 50,
        training: { epochs: 1, batchSize: 16, seed: 2 },
      },
    });
    const done = await d.waitState(next.id, [RunState.RUN_STATE_SUCCEEDED, RunState.RUN_STATE_FAILED]);
    assert.equal(done.state, RunState.RUN_STATE_SUCCEEDED, done.error);
  } finally {
    await d.stop();
  }
  // A second start finds the current version: no second backup.
  const again = fixtureCopy();
  openDb(again).close();
  openDb(again).close();
  assert.ok(!existsSync(path.join(again, `${DB_FILE}.v2.bak.1`)));
  rmSync(again, { recursive: true, force: true });
});

test('a state dir from a newer pretextd is refused with a clear message, and left untouched', async () => {
  const stateDir = mkdtempSync(path.join(os.tmpdir(), 'pretext-newer-'));
  try {
    openDb(stateDir).close();
    const db = new Database(path.join(stateDir, DB_FILE));
    db.pragma(`user_version = ${SCHEMA_VERSION + 1}`);
    db.close();
    assert.throws(
      () => openDb(stateDir),
      /newer than this pretextd understands.*downgrades are not supported/s,
    );
    // The binary says the same and exits 2, without touching the database.
    const res = spawnSync(
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
      ],
      { cwd: REPO_ROOT, encoding: 'utf8', timeout: 60_000 },
    );
    assert.equal(res.status, 2, res.stderr);
    assert.match(res.stderr, new RegExp(`schema version ${SCHEMA_VERSION + 1}, newer than this pretextd`));
    assert.equal(userVersion(path.join(stateDir, DB_FILE)), SCHEMA_VERSION + 1);
  } finally {
    rmSync(stateDir, { recursive: true, force: true });
  }
});

test('a failing migration step leaves the database at its old version', () => {
  const stateDir = fixtureCopy();
  try {
    // Make step 3 fail: its index name is already taken.
    const db = new Database(path.join(stateDir, DB_FILE));
    db.exec('CREATE INDEX events_run_kind ON events(kind)');
    db.close();
    assert.throws(() => openDb(stateDir), /events_run_kind already exists/);
    assert.equal(userVersion(path.join(stateDir, DB_FILE)), 2);
    const after = new Database(path.join(stateDir, DB_FILE), { readonly: true });
    const cols = after.prepare('PRAGMA table_info(runs)').all() as Array<{ name: string }>;
    after.close();
    assert.ok(!cols.some((c) => c.name === 'events_compacted_ms'), 'half a migration was committed');
  } finally {
    rmSync(stateDir, { recursive: true, force: true });
  }
});

test('a fresh state dir starts at the current version without a backup', () => {
  const stateDir = mkdtempSync(path.join(os.tmpdir(), 'pretext-fresh-'));
  try {
    openDb(stateDir).close();
    assert.equal(userVersion(path.join(stateDir, DB_FILE)), SCHEMA_VERSION);
    assert.ok(!existsSync(path.join(stateDir, `${DB_FILE}.v0.bak`)));
  } finally {
    rmSync(stateDir, { recursive: true, force: true });
  }
});
