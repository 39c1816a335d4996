// The run registry: runs, their state machine and artifacts, persisted in SQLite. Every
// change that watchers should see is written together with its event in one transaction.
import os from 'node:os';
import type { RunAttempt } from '../../../gen/ts/pretext/v1/cluster.js';
import {
  type Artifact,
  DownstreamConfig,
  EvaluateConfig,
  PretextConfig,
  Progress,
  type Run,
  type RunKind,
  RunResult,
  RunState,
  runStateToJSON,
} from '../../../gen/ts/pretext/v1/run.js';
import { RunEvent } from '../../../gen/ts/pretext/v1/event.js';
import type { EventPayload } from '../../shared/worker-protocol.js';
import { labelsUsedOf } from '../../shared/contract/selection.js';
import { codeRevision } from '../../shared/version.js';
import type { Db } from './db.js';
import type { EventLog } from './event-log.js';
import { type IdSource, insertWithFreshId, randomId } from './ids.js';

export type RunConfig =
  | { $case: 'pretext'; pretext: PretextConfig }
  | { $case: 'downstream'; downstream: DownstreamConfig }
  | { $case: 'evaluate'; evaluate: EvaluateConfig };

export const TERMINAL_STATES: ReadonlySet<RunState> = new Set([
  RunState.RUN_STATE_SUCCEEDED,
  RunState.RUN_STATE_FAILED,
  RunState.RUN_STATE_CANCELLED,
  RunState.RUN_STATE_INTERRUPTED,
]);

/** States from which a run never moves again by itself (INTERRUPTED can be resumed). */
export const FINAL_STATES: ReadonlySet<RunState> = new Set([
  RunState.RUN_STATE_SUCCEEDED,
  RunState.RUN_STATE_FAILED,
  RunState.RUN_STATE_CANCELLED,
]);

export function stateName(state: RunState): string {
  return runStateToJSON(state).replace('RUN_STATE_', '');
}

interface RunRow {
  id: string;
  name: string;
  kind: number;
  method: string;
  state: number;
  config_json: string;
  dataset: string;
  created_ms: number;
  started_ms: number;
  finished_ms: number;
  error: string;
  parent_run_id: string;
  study_id: string;
  backend: string;
  backend_detail: string;
  seed: number;
  data_checksum: string;
  code_revision: string;
  progress_json: string;
  result_json: string;
  attempts: number;
}

interface ArtifactRow {
  name: string;
  kind: string;
  path: string;
  epoch: number;
  created_ms: number;
  metric: number;
}

export interface NewRun {
  kind: RunKind;
  method: string;
  name: string;
  config: RunConfig;
  dataset: string;
  parentRunId: string;
  studyId?: string;
  seed: number;
  codeRevision: string;
}

/** Where an attempt runs: a remote agent's, or (default) this host's. */
export interface AttemptPlace {
  host?: string;
  agentId?: string;
  /** The agent process (random per start): tells a retried BeginAttempt from a re-delivery. */
  agentInstance?: string;
  backend?: string;
  codeRevision?: string;
  jobAttempt?: number;
  resumedAfterEpoch?: number;
}

interface AttemptRow {
  attempt: number;
  job_attempt: number;
  agent_id: string;
  agent_instance: string;
  host: string;
  backend: string;
  code_revision: string;
  data_checksum: string;
  started_ms: number;
  ended_ms: number;
  outcome: string;
  resumed_after_epoch: number;
  last_agent_seq: number;
}

export interface RunFilter {
  states?: RunState[];
  kinds?: RunKind[];
  parentRunId?: string;
  studyId?: string;
  limit: number;
}

function encodeConfig(config: RunConfig): string {
  switch (config.$case) {
    case 'pretext':
      return JSON.stringify({ pretext: PretextConfig.toJSON(config.pretext) });
    case 'downstream':
      return JSON.stringify({ downstream: DownstreamConfig.toJSON(config.downstream) });
    case 'evaluate':
      return JSON.stringify({ evaluate: EvaluateConfig.toJSON(config.evaluate) });
  }
}

