// Imported datasets, daemon side: imports from folders under --import-root, uploads (a tar of
// the folder, received into `<state-dir>/uploads/<name>-<sha256>.part`, resumable, checked),
// listing and deleting. The importer itself (shared/data/folder-import.ts) makes a dataset
// visible only by a final rename; this module keeps the catalog in step with the state dir.
import { createHash, randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { status } from '@grpc/grpc-js';
import type { Dataset, DatasetImportProgress, ImportOptions } from '../../../gen/ts/pretext/v1/datasets.js';
import { RunState } from '../../../gen/ts/pretext/v1/run.js';
import {
  architectureNames,
  builtInDatasetNames,
  parseArchitecture,
  removeImportedDataset,
  setImportedDatasets,
  addImportedDataset,
} from '../../shared/contract/catalog.js';
import { datasetNameProblem, defaultSideFor, IMPORT, UPLOAD } from '../../shared/contract/datasets.js';
import { ImportError, type ImportProgress, importFolder } from '../../shared/data/folder-import.js';
import {
  catalogEntryOf,
  type DatasetManifest,
  datasetsDirOf,
  listImported,
  readManifest,
} from '../../shared/data/imported.js';
import type { Logger } from '../log.js';
import type { EventLog } from '../runs/event-log.js';
import type { RunRegistry } from '../runs/registry.js';
import { invalidArgument, notFound, RpcError } from '../rpc/errors.js';
import { extractTar } from './untar.js';

export interface DatasetsOptions {
  stateDir: string;
  /** Folders ImportDataset may read (real paths); empty: ImportDataset is refused. */
  importRoots: string[];
  /** Largest upload accepted, bytes. */
  maxUploadBytes: number;
  registry: RunRegistry;
  events: EventLog;
  log: Logger;
}

/** The event stream id of a dataset's import progress. */
export function datasetEventId(name: string): string {
  return `d-${name}`;
}

export function isDatasetEventId(id: string): boolean {
  return id.startsWith('d-');
}

const ACTIVE = [RunState.RUN_STATE_QUEUED, RunState.RUN_STATE_RUNNING];
/** A partial upload is `<name>-<sha256>.part` in `<state-dir>/uploads`. */
const PART = '.part';
/** The dataset name of a part file (the inverse of Datasets.partFile). */
function uploadNameOf(file: string): string {
  return file.slice(0, -(PART.length + 1 + 64));
}
const SHA256 = /^[0-9a-f]{64}$/;
/** Progress events at most this often while receiving or decoding. */
const PROGRESS_MS = 1000;

export class Datasets {
  readonly dir: string;
  private readonly uploads: string;
  /** Names being imported or uploaded now: a second import of one is ALREADY_EXISTS. */
  private readonly busy = new Set<string>();
  private readonly sweeper: NodeJS.Timeout;

  constructor(private readonly o: DatasetsOptions) {
    this.dir = datasetsDirOf(o.stateDir);
    this.uploads = path.join(o.stateDir, 'uploads');
    fs.mkdirSync(this.dir, { recursive: true });
    fs.mkdirSync(this.uploads, { recursive: true });
    // Leftovers of a daemon that died mid-import: never visible, removed now. Partial uploads
    // (*.part) stay, to be resumed, until they are abandoned.
    for (const e of fs.readdirSync(this.dir))
      if (e.startsWith('.')) fs.rmSync(path.join(this.dir, e), { recursive: true, force: true });
    for (const e of fs.readdirSync(this.uploads))
      if (e.startsWith('.')) fs.rmSync(path.join(this.uploads, e), { recursive: true, force: true });
    this.refreshCatalog();
    this.dropAbandonedUploads();
    this.sweeper = setInterval(() => this.dropAbandonedUploads(), 3_600_000);
    this.sweeper.unref();
  }

  stop(): void {
    clearInterval(this.sweeper);
  }

  /** Deletes partial uploads untouched for UPLOAD.abandonedAfterDays (not one being received). */
  dropAbandonedUploads(now = Date.now()): string[] {
    const dropped: string[] = [];
    const cutoff = now - UPLOAD.abandonedAfterDays * 86_400_000;
    for (const e of fs.readdirSync(this.uploads)) {
      if (!e.endsWith(PART)) continue;
      // A name in an upload right now is never touched.
      if (this.busy.has(uploadNameOf(e))) continue;
      const file = path.join(this.uploads, e);
      try {
        const st = fs.statSync(file);
        if (st.mtimeMs >= cutoff) continue;
        fs.rmSync(file, { force: true });
        dropped.push(e);
        this.o.log.info('abandoned upload removed', {
          file: e,
          bytes: st.size,
          days: UPLOAD.abandonedAfterDays,
        });
      } catch {
        // gone already
      }
    }
    return dropped;
  }

  /** Refuses a malformed "d-<name>" (StreamMetrics of an import's progress). */
  checkEventId(id: string): void {
    this.checkName(id.slice(2), 'run_id', false);
  }

  /** Whether the import behind "d-<name>" is running now. */
  importing(id: string): boolean {
    return this.busy.has(id.slice(2));
  }

  refreshCatalog(): void {
    setImportedDatasets(listImported(this.dir).map(catalogEntryOf));
  }

  list(): Dataset[] {
    const active = this.activeRunsByDataset();
    return listImported(this.dir).map((m) => this.toProto(m, false, active.get(m.name) ?? 0));
  }

  get(name: string): Dataset {
    this.checkName(name, 'name', false);
    const m = this.manifest(name);
    return this.toProto(m, true, this.activeRunsByDataset().get(name) ?? 0);
  }

  delete(name: string): void {
    this.checkName(name, 'name', false);
    this.manifest(name);
    const active = this.activeRunsByDataset().get(name) ?? 0;
    if (active > 0)
      throw new RpcError(
        status.FAILED_PRECONDITION,
        `${active} queued or running run${active === 1 ? '' : 's'} use${active === 1 ? 's' : ''} dataset "${name}"; cancel ${active === 1 ? 'it' : 'them'} first`,
      );
    // Out of the catalog first (no new run can name it), then out of sight by one rename.
    removeImportedDataset(name);
    const gone = path.join(this.dir, `.deleted-${name}-${randomBytes(4).toString('hex')}`);
    fs.renameSync(path.join(this.dir, name), gone);
    fs.rmSync(gone, { recursive: true, force: true });
    this.o.log.info('dataset deleted', { dataset: name });
  }

  /** ImportDataset: a folder under an import root. */
  async importFromRoot(name: string, rawPath: string, options: ImportOptions | undefined): Promise<Dataset> {
    this.checkName(name, 'name', true);
    const opts = checkOptions(options);
    const source = this.underRoot(rawPath);
    return this.runImport(name, source, opts);
  }

  /** Bytes of an interrupted upload held for `name` and `sha256`. */
  uploadStatus(name: string, sha256: string): number {
    this.checkName(name, 'name', false);
    if (!SHA256.test(sha256)) throw invalidArgument('sha256 must be 64 lower-case hex digits');
    try {
      return fs.statSync(this.partFile(name, sha256)).size;
    } catch {
      return 0;
    }
  }

  /** Checks an upload's header; returns the part file to append to and its current size. */
  beginUpload(
    name: string,
    totalBytes: number,
    sha256: string,
    options: ImportOptions | undefined,
  ): { part: string; received: number; options: ReturnType<typeof checkOptions> } {
    this.checkName(name, 'header.name', true);
    if (!SHA256.test(sha256)) throw invalidArgument('header.sha256 must be 64 lower-case hex digits');
    if (!Number.isSafeInteger(totalBytes) || totalBytes <= 0)
      throw invalidArgument('header.total_bytes must be positive');
    if (totalBytes > this.o.maxUploadBytes)
      throw new RpcError(
        status.RESOURCE_EXHAUSTED,
        `the upload is ${totalBytes} bytes; this daemon accepts at most ${this.o.maxUploadBytes} (--max-upload-bytes)`,
      );
    const opts = checkOptions(options);
    const part = this.partFile(name, sha256);
    let received = 0;
    try {
      received = fs.statSync(part).size;
    } catch {
      // a new upload
    }
    return { part, received, options: opts };
  }

  /** Verifies a complete upload, extracts it and imports it; the part file goes either way but on a transient error. */
  async finishUpload(
    name: string,
    part: string,
    sha256: string,
    options: ReturnType<typeof checkOptions>,
  ): Promise<Dataset> {
    const actual = await hashFile(part);
    if (actual !== sha256) {
      fs.rmSync(part, { force: true });
      throw invalidArgument(`the archive's SHA-256 is ${actual}, the header said ${sha256}; upload it again`);
    }
    const tmp = path.join(this.uploads, `.x-${name}-${randomBytes(4).toString('hex')}`);
    try {
      this.progress({ name, phase: 'extracting', done: 0, total: 0, error: '' });
      await extractTar(part, tmp, this.o.maxUploadBytes * 2);
      const dataset = await this.runImport(name, topFolder(tmp), options);
      fs.rmSync(part, { force: true });
      return dataset;
    } catch (err) {
      if (err instanceof RpcError && err.code !== status.RESOURCE_EXHAUSTED) fs.rmSync(part, { force: true });
      throw err;
    } finally {
      fs.rmSync(tmp, { recursive: true, force: true });
    }
  }

  /** Marks a name busy for the length of an upload (ALREADY_EXISTS for a second one). */
  claim(name: string): () => void {
    if (this.busy.has(name))
      throw new RpcError(status.ALREADY_EXISTS, `dataset "${name}" is being imported right now`);
    this.busy.add(name);
    return () => this.busy.delete(name);
  }

  progress(p: DatasetImportProgress): void {
    const e = this.o.events.append(datasetEventId(p.name), { $case: 'datasetImport', datasetImport: p });
    this.o.events.publish(e);
  }

  private async runImport(
    name: string,
    source: string,
    options: ReturnType<typeof checkOptions>,
  ): Promise<Dataset> {
    const release = this.busy.has(name) ? () => {} : this.claim(name);
    let last = 0;
    const onProgress = (p: ImportProgress) => {
      const now = Date.now();
      if (p.phase === 'decoding' && p.done < p.total && now - last < PROGRESS_MS) return;
      last = now;
      this.progress({ name, phase: p.phase, done: p.done, total: p.total, error: '' });
    };
    try {
      const m = await importFolder({ source, datasetsDir: this.dir, name, ...options, onProgress });
      addImportedDataset(catalogEntryOf(m));
      this.progress({ name, phase: 'done', done: 1, total: 1, error: '' });
      this.o.log.info('dataset imported', {
        dataset: name,
        train: catalogEntryOf(m).train,
        skipped: m.skipped.length,
      });
      return this.toProto(m, false, 0);
    } catch (err) {
      const rpc = asImportRpcError(err);
      this.progress({
        name,
        phase: 'failed',
        done: 0,
        total: 0,
        error: (rpc ?? (err as Error)).message.slice(0, 500),
      });
      throw rpc ?? err;
    } finally {
      release();
    }
  }

  private partFile(name: string, sha256: string): string {
    return path.join(this.uploads, `${name}-${sha256}${PART}`);
  }

  private checkName(name: string, field: string, creating: boolean): void {
    const problem = datasetNameProblem(name, builtInDatasetNames());
    if (problem) throw invalidArgument(`${field}: ${problem}`);
    if (creating) {
      if (fs.existsSync(path.join(this.dir, name)))
        throw new RpcError(
          status.ALREADY_EXISTS,
          `dataset "${name}" already exists; delete it or choose another name`,
        );
      if (this.busy.has(name))
        throw new RpcError(status.ALREADY_EXISTS, `dataset "${name}" is being imported right now`);
    }
  }

  private manifest(name: string): DatasetManifest {
    try {
      return readManifest(path.join(this.dir, name));
    } catch {
      throw notFound(`no imported dataset "${name}"`);
    }
  }

  /** The real folder a client named, refused (PERMISSION_DENIED) unless it lies under an import root. */
  private underRoot(raw: string): string {
    const roots = this.o.importRoots;
    if (roots.length === 0)
      throw new RpcError(
        status.PERMISSION_DENIED,
        'this daemon imports no folders (start it with --import-root DIR)',
      );
    if (!raw) throw invalidArgument('path is required');
    if (raw.includes('\0')) throw invalidArgument('path contains a NUL byte');
    const lexical = path.resolve(roots[0]!, raw);
    const denied = () =>
      new RpcError(
        status.PERMISSION_DENIED,
        `${JSON.stringify(raw.slice(0, 80))} is outside the import roots (${roots.join(', ')})`,
      );
    if (!roots.some((r) => within(r, lexical))) throw denied();
    let real: string;
    try {
      real = fs.realpathSync(lexical);
    } catch {
      throw notFound(`${JSON.stringify(raw.slice(0, 80))}: no such folder under the import roots`);
    }
    if (!roots.some((r) => within(r, real))) throw denied(); // a symlink leading out
    return real;
  }

  private activeRunsByDataset(): Map<string, number> {
    const out = new Map<string, number>();
    for (const run of this.o.registry.list({ states: ACTIVE, kinds: [], limit: 100_000 })) {
      const d = datasetOfRun(this.o.registry, run);
      if (d) out.set(d, (out.get(d) ?? 0) + 1);
    }
    return out;
  }

  private toProto(m: DatasetManifest, withSkipped: boolean, activeRuns: number): Dataset {
    let bytes = 0;
    for (const s of m.shards) {
      try {
        bytes += fs.statSync(path.join(this.dir, m.name, s.file)).size;
      } catch {
        // counted as 0
      }
    }
    return {
      name: m.name,
      side: m.side,
      classNames: m.classNames,
      trainPerClass: m.counts.train,
      testPerClass: m.counts.test,
      unlabeled: m.counts.unlabeled,
      checksum: m.checksum,
      testCarved: m.testSplit.carved,
      testSeed: m.testSplit.carved ? m.testSplit.seed : 0,
      testShare: m.testSplit.carved ? m.testSplit.share : 0,
      skippedCount: m.skipped.length,
      skipped: withSkipped ? m.skipped.map((s) => ({ path: s.path, reason: s.reason })) : [],
      createdAtUnixMs: Date.parse(m.createdAt) || 0,
      bytes,
      activeRuns,
    };
  }
}

/** The dataset a run reads: its config's, or (evaluations) its target run's. */
function datasetOfRun(
  registry: RunRegistry,
  run: ReturnType<RunRegistry['list']>[number],
): string | undefined {
  const c = run.config;
  if (c?.$case === 'pretext') return c.pretext.dataset;
  if (c?.$case === 'downstream') return c.downstream.dataset;
  if (c?.$case === 'evaluate') {
    const target = registry.get(c.evaluate.targetRunId);
    return target && target.id !== run.id ? datasetOfRun(registry, target) : undefined;
  }
  return undefined;
}

function within(root: string, p: string): boolean {
  const rel = path.relative(root, p);
  return rel === '' || (!rel.startsWith('..') && !path.isAbsolute(rel));
}

/** Import settings with the catalog's limits; 0 leaves a default. */
export function checkOptions(o: ImportOptions | undefined): {
  side?: number;
  seed?: number;
  testShare?: number;
  maxFailedShare?: number;
} {
  if (!o) return {};
  const { side, testShare, maxFailedShare } = IMPORT;
  let bySide: number | undefined;
  if (o.architecture) {
    const parsed = parseArchitecture(o.architecture, 0);
    bySide = parsed && defaultSideFor(parsed.architecture);
    if (bySide === undefined)
      throw invalidArgument(
        `options.architecture ${JSON.stringify(o.architecture.slice(0, 80))} is unknown; use one of ${architectureNames().join(', ')}`,
      );
  }
  if (o.side && (o.side < side.min || o.side > side.max))
    throw invalidArgument(
      `options.side must be ${side.min}..${side.max} pixels (0 = ${side.default}), got ${o.side}`,
    );
  if (o.testShare && !(o.testShare >= testShare.min && o.testShare <= testShare.max))
    throw invalidArgument(
      `options.test_share must be ${testShare.min}..${testShare.max}, got ${o.testShare}`,
    );
  if (o.maxFailedShare && !(o.maxFailedShare > 0 && o.maxFailedShare <= maxFailedShare.max))
    throw invalidArgument(`options.max_failed_share must be in (0, 1], got ${o.maxFailedShare}`);
  return {
    side: o.side || bySide,
    seed: o.seed || undefined,
    testShare: o.testShare || undefined,
    maxFailedShare: o.maxFailedShare || undefined,
  };
}

/** An importer refusal as the gRPC error a client acts on. */
function asImportRpcError(err: unknown): RpcError | undefined {
  if (err instanceof RpcError) return err;
  if (!(err instanceof ImportError)) return undefined;
  const code = {
    invalid: status.INVALID_ARGUMENT,
    permission: status.PERMISSION_DENIED,
    exists: status.ALREADY_EXISTS,
    space: status.RESOURCE_EXHAUSTED,
    not_found: status.NOT_FOUND,
  }[err.kind];
  return new RpcError(code, err.message);
}

/** An archive of one top folder (tar of "photos/…") imports that folder. */
function topFolder(dir: string): string {
  const entries = fs.readdirSync(dir).filter((e) => !e.startsWith('.'));
  const layout = ['labeled', 'train', 'test', 'unlabeled'];
  if (
    entries.length === 1 &&
    !layout.includes(entries[0]!) &&
    fs.statSync(path.join(dir, entries[0]!)).isDirectory()
  )
    return path.join(dir, entries[0]!);
  return dir;
}

async function hashFile(file: string): Promise<string> {
  const h = createHash('sha256');
  for await (const chunk of fs.createReadStream(file)) h.update(chunk as Buffer);
  return h.digest('hex');
}
