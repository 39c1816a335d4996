// The daemon's SQLite database (WAL): runs, their artifacts and the event log. The schema
// carries its version (PRAGMA user_version); a newer pretextd migrates an older database
// forward — first a backup copy next to it, then every step in one transaction — and an older
// pretextd refuses a newer one instead of misreading it.
import { existsSync, mkdirSync } from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';

export type Db = Database.Database;

export const SCHEMA_VERSION = 6;
export const DB_FILE = 'pretext.sqlite';

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
  // What a run's backend ran on (the webgpu adapter, oneDNN's ISA).
  3: `
    ALTER TABLE runs ADD COLUMN backend_detail TEXT NOT NULL DEFAULT '';
  `,
  // Retention: when a finished run's step events were thinned, and an index to find a run's
  // events of one kind without scanning the others.
  4: `
    ALTER TABLE runs ADD COLUMN events_compacted_ms INTEGER NOT NULL DEFAULT 0;
    CREATE INDEX events_run_kind ON events(run_id, kind, seq);
  `,
  // Model selection became a setting (default within_budget). Every downstream run and study
  // stored before it selected on labeled images outside its budget: record that, so their
  // labels_used stay true.
  5: `
    UPDATE runs SET config_json = json_set(config_json, '$.downstream.selection', 'SELECTION_EXTRA_LABELED')
      WHERE json_extract(config_json, '$.downstream') IS NOT NULL
        AND json_extract(config_json, '$.downstream.selection') IS NULL;
    UPDATE studies SET config_json = json_set(config_json, '$.downstream.selection', 'SELECTION_EXTRA_LABELED')
      WHERE json_extract(config_json, '$.downstream.selection') IS NULL;
  `,
  // Scale-out: every attempt of a run (host, agent, backend, revision, data checksum; the
  // coordinator's cursor of the agent's events), and the training agents of a coordinator.
  6: `
    CREATE TABLE attempts (
      run_id TEXT NOT NULL,
      attempt INTEGER NOT NULL,
      job_attempt INTEGER NOT NULL DEFAULT 0,
      agent_id TEXT NOT NULL DEFAULT '',
      agent_instance TEXT NOT NULL DEFAULT '',
      host TEXT NOT NULL DEFAULT '',
      backend TEXT NOT NULL DEFAULT '',
      code_revision TEXT NOT NULL DEFAULT '',
      data_checksum TEXT NOT NULL DEFAULT '',
      started_ms INTEGER NOT NULL,
      ended_ms INTEGER NOT NULL DEFAULT 0,
      outcome TEXT NOT NULL DEFAULT '',
      resumed_after_epoch INTEGER NOT NULL DEFAULT 0,
      last_agent_seq INTEGER NOT NULL DEFAULT 0,
      PRIMARY KEY (run_id, attempt)
    );
    CREATE TABLE agents (
      id TEXT PRIMARY KEY,
      host TEXT NOT NULL,
      slots INTEGER NOT NULL,
      backends_json TEXT NOT NULL,
      busy INTEGER NOT NULL,
      version TEXT NOT NULL,
      code_revision TEXT NOT NULL,
      first_seen_ms INTEGER NOT NULL,
      last_seen_ms INTEGER NOT NULL
    );
  `,
};

export interface OpenDbOptions {
  /** Told where the pre-migration copy went (the daemon logs it). */
  onBackup?: (file: string, from: number, to: number) => void;
}

export function openDb(stateDir: string, opts: OpenDbOptions = {}): Db {
  mkdirSync(stateDir, { recursive: true });
  const db = new Database(path.join(stateDir, DB_FILE));
  db.pragma('journal_mode = WAL');
  // NORMAL is durable across application crashes in WAL mode (only an OS crash can lose the
  // last transactions), at a fraction of FULL's fsync cost per event.
  db.pragma('synchronous = NORMAL');
  db.pragma('foreign_keys = ON');
  db.pragma('busy_timeout = 5000');
  try {
    migrate(db, stateDir, opts);
  } catch (err) {
    db.close();
    throw err;
  }
  return db;
}

/** Throws the message an operator sees when the database is newer than this pretextd. */
export function checkSchemaVersion(current: number, file: string): void {
  if (current > SCHEMA_VERSION) {
    throw new Error(
      `${file} has schema version ${current}, newer than this pretextd understands (${SCHEMA_VERSION}): ` +
        'it was written by a newer pretextd. Run that version again (downgrades are not supported), ' +
        'or point --state-dir elsewhere',
    );
  }
}

/** Where the copy taken before migrating `from` → SCHEMA_VERSION goes (never overwritten). */
export function migrationBackupPath(stateDir: string, from: number): string {
  const base = path.join(stateDir, `${DB_FILE}.v${from}.bak`);
  let file = base;
  for (let i = 1; existsSync(file); i++) file = `${base}.${i}`;
  return file;
}

function migrate(db: Db, stateDir: string, opts: OpenDbOptions): void {
  const current = db.pragma('user_version', { simple: true }) as number;
  checkSchemaVersion(current, path.join(stateDir, DB_FILE));
  if (current === SCHEMA_VERSION) return;
  if (current > 0) {
    // A consistent copy (VACUUM INTO reads one snapshot) before anything changes: if a
    // migration goes wrong, the operator restores it with the pretextd they had.
    const file = migrationBackupPath(stateDir, current);
    db.prepare('VACUUM INTO ?').run(file);
    opts.onBackup?.(file, current, SCHEMA_VERSION);
  }
  // All steps in one transaction: a crash or a failing step leaves the old version intact.
  db.transaction(() => {
    for (let v = current + 1; v <= SCHEMA_VERSION; v++) {
      const sql = MIGRATIONS[v];
      if (!sql) throw new Error(`missing migration ${v}`);
      db.exec(sql);
    }
    db.pragma(`user_version = ${SCHEMA_VERSION}`);
  })();
}