function decodeConfig(json: string): RunConfig {
  const obj = JSON.parse(json) as Record<string, unknown>;
  if ('pretext' in obj) return { $case: 'pretext', pretext: PretextConfig.fromJSON(obj.pretext) };
  if ('downstream' in obj)
    return { $case: 'downstream', downstream: DownstreamConfig.fromJSON(obj.downstream) };
  return { $case: 'evaluate', evaluate: EvaluateConfig.fromJSON(obj.evaluate) };
}

export class RunRegistry {
  /** Events of an `atomically` block, published only once its outer transaction commits. */
  private deferred: RunEvent[] | undefined;

  constructor(
    private readonly db: Db,
    private readonly events: EventLog,
    readonly ids: IdSource = randomId,
  ) {}

  /**
   * Runs `fn` — any number of registry writes, and the caller's own statements — as one
   * transaction: either all of it is committed and its events published, or none of it.
   */
  atomically<T>(fn: () => T): T {
    if (this.deferred) return fn();
    const pending: RunEvent[] = [];
    this.deferred = pending;
    let result: T;
    try {
      result = this.db.transaction(fn)();
    } finally {
      this.deferred = undefined;
    }
    for (const event of pending) this.events.publish(event);
    return result;
  }

  /** Runs `fn` in a transaction and publishes the events it appended once it commits. */
  private write<T>(fn: (append: (runId: string, payload: EventPayload) => void) => T): T {
    const pending: RunEvent[] = [];
    const result = this.db.transaction(() =>
      fn((runId, payload) => {
        pending.push(this.events.append(runId, payload));
      }),
    )();
    if (this.deferred) this.deferred.push(...pending);
    else for (const event of pending) this.events.publish(event);
    return result;
  }

  create(spec: NewRun): Run {
    const now = new Date();
    const id = this.write((append) => {
      const id = insertWithFreshId(this.ids, 'r', (id) => {
        this.insertRun(id, spec, now);
        return id;
      });
      append(id, {
        $case: 'state',
        state: { from: RunState.RUN_STATE_UNSPECIFIED, to: RunState.RUN_STATE_QUEUED, message: 'queued' },
      });
      return id;
    });
    return this.get(id)!;
  }

