// The daemon's SQLite database (WAL): runs, their artifacts and the event log.
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';

export type Db = Database.Database;

const SCHEMA_VERSION = 3;

const MIGRATIONS: Record<number, string> = {
  1: `
    CREATE TABLE runs (
      id TEXT PRIMARY KEY,
      name TEXT NOT NULL DEFAULT '',
      kind INTEGER NOT NULL,
      method TEXT NOT NULL,
      state INTEGER NOT NULL,
      config_json TEXT NOT NULL,
      dataset TEXT NOT NULL DEFAULT '',
      created_ms INTEGER NOT NULL,
      started_ms INTEGER NOT NULL DEFAULT 0,
      finished_ms INTEGER NOT NULL DEFAULT 0,
      error TEXT NOT NULL DEFAULT '',
      parent_run_id TEXT NOT NULL DEFAULT '',
      study_id TEXT NOT NULL DEFAULT '',
      backend TEXT NOT NULL DEFAULT '',
      seed INTEGER NOT NULL DEFAULT 0,
      data_checksum TEXT NOT NULL DEFAULT '',
      code_revision TEXT NOT NULL DEFAULT '',
      progress_json TEXT NOT NULL DEFAULT '{}',
      result_json TEXT NOT NULL DEFAULT '',
      attempts INTEGER NOT NULL DEFAULT 0,
      queued_ms INTEGER NOT NULL DEFAULT 0
    );
    CREATE INDEX runs_state ON runs(state, queued_ms);
    CREATE INDEX runs_parent ON runs(parent_run_id);
    CREATE TABLE artifacts (
      run_id TEXT NOT NULL REFERENCES runs(id),
      name TEXT NOT NULL,
      kind TEXT NOT NULL,
      path TEXT NOT NULL,
      epoch INTEGER NOT NULL,
      created_ms INTEGER NOT NULL,
      metric REAL NOT NULL,
      PRIMARY KEY (run_id, name)
    );
    CREATE TABLE events (
      seq INTEGER PRIMARY KEY AUTOINCREMENT,
      run_id TEXT NOT NULL,
      time_ms INTEGER NOT NULL,
      kind TEXT NOT NULL,
      data BLOB NOT NULL
    );
    CREATE INDEX events_run ON events(run_id, seq);
  `,
  2: `
    CREATE TABLE studies (
      id TEXT PRIMARY KEY,
      name TEXT NOT NULL DEFAULT '',
      state INTEGER NOT NULL,
      config_json TEXT NOT NULL,
      pretext_run_id TEXT NOT NULL,
      created_ms INTEGER NOT NULL,
      finished_ms INTEGER NOT NULL DEFAULT 0,
      error TEXT NOT NULL DEFAULT '',
      code_revision TEXT NOT NULL DEFAULT ''
    );
    CREATE INDEX runs_study ON runs(study_id);
  `,
  3: `
    ALTER TABLE runs ADD COLUMN backend_detail TEXT NOT NULL DEFAULT '';
  `,
};

export function openDb(stateDir: string): Db {
  mkdirSync(stateDir, { recursive: true });
  const db = new Database(path.join(stateDir, 'pretext.sqlite'));
  db.pragma('journal_mode = WAL');
  // NORMAL is durable across application crashes in WAL mode (only an OS crash can lose the
  // last transactions), at a fraction of FULL's fsync cost per event.
  db.pragma('synchronous = NORMAL');
  db.pragma('foreign_keys = ON');
  db.pragma('busy_timeout = 5000');
  migrate(db);
  return db;
}

function migrate(db: Db): void {
  const current = db.pragma('user_version', { simple: true }) as number;
  if (current > SCHEMA_VERSION) {
    throw new Error(
      `the state database has schema version ${current}, newer than this pretextd (${SCHEMA_VERSION}); upgrade pretextd or use another --state-dir`,
    );
  }
  for (let v = current + 1; v <= SCHEMA_VERSION; v++) {
    const sql = MIGRATIONS[v];
    if (!sql) throw new Error(`missing migration ${v}`);
    db.transaction(() => {
      db.exec(sql);
      db.pragma(`user_version = ${v}`);
    })();
  }
}
