// `pretextd backup --out FILE`: a consistent snapshot of a state dir, taken while the daemon
// runs. The database comes from SQLite's online backup API (one snapshot, readers and the
// daemon's writer go on); then every checkpoint of the runs in that snapshot is copied so
// that each is one whole generation: a checkpoint is swapped in by renaming its folder, so
// a copy whose folder changed identity (inode) while it was read is taken again. Checkpoints
// are copied after the database, so they can be newer than its records, never older.
// Imported datasets (written once, by a final rename) are copied file by file, each dataset's
// manifest last: a dataset deleted while it was copied restores without a manifest, and the
// daemon ignores a folder without one. `--no-datasets` leaves them out (they can be large).
// The output is a plain tar of the state dir's layout: `tar -xf FILE -C NEWDIR` restores it.
import {
  createWriteStream,
  mkdtempSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
  statSync,
} from 'node:fs';
import path from 'node:path';
import { pipeline } from 'node:stream/promises';
import Database from 'better-sqlite3';
import tar from 'tar-stream';
import { VERSION } from '../../shared/version.js';
import { DATASETS_SUBDIR, MANIFEST_FILE } from '../../shared/data/imported.js';
import { checkSchemaVersion, DB_FILE } from '../runs/db.js';

export interface BackupSummary {
  file: string;
  runs: number;
  checkpoints: number;
  /** Imported datasets copied whole. */
  datasets: number;
  bytes: number;
}

export interface BackupOptions {
  /** Copy imported datasets (default true). */
  datasets?: boolean;
}

interface Entry {
  name: string;
  data: Buffer;
}

const COPY_ATTEMPTS = 20;

/** The files of one checkpoint folder, all of one generation; undefined when there is none. */
export function copyCheckpoint(dir: string): Entry[] | undefined {
  for (let attempt = 0; attempt < COPY_ATTEMPTS; attempt++) {
    for (const candidate of [dir, `${dir}.old`]) {
      try {
        const before = statSync(candidate).ino;
        const names = readdirSync(candidate).sort();
        if (!names.includes('state.json')) continue; // incomplete (a crash mid-write): try `.old`
        const files = names.map((n) => ({ name: n, data: readFileSync(path.join(candidate, n)) }));
        if (statSync(candidate).ino === before) return files;
      } catch (err) {
        // Renamed away while we read: the next attempt sees the new generation.
        if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
      }
    }
  }
  return undefined;
}

function runEntries(stateDir: string, runId: string): { entries: Entry[]; checkpoints: number } {
  const root = path.join(stateDir, 'runs', runId);
  const entries: Entry[] = [];
  let checkpoints = 0;
  const walk = (rel: string) => {
    let names: string[];
    try {
      names = readdirSync(path.join(root, rel));
    } catch {
      return;
    }
    for (const n of names) {
      const relPath = path.join(rel, n);
      const abs = path.join(root, relPath);
      if (rel === 'checkpoints') {
        // Staging and previous generations are never part of a backup.
        if (n.endsWith('.tmp') || n.endsWith('.old')) continue;
        const files = copyCheckpoint(abs);
        if (!files) continue;
        checkpoints++;
        for (const f of files)
          entries.push({ name: path.posix.join('runs', runId, 'checkpoints', n, f.name), data: f.data });
        continue;
      }
      let st: ReturnType<typeof statSync>;
      try {
        st = statSync(abs);
      } catch {
        continue;
      }
      if (st.isDirectory()) walk(relPath);
      else if (st.isFile() && !/\.tmp-\d+$/.test(n)) {
        entries.push({
          name: path.posix.join('runs', runId, relPath.split(path.sep).join('/')),
          data: readFileSync(abs),
        });
      }
    }
  };
  walk('');
  return { entries, checkpoints };
}

/** Files of each imported dataset (manifest last), read one at a time by the caller. */
function datasetFiles(stateDir: string): Array<{ name: string; files: string[] }> {
  const root = path.join(stateDir, DATASETS_SUBDIR);
  let names: string[];
  try {
    names = readdirSync(root).sort();
  } catch {
    return [];
  }
  return names.flatMap((name) => {
    // Dot folders are imports in progress, never visible.
    if (name.startsWith('.')) return [];
    try {
      const files = readdirSync(path.join(root, name)).filter((f) => !f.startsWith('.'));
      if (!files.includes(MANIFEST_FILE)) return [];
      return [{ name, files: [...files.filter((f) => f !== MANIFEST_FILE).sort(), MANIFEST_FILE] }];
    } catch {
      return [];
    }
  });
}

export async function backupStateDir(
  stateDir: string,
  outFile: string,
  opts: BackupOptions = {},
): Promise<BackupSummary> {
  const dbFile = path.join(stateDir, DB_FILE);
  const out = path.resolve(outFile);
  // Scratch space beside the output: the database copy, then the tar renamed into place.
  const scratch = mkdtempSync(path.join(path.dirname(out), '.pretext-backup-'));
  try {
    let source: Database.Database;
    try {
      source = new Database(dbFile, { readonly: true, fileMustExist: true });
    } catch (err) {
      throw new Error(`cannot open ${dbFile}: ${(err as Error).message} (is --state-dir right?)`);
    }
    const snapshot = path.join(scratch, DB_FILE);
    let schema: number;
    try {
      schema = source.pragma('user_version', { simple: true }) as number;
      checkSchemaVersion(schema, dbFile);
      await source.backup(snapshot);
    } finally {
      source.close();
    }
    const copy = new Database(snapshot, { readonly: true });
    const runIds = (
      copy.prepare('SELECT id FROM runs ORDER BY created_ms').all() as Array<{ id: string }>
    ).map((r) => r.id);
    copy.close();

    const pack = tar.pack();
    const partial = path.join(scratch, 'backup.tar');
    const written = pipeline(pack, createWriteStream(partial));
    const add = (name: string, data: Buffer) =>
      new Promise<void>((resolve, reject) =>
        pack.entry({ name, size: data.length, mode: 0o640, mtime: new Date() }, data, (err) =>
          err ? reject(err) : resolve(),
        ),
      );
    let bytes = 0;
    let checkpoints = 0;
    const dbData = readFileSync(snapshot);
    await add(DB_FILE, dbData);
    bytes += dbData.length;
    for (const id of runIds) {
      const run = runEntries(stateDir, id);
      checkpoints += run.checkpoints;
      for (const e of run.entries) {
        await add(e.name, e.data);
        bytes += e.data.length;
      }
    }
    let datasets = 0;
    for (const ds of opts.datasets === false ? [] : datasetFiles(stateDir)) {
      let complete = true;
      for (const f of ds.files) {
        let data: Buffer;
        try {
          data = readFileSync(path.join(stateDir, DATASETS_SUBDIR, ds.name, f));
        } catch (err) {
          if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
          complete = false; // deleted while copied: its manifest is never written
          break;
        }
        await add(path.posix.join(DATASETS_SUBDIR, ds.name, f), data);
        bytes += data.length;
      }
      if (complete) datasets++;
    }
    const manifest = {
      pretextd: VERSION,
      schemaVersion: schema,
      createdAt: new Date().toISOString(),
      runs: runIds.length,
      checkpoints,
      datasets,
    };
    await add('backup.json', Buffer.from(`${JSON.stringify(manifest, null, 2)}\n`));
    pack.finalize();
    await written;
    renameSync(partial, out);
    return { file: out, runs: runIds.length, checkpoints, datasets, bytes };
  } finally {
    rmSync(scratch, { recursive: true, force: true });
  }
}