  private insertRun(id: string, spec: NewRun, now: Date): void {
    this.db
      .prepare(
        `INSERT INTO runs (id, name, kind, method, state, config_json, dataset, created_ms, parent_run_id,
             study_id, seed, code_revision, queued_ms)
           VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
      )
      .run(
        id,
        spec.name,
        spec.kind,
        spec.method,
        RunState.RUN_STATE_QUEUED,
        encodeConfig(spec.config),
        spec.dataset,
        now.getTime(),
        spec.parentRunId,
        spec.studyId ?? '',
        spec.seed,
        spec.codeRevision,
        now.getTime(),
      );
  }

  get(id: string): Run | undefined {
    const row = this.db.prepare('SELECT * FROM runs WHERE id = ?').get(id) as RunRow | undefined;
    return row ? this.toRun(row) : undefined;
  }

  list(filter: RunFilter): Run[] {
    const where: string[] = [];
    const args: unknown[] = [];
    if (filter.states?.length) {
      where.push(`state IN (${filter.states.map(() => '?').join(',')})`);
      args.push(...filter.states);
    }
    if (filter.kinds?.length) {
      where.push(`kind IN (${filter.kinds.map(() => '?').join(',')})`);
      args.push(...filter.kinds);
    }
    if (filter.parentRunId) {
      where.push('parent_run_id = ?');
      args.push(filter.parentRunId);
    }
    if (filter.studyId) {
      where.push('study_id = ?');
      args.push(filter.studyId);
    }
    const sql = `SELECT * FROM runs ${where.length ? `WHERE ${where.join(' AND ')}` : ''}
      ORDER BY created_ms DESC, rowid DESC LIMIT ?`;
    const rows = this.db.prepare(sql).all(...args, filter.limit) as RunRow[];
    return rows.map((r) => this.toRun(r));
  }

  /** Queued runs and their places in the queue (row numbers: the order they were created). */
  queuedPlaces(): Array<{ id: string; place: number }> {
    return this.db
      .prepare('SELECT id, rowid AS place FROM runs WHERE state = ? ORDER BY rowid')
      .all(RunState.RUN_STATE_QUEUED) as Array<{ id: string; place: number }>;
  }

  /** A run's place in the queue: its row number, fixed at creation. */
  placeOf(id: string): number {
    const row = this.db.prepare('SELECT rowid AS place FROM runs WHERE id = ?').get(id) as
      | { place: number }
      | undefined;
    return row?.place ?? Number.MAX_SAFE_INTEGER;
  }

  /** Epoch numbers of the run's `epoch` events in the log. */
  loggedEpochs(id: string): Set<number> {
    const rows = this.db
      .prepare("SELECT data FROM events WHERE run_id = ? AND kind = 'epoch'")
      .all(id) as Array<{ data: Buffer }>;
    const epochs = new Set<number>();
    for (const r of rows) {
      const p = RunEvent.decode(r.data).payload;
      if (p?.$case === 'epoch') epochs.add(p.epoch.epoch);
    }
    return epochs;
  }

  /** Follows every committed event (registry changes included). */
  subscribe(listener: (event: RunEvent) => void): () => void {
    return this.events.subscribe(listener);
  }

  countByState(state: RunState): number {
    return (this.db.prepare('SELECT COUNT(*) AS n FROM runs WHERE state = ?').get(state) as { n: number }).n;
  }

  /** Moves a run to a new state and logs the change; returns false if it was not in `from`. */
  transition(
    id: string,
    to: RunState,
    opts: {
      from?: RunState[];
      message?: string;
      error?: string;
      result?: RunResult;
      /** For a move to RUNNING: where the new attempt runs (default: here). */
      place?: AttemptPlace;
      /** For a move out of RUNNING: how the attempt ended (default: the new state's name). */
      outcome?: string;
    } = {},
  ): boolean {
    return this.write((append) => {
      const row = this.db.prepare('SELECT state, attempts FROM runs WHERE id = ?').get(id) as
        | { state: number; attempts: number }
        | undefined;
      if (!row) return false;
      const from = row.state as RunState;
      if (opts.from && !opts.from.includes(from)) return false;
      const now = Date.now();
      const sets = ['state = ?'];
      const args: unknown[] = [to];
      if (to === RunState.RUN_STATE_RUNNING) {
        sets.push(
          'started_ms = CASE WHEN started_ms = 0 THEN ? ELSE started_ms END',
          'attempts = attempts + 1',
        );
        sets.push("error = ''", 'finished_ms = 0');
        args.push(now);
      }
      if (to === RunState.RUN_STATE_QUEUED) {
        sets.push('queued_ms = ?', 'finished_ms = 0');
        args.push(now);
      }
      if (TERMINAL_STATES.has(to)) {
        sets.push('finished_ms = ?');
        args.push(now);
      }
      if (opts.error !== undefined) {
        sets.push('error = ?');
        args.push(opts.error);
      }
      if (opts.result) {
        sets.push('result_json = ?');
        args.push(JSON.stringify(RunResult.toJSON(opts.result)));
      }
      this.db.prepare(`UPDATE runs SET ${sets.join(', ')} WHERE id = ?`).run(...args, id);
      // Each stay in RUNNING is an attempt: its row opens here and closes on the way out.
      if (from === RunState.RUN_STATE_RUNNING && to !== RunState.RUN_STATE_RUNNING) {
        this.db
          .prepare(
            'UPDATE attempts SET ended_ms = ?, outcome = ? WHERE run_id = ? AND attempt = ? AND ended_ms = 0',
          )
          .run(now, opts.outcome ?? stateName(to).toLowerCase(), id, row.attempts);
      }
      if (to === RunState.RUN_STATE_RUNNING) {
        const p = opts.place ?? {};
        this.db
          .prepare(
            `INSERT OR REPLACE INTO attempts (run_id, attempt, job_attempt, agent_id, agent_instance, host, backend,
               code_revision, started_ms, resumed_after_epoch) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
          )
          .run(
            id,
            row.attempts + 1,
            p.jobAttempt ?? 0,
            p.agentId ?? '',
            p.agentInstance ?? '',
            p.host ?? os.hostname(),
            p.backend ?? '',
            p.codeRevision ?? codeRevision(),
            now,
            p.resumedAfterEpoch ?? 0,
          );
      }
      if (opts.result) append(id, { $case: 'result', result: opts.result });
      append(id, {
        $case: 'state',
        state: { from, to, message: opts.message ?? opts.error ?? '' },
      });
      return true;
    });
  }

  /** The run's attempts, oldest first. */
  attemptHistory(id: string): RunAttempt[] {
    const rows = this.db
      .prepare('SELECT * FROM attempts WHERE run_id = ? ORDER BY attempt')
      .all(id) as AttemptRow[];
    return rows.map((r) => ({
      attempt: r.attempt,
      host: r.host,
      agentId: r.agent_id,
      backend: r.backend,
      codeRevision: r.code_revision,
      dataChecksum: r.data_checksum,
      startedAtUnixMs: r.started_ms,
      endedAtUnixMs: r.ended_ms,
      outcome: r.outcome,
      resumedAfterEpoch: r.resumed_after_epoch,
    }));
  }

  /** The run's current (newest) attempt with the coordinator's cursor of its agent's events. */
  currentAttempt(id: string):
    | {
        attempt: number;
        jobAttempt: number;
        agentId: string;
        agentInstance: string;
        host: string;
        backend: string;
        lastAgentSeq: number;
        endedMs: number;
      }
    | undefined {
    const r = this.db
      .prepare('SELECT * FROM attempts WHERE run_id = ? ORDER BY attempt DESC LIMIT 1')
      .get(id) as AttemptRow | undefined;
    return r
      ? {
          attempt: r.attempt,
          jobAttempt: r.job_attempt,
          agentId: r.agent_id,
          agentInstance: r.agent_instance,
          host: r.host,
          backend: r.backend,
          lastAgentSeq: r.last_agent_seq,
          endedMs: r.ended_ms,
        }
      : undefined;
  }

  /** The backend of the run's first attempt that reported one (a run is pinned to it). */
  pinnedBackend(id: string): string {
    const r = this.db
      .prepare("SELECT backend FROM attempts WHERE run_id = ? AND backend != '' ORDER BY attempt LIMIT 1")
      .get(id) as { backend: string } | undefined;
    return r?.backend ?? '';
  }

  /** Moves the attempt's event cursor (inside the transaction that commits the item). */
  setAgentSeq(id: string, attempt: number, seq: number): void {
    this.db
      .prepare('UPDATE attempts SET last_agent_seq = ? WHERE run_id = ? AND attempt = ?')
      .run(seq, id, attempt);
  }

  /** Records facts the worker reports about itself (backend and what it runs on, data checksum). */
  setMeta(id: string, meta: { backend?: string; backendDetail?: string; dataChecksum?: string }): void {
    const attempt = (
      this.db.prepare('SELECT attempts FROM runs WHERE id = ?').get(id) as { attempts: number } | undefined
    )?.attempts;
    if (attempt !== undefined) {
      if (meta.backend)
        this.db
          .prepare('UPDATE attempts SET backend = ? WHERE run_id = ? AND attempt = ?')
          .run(meta.backend, id, attempt);
      if (meta.dataChecksum)
        this.db
          .prepare('UPDATE attempts SET data_checksum = ? WHERE run_id = ? AND attempt = ?')
          .run(meta.dataChecksum, id, attempt);
    }
    if (meta.backend) this.db.prepare('UPDATE runs SET backend = ? WHERE id = ?').run(meta.backend, id);
    if (meta.backendDetail !== undefined)
      this.db.prepare('UPDATE runs SET backend_detail = ? WHERE id = ?').run(meta.backendDetail, id);
    if (meta.dataChecksum) {
      this.db.prepare('UPDATE runs SET data_checksum = ? WHERE id = ?').run(meta.dataChecksum, id);
    }
  }

  /**
   * Appends a worker event; step and epoch events update the run's progress and checkpoint
   * events its artifacts, in the same transaction.
   */
  appendEvent(id: string, payload: EventPayload, progress?: Progress): void {
    this.write((append) => {
      append(id, payload);
      if (progress) {
        this.db
          .prepare('UPDATE runs SET progress_json = ? WHERE id = ?')
          .run(JSON.stringify(Progress.toJSON(progress)), id);
      }
      if (payload.$case === 'checkpoint' && payload.checkpoint.artifact) {
        const a = payload.checkpoint.artifact;
        this.db
          .prepare(
            `INSERT INTO artifacts (run_id, name, kind, path, epoch, created_ms, metric) VALUES (?, ?, ?, ?, ?, ?, ?)
             ON CONFLICT(run_id, name) DO UPDATE SET kind = excluded.kind, path = excluded.path,
               epoch = excluded.epoch, created_ms = excluded.created_ms, metric = excluded.metric`,
          )
          .run(
            id,
            a.name,
            a.kind || 'checkpoint',
            a.path,
            a.epoch,
            a.createdAtUnixMs || Date.now(),
            a.metric,
          );
      }
    });
  }

  artifacts(id: string): Artifact[] {
    const rows = this.db
      .prepare(
        'SELECT name, kind, path, epoch, created_ms, metric FROM artifacts WHERE run_id = ? ORDER BY name',
      )
      .all(id) as ArtifactRow[];
    return rows.map((r) => ({
      name: r.name,
      kind: r.kind,
      path: r.path,
      epoch: r.epoch,
      createdAtUnixMs: r.created_ms,
      metric: r.metric,
    }));
  }

  lastSeqOf(id: string): number {
    return (
      this.db.prepare('SELECT COALESCE(MAX(seq), 0) AS seq FROM events WHERE run_id = ?').get(id) as {
        seq: number;
      }
    ).seq;
  }

  lastStateSeqOf(id: string): number {
    return (
      this.db
        .prepare("SELECT COALESCE(MAX(seq), 0) AS seq FROM events WHERE run_id = ? AND kind = 'state'")
        .get(id) as { seq: number }
    ).seq;
  }

  private toRun(row: RunRow): Run {
    const config = decodeConfig(row.config_json);
    return {
      id: row.id,
      name: row.name,
      kind: row.kind as RunKind,
      method: row.method,
      state: row.state as RunState,
      config,
      createdAtUnixMs: row.created_ms,
      startedAtUnixMs: row.started_ms,
      finishedAtUnixMs: row.finished_ms,
      error: row.error,
      parentRunId: row.parent_run_id,
      backend: row.backend,
      backendDetail: row.backend_detail,
      seed: row.seed,
      dataChecksum: row.data_checksum,
      codeRevision: row.code_revision,
      progress: Progress.fromJSON(JSON.parse(row.progress_json)),
      result: row.result_json ? RunResult.fromJSON(JSON.parse(row.result_json)) : undefined,
      artifacts: this.artifacts(row.id),
      attempts: row.attempts,
      lastSeq: this.lastSeqOf(row.id),
      dataset: row.dataset,
      studyId: row.study_id,
      labelsUsed: labelsUsedOf(config),
      attemptHistory: this.attemptHistory(row.id),
    };
  }
}
