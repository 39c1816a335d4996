// The coordinator side of scale-out (pretextd --queue). Runnable runs become BullMQ jobs
// {runId, attempt} with jobId "<runId>.<attempt>" on the queue of a backend; agents take them
// and talk to the AgentService here for everything else. This process stays the only writer of
// the registry and the event log: an agent's events are committed here, one at a time, in the
// order the agent numbered them (agent_seq), and only while the agent's attempt is the run's
// current one (the fence). Redis holds no state the coordinator relies on: leases (a dead
// agent's job comes back to the head of its queue) and dispatch only.
import { revisionMismatch } from './revision.js';
import path from 'node:path';
import { mkdirSync } from 'node:fs';
import {
  type ServerDuplexStream,
  type ServerUnaryCall,
  type ServerWritableStream,
  type sendUnaryData,
  status,
} from '@grpc/grpc-js';
import { Queue } from 'bullmq';
import type {
  AgentServiceServer,
  AttemptItem,
  AttemptRequest,
  AttemptResponse,
  BeginAttemptRequest,
  BeginAttemptResponse,
  CheckpointBlob,
  DownloadBlobRequest,
  DownloadBlobResponse,
  RegisterAgentRequest,
  RegisterAgentResponse,
  StatBlobRequest,
  StatBlobResponse,
  UploadBlobRequest,
  UploadBlobResponse,
} from '../../../gen/ts/pretext/v1/agent.js';
import type { AgentInfo } from '../../../gen/ts/pretext/v1/cluster.js';
import { type Run, RunState } from '../../../gen/ts/pretext/v1/run.js';
import { BACKEND_NAMES } from '../../shared/backends/probe.js';
import { codeRevision } from '../../shared/version.js';
import type { Logger } from '../log.js';
import type { Db } from '../runs/db.js';
import type { RunRegistry } from '../runs/registry.js';
import { epochsOf, progressOf, runDir, withoutStackFrames, type RemoteDispatch } from '../runs/scheduler.js';
import { unpackCheckpoint } from './bundle.js';
import { BlobStore, CHUNK_BYTES, isSha256, MAX_BLOB_BYTES } from './blobs.js';
import { jobId, QUEUE_PREFIX, type QueueConnection, queueName } from './queue-url.js';

export interface CoordinatorOptions {
  db: Db;
  registry: RunRegistry;
  stateDir: string;
  log: Logger;
  queue: QueueConnection;
  /** Backend for runs when no agent has registered yet and the daemon's --backend is not auto. */
  defaultBackend: string;
  /** How often agents call RegisterAgent (default 2 s); offline after 3 missed. */
  heartbeatMs?: number;
}

export interface JobData {
  runId: string;
  attempt: number;
}

class RpcFail extends Error {
  constructor(
    readonly code: status,
    message: string,
  ) {
    super(message);
  }
}

interface AgentRow {
  id: string;
  host: string;
  slots: number;
  backends_json: string;
  busy: number;
  version: string;
  code_revision: string;
  last_seen_ms: number;
}

interface LiveStream {
  attempt: number;
  write(msg: AttemptResponse): void;
  end(): void;
}

const MAX_OUTPUT_LOGS = 500;

export class Coordinator implements RemoteDispatch {
  private readonly queues = new Map<string, Queue<JobData>>();
  private readonly blobs: BlobStore;
  private readonly streams = new Map<string, LiveStream>();
  /** Runs whose cancel the agent must hear (sent on every (re)connection). */
  private readonly cancels = new Set<string>();
  /** Runs to fail when their attempt ends, and why (a data checksum that is not the study's). */
  private readonly refusals = new Map<string, string>();
  /** Runs waiting for an agent to register (no backend to queue them on yet). */
  private readonly waiting = new Map<string, Run>();
  private readonly logged = new Map<string, { attempt: number; epochs: Set<number>; logs: number }>();
  private readonly heartbeatMs: number;
  private closed = false;

  constructor(private readonly opts: CoordinatorOptions) {
    this.blobs = new BlobStore(opts.stateDir);
    this.heartbeatMs = opts.heartbeatMs ?? 2_000;
  }

  private queueFor(backend: string): Queue<JobData> {
    let q = this.queues.get(backend);
    if (!q) {
      q = new Queue<JobData>(queueName(backend), {
        connection: this.opts.queue.options,
        prefix: QUEUE_PREFIX,
      });
      q.on('error', (err) => this.opts.log.warn('queue error', { error: err.message }));
      this.queues.set(backend, q);
    }
    return q;
  }

  /**
   * After a restart: RUNNING runs an agent owns are left to it (it reconnects and goes on),
   * unless their job is gone from the queue, then they resume from their last checkpoint.
   */
  async reconcile(): Promise<void> {
    const running = this.opts.registry.list({ states: [RunState.RUN_STATE_RUNNING], limit: 100_000 });
    for (const run of running) {
      const cur = this.opts.registry.currentAttempt(run.id);
      if (!cur?.agentId) continue;
      const state = await this.jobState(jobId(run.id, cur.jobAttempt));
      if (state === 'active' || state === 'waiting' || state === 'prioritized' || state === 'delayed') {
        this.opts.log.info('run still held by its agent', { run: run.id, agent: cur.agentId, job: state });
        continue;
      }
      this.opts.registry.transition(run.id, RunState.RUN_STATE_INTERRUPTED, {
        from: [RunState.RUN_STATE_RUNNING],
        error: `its job left the queue while the coordinator was down (${state}); resuming from the last checkpoint`,
      });
      this.opts.registry.transition(run.id, RunState.RUN_STATE_QUEUED, {
        from: [RunState.RUN_STATE_INTERRUPTED],
        message: 'queued to resume after coordinator restart',
      });
    }
  }

  private async jobState(id: string): Promise<string> {
    for (const b of BACKEND_NAMES) {
      const job = await this.queueFor(b).getJob(id);
      if (job) return job.getState();
    }
    return 'unknown';
  }

  // ---- dispatch (called by the scheduler) ----

  enqueue(run: Run): void {
    void this.add(run).catch((err: Error) => {
      this.opts.log.warn('could not queue the run; retrying', { run: run.id, error: err.message });
      setTimeout(() => {
        const now = this.opts.registry.get(run.id);
        if (!this.closed && now?.state === RunState.RUN_STATE_QUEUED) this.enqueue(now);
      }, 1_000).unref();
    });
  }

  private async add(run: Run): Promise<void> {
    const attempt = run.attempts + 1;
    const id = jobId(run.id, attempt);
    // Queued before a restart (perhaps on another backend's queue): adding it again would let
    // two agents begin the same attempt.
    for (const b of BACKEND_NAMES) {
      const job = await this.queueFor(b).getJob(id);
      if (!job) continue;
      const state = await job.getState();
      // A job of this id that already ended (its answer "not wanted") is stale: the run wants
      // this attempt now.
      if (state !== 'completed' && state !== 'failed') return;
      await job.remove();
    }
    const backend = this.opts.registry.pinnedBackend(run.id) || this.pickBackend();
    if (!backend) {
      this.waiting.set(run.id, run);
      this.opts.log.info('run waits for an agent', { run: run.id });
      return;
    }
    await this.queueFor(backend).add(
      'run',
      { runId: run.id, attempt },
      { jobId: id, removeOnComplete: 1000, removeOnFail: 1000 },
    );
    this.opts.log.info('run queued for agents', { run: run.id, job: id, backend });
  }

  /** The backend whose online agents have the most free slots. */
  private pickBackend(): string | undefined {
    const free = new Map<string, number>();
    for (const a of this.agents()) {
      if (!a.online) continue;
      for (const b of a.backends)
        free.set(b, (free.get(b) ?? 0) + Math.max(0, a.slots - a.busy) + a.slots / 1000);
    }
    let best: string | undefined;
    for (const [b, n] of free) if (best === undefined || n > free.get(best)!) best = b;
    if (best) return best;
    return this.opts.defaultBackend !== 'auto' ? this.opts.defaultBackend : undefined;
  }

  cancel(runId: string): boolean {
    const run = this.opts.registry.get(runId);
    if (run?.state !== RunState.RUN_STATE_RUNNING) {
      this.waiting.delete(runId);
      return false;
    }
    const cur = this.opts.registry.currentAttempt(runId);
    if (!cur?.agentId) return false;
    this.cancels.add(runId);
    this.streams.get(runId)?.write({ message: { $case: 'cancel', cancel: true } });
    return true;
  }

  // ---- agents ----

  agents(): AgentInfo[] {
    const rows = this.opts.db.prepare('SELECT * FROM agents ORDER BY id').all() as AgentRow[];
    const now = Date.now();
    return rows.map((r) => ({
      id: r.id,
      host: r.host,
      slots: r.slots,
      backends: JSON.parse(r.backends_json) as string[],
      busy: r.busy,
      lastSeenUnixMs: r.last_seen_ms,
      version: r.version,
      codeRevision: r.code_revision,
      online: now - r.last_seen_ms < 3 * this.heartbeatMs + 1_000,
    }));
  }

  get display(): string {
    return this.opts.queue.display;
  }

  async close(): Promise<void> {
    this.closed = true;
    for (const s of this.streams.values()) s.end();
    this.streams.clear();
    await Promise.all([...this.queues.values()].map((q) => q.close().catch(() => {})));
  }

  // ---- the AgentService ----

  service(): AgentServiceServer {
    return {
      registerAgent: this.unary('RegisterAgent', (req: RegisterAgentRequest) => this.register(req)),
      beginAttempt: this.unary('BeginAttempt', (req: BeginAttemptRequest) => this.begin(req)),
      attempt: (call) => this.attemptStream(call),
      statBlob: this.unary('StatBlob', (req: StatBlobRequest): StatBlobResponse => {
        if (!isSha256(req.sha256))
          throw new RpcFail(status.INVALID_ARGUMENT, 'sha256 must be 64 lowercase hex digits');
        const s = this.blobs.stat(req.sha256);
        return { complete: s.complete, haveBytes: s.haveBytes };
      }),
      uploadBlob: (call, callback) => this.upload(call, callback),
      downloadBlob: (call) => this.download(call),
    };
  }

  private unary<Req, Res>(name: string, fn: (req: Req) => Res | Promise<Res>) {
    return (call: ServerUnaryCall<Req, Res>, callback: sendUnaryData<Res>) => {
      Promise.resolve()
        .then(() => fn(call.request))
        .then(
          (res) => callback(null, res),
          (err: unknown) => {
            if (err instanceof RpcFail) callback({ code: err.code, details: err.message });
            else {
              this.opts.log.error('agent call failed', { rpc: name, error: String(err) });
              callback({ code: status.INTERNAL, details: `${name} failed: ${String(err).slice(0, 200)}` });
            }
          },
        );
    };
  }

  private register(req: RegisterAgentRequest): RegisterAgentResponse {
    if (!/^[A-Za-z0-9._-]{1,64}$/.test(req.agentId))
      throw new RpcFail(status.INVALID_ARGUMENT, 'agent_id must be 1..64 letters, digits, ".", "_" or "-"');
    if (req.slots < 1 || req.slots > 256) throw new RpcFail(status.INVALID_ARGUMENT, 'slots must be 1..256');
    const backends = req.backends.filter((b) => (BACKEND_NAMES as readonly string[]).includes(b));
    if (backends.length === 0)
      throw new RpcFail(status.INVALID_ARGUMENT, `backends must name one of: ${BACKEND_NAMES.join(', ')}`);
    const mine = codeRevision();
    if (req.codeRevision !== mine) {
      throw new RpcFail(status.FAILED_PRECONDITION, revisionMismatch(req.codeRevision, mine));
    }
    const now = Date.now();
    const known = this.opts.db.prepare('SELECT 1 FROM agents WHERE id = ?').get(req.agentId);
    this.opts.db
      .prepare(
        `INSERT INTO agents (id, host, slots, backends_json, busy, version, code_revision, first_seen_ms, last_seen_ms)
           VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
         ON CONFLICT(id) DO UPDATE SET host = excluded.host, slots = excluded.slots, backends_json = excluded.backends_json,
           busy = excluded.busy, version = excluded.version, code_revision = excluded.code_revision, last_seen_ms = excluded.last_seen_ms`,
      )
      .run(
        req.agentId,
        req.host.slice(0, 255),
        req.slots,
        JSON.stringify(backends),
        req.busy,
        req.version.slice(0, 40),
        req.codeRevision,
        now,
        now,
      );
    if (!known)
      this.opts.log.info('agent registered', {
        agent: req.agentId,
        host: req.host,
        slots: req.slots,
        backends,
      });
    if (this.waiting.size) {
      const runs = [...this.waiting.values()];
      this.waiting.clear();
      for (const r of runs) this.enqueue(r);
    }
    return { codeRevision: mine, heartbeatMs: this.heartbeatMs };
  }

  private blobOf(run: Run, name: string): CheckpointBlob | undefined {
    const a = run.artifacts.find((x) => x.name === name && x.kind === 'checkpoint');
    if (!a) return undefined;
    const packed = this.blobs.putCheckpoint(a.path);
    return packed ? { name, epoch: a.epoch, sha256: packed.sha256, size: packed.size } : undefined;
  }

  private begin(req: BeginAttemptRequest): BeginAttemptResponse {
    const reg = this.opts.registry;
    const run = reg.get(req.runId);
    if (!run) throw new RpcFail(status.NOT_FOUND, `run ${req.runId.slice(0, 80)} does not exist`);
    if (req.codeRevision !== codeRevision())
      throw new RpcFail(status.FAILED_PRECONDITION, revisionMismatch(req.codeRevision, codeRevision()));
    const cur = reg.currentAttempt(run.id);
    const fresh = run.state === RunState.RUN_STATE_QUEUED && req.jobAttempt === run.attempts + 1;
    // The same job again while the run is RUNNING: BullMQ gave it to this agent because the
    // previous owner's lease expired (killed, frozen, cut off). That attempt is fenced now.
    const redelivered =
      run.state === RunState.RUN_STATE_RUNNING &&
      cur !== undefined &&
      cur.agentId !== '' &&
      cur.jobAttempt === req.jobAttempt;
    if (!fresh && !redelivered)
      throw new RpcFail(
        status.FAILED_PRECONDITION,
        `run ${run.id} no longer wants job attempt ${req.jobAttempt}`,
      );
    const pinned = reg.pinnedBackend(run.id);
    if (pinned && pinned !== req.backend)
      throw new RpcFail(
        status.FAILED_PRECONDITION,
        `run ${run.id} is pinned to backend ${pinned}, this agent runs ${req.backend}`,
      );
    // The same agent process asking again (its answer was lost to a coordinator restart): the
    // attempt it already owns, unchanged.
    if (redelivered && cur && req.instance && cur.agentInstance === req.instance) {
      return this.answer(reg.get(run.id)!, cur.attempt, pinned || req.backend);
    }
    if (redelivered && cur) {
      this.fence(run.id, `agent ${cur.agentId} on ${cur.host} lost its lease on the run`);
      reg.transition(run.id, RunState.RUN_STATE_INTERRUPTED, {
        from: [RunState.RUN_STATE_RUNNING],
        error: `agent ${cur.agentId} on ${cur.host} lost its lease (killed, frozen or cut off); resuming on ${req.host}`,
        outcome: 'lost',
      });
      if (this.cancels.has(run.id)) {
        this.cancels.delete(run.id);
        reg.transition(run.id, RunState.RUN_STATE_CANCELLED, {
          from: [RunState.RUN_STATE_INTERRUPTED],
          message: 'cancelled',
        });
        throw new RpcFail(status.FAILED_PRECONDITION, `run ${run.id} was cancelled`);
      }
    }
    const latest = reg.get(run.id)!;
    const last = latest.attempts > 0 ? this.blobOf(latest, 'last') : undefined;
    const resumedAfter = last?.epoch ?? 0;
    const attempt = latest.attempts + 1;
    const moved = reg.transition(run.id, RunState.RUN_STATE_RUNNING, {
      from: [RunState.RUN_STATE_QUEUED, RunState.RUN_STATE_INTERRUPTED],
      message:
        latest.attempts > 0
          ? `resuming (attempt ${attempt}) on ${req.host} after epoch ${resumedAfter}`
          : `started on ${req.host}`,
      place: {
        host: req.host,
        agentId: req.agentId,
        agentInstance: req.instance,
        backend: pinned || req.backend,
        codeRevision: req.codeRevision,
        jobAttempt: req.jobAttempt,
        resumedAfterEpoch: resumedAfter,
      },
    });
    if (!moved) throw new RpcFail(status.FAILED_PRECONDITION, `run ${run.id} changed state; job dropped`);
    this.opts.log.info('attempt began', {
      run: run.id,
      attempt,
      agent: req.agentId,
      host: req.host,
      resumedAfter,
    });
    return this.answer(reg.get(run.id)!, attempt, pinned || req.backend);
  }

  /** What an agent needs to run `attempt` of `run`: config, checkpoints to resume from, parent. */
  private answer(run: Run, attempt: number, backend: string): BeginAttemptResponse {
    const reg = this.opts.registry;
    const resume = attempt > 1;
    const checkpoints: CheckpointBlob[] = [];
    if (resume) {
      for (const name of ['last', 'best']) {
        const b = this.blobOf(run, name);
        if (b) checkpoints.push(b);
      }
    }
    const parent = run.parentRunId ? reg.get(run.parentRunId) : undefined;
    const parentCheckpoints: CheckpointBlob[] = [];
    if (parent) {
      for (const name of ['best', 'last']) {
        const b = this.blobOf(parent, name);
        if (b) parentCheckpoints.push(b);
      }
    }
    return {
      attempt,
      run,
      backend,
      checkpoints,
      resume,
      loggedEpochs: [...reg.loggedEpochs(run.id)],
      parent,
      parentCheckpoints,
    };
  }

  /** Tells the attempt's agent, if connected, that it no longer owns the run. */
  private fence(runId: string, why: string): void {
    const s = this.streams.get(runId);
    if (!s) return;
    s.write({ message: { $case: 'fenced', fenced: why } });
    s.end();
    this.streams.delete(runId);
  }

  private isCurrent(runId: string, attempt: number): boolean {
    const run = this.opts.registry.get(runId);
    return run?.state === RunState.RUN_STATE_RUNNING && run.attempts === attempt;
  }

  private attemptStream(call: ServerDuplexStream<AttemptRequest, AttemptResponse>): void {
    let bound: { runId: string; attempt: number } | undefined;
    let live: LiveStream | undefined;
    const write = (msg: AttemptResponse) => {
      if (!call.writableEnded && !call.destroyed) call.write(msg);
    };
    const end = () => {
      if (!call.writableEnded) call.end();
    };
    const refuse = (why: string) => {
      write({ message: { $case: 'fenced', fenced: why } });
      end();
    };
    const drop = () => {
      if (bound && live && this.streams.get(bound.runId) === live) this.streams.delete(bound.runId);
    };
    call.on('data', (req: AttemptRequest) => {
      try {
        const m = req.message;
        if (m?.$case === 'hello') {
          const { runId, attempt } = m.hello;
          if (!this.isCurrent(runId, attempt))
            return refuse(`attempt ${attempt} of run ${runId.slice(0, 80)} is not the run's current attempt`);
          drop();
          bound = { runId, attempt };
          live = { attempt, write, end };
          const old = this.streams.get(runId);
          if (old && old !== live) old.end();
          this.streams.set(runId, live);
          const cur = this.opts.registry.currentAttempt(runId)!;
          write({ message: { $case: 'ackedSeq', ackedSeq: cur.lastAgentSeq } });
          if (this.cancels.has(runId)) write({ message: { $case: 'cancel', cancel: true } });
          return;
        }
        if (m?.$case !== 'item') return;
        if (!bound) return refuse('send hello first');
        if (!this.isCurrent(bound.runId, bound.attempt))
          return refuse(`attempt ${bound.attempt} of run ${bound.runId} was fenced`);
        const last = this.opts.registry.currentAttempt(bound.runId)!.lastAgentSeq;
        const seq = Number(m.item.agentSeq);
        // A repeat (already committed) or a gap (an earlier item is missing): say where we are.
        if (seq !== last + 1) return write({ message: { $case: 'ackedSeq', ackedSeq: last } });
        this.commit(bound.runId, bound.attempt, seq, m.item);
        write({ message: { $case: 'ackedSeq', ackedSeq: seq } });
      } catch (err) {
        this.opts.log.error('agent stream item failed', { run: bound?.runId, error: String(err) });
        call.destroy(err instanceof Error ? err : new Error(String(err)));
      }
    });
    call.on('end', () => {
      drop();
      end();
    });
    call.on('error', drop);
    call.on('close', drop);
  }

  /** Commits one item of the current attempt together with the attempt's cursor. */
  private commit(runId: string, attempt: number, seq: number, item: AttemptItem): undefined {
    const reg = this.opts.registry;
    const skip = (): undefined => {
      reg.atomically(() => reg.setAgentSeq(runId, attempt, seq));
      return undefined;
    };
    const it = item.item;
    let memo = this.logged.get(runId);
    if (!memo || memo.attempt !== attempt) {
      memo = { attempt, epochs: reg.loggedEpochs(runId), logs: 0 };
      this.logged.set(runId, memo);
    }
    if (it?.$case === 'event') {
      const payload = it.event.payload;
      if (!payload) return skip();
      if (payload.$case === 'checkpoint' && payload.checkpoint.artifact) {
        const a = payload.checkpoint.artifact;
        const sha = item.checkpointSha256;
        if (!isSha256(sha) || !this.blobs.stat(sha).complete)
          throw new Error(`checkpoint ${a.name} of ${runId}: blob ${sha.slice(0, 12)} was not uploaded`);
        if (a.name !== 'best' && a.name !== 'last')
          throw new Error(`checkpoint name ${a.name.slice(0, 20)} is not best or last`);
        const dir = path.join(runDir(this.opts.stateDir, runId), 'checkpoints', a.name);
        mkdirSync(path.dirname(dir), { recursive: true });
        unpackCheckpoint(this.blobs.read(sha, 0, MAX_BLOB_BYTES).data, dir);
        a.path = dir;
      }
      if (payload.$case === 'epoch') {
        if (memo.epochs.has(payload.epoch.epoch)) return skip();
        memo.epochs.add(payload.epoch.epoch);
      }
      if (payload.$case === 'log' && memo.logs++ >= MAX_OUTPUT_LOGS) return skip();
      const run = reg.get(runId)!;
      reg.atomically(() => {
        reg.appendEvent(runId, payload, progressOf(payload, { epochs: epochsOf(run) }));
        reg.setAgentSeq(runId, attempt, seq);
      });
      return;
    }
    if (it?.$case === 'meta') {
      const m = it.meta;
      reg.atomically(() => {
        reg.setMeta(runId, {
          backend: m.backend || undefined,
          backendDetail: m.backendDetail || undefined,
          dataChecksum: m.dataChecksum || undefined,
        });
        reg.setAgentSeq(runId, attempt, seq);
      });
      if (m.dataChecksum) this.checkChecksum(runId, m.dataChecksum);
      return;
    }
    if (it?.$case === 'outcome') {
      const o = it.outcome;
      const from = [RunState.RUN_STATE_RUNNING];
      const refusal = this.refusals.get(runId);
      const cancelled = this.cancels.has(runId);
      reg.atomically(() => {
        reg.setAgentSeq(runId, attempt, seq);
        if (refusal) reg.transition(runId, RunState.RUN_STATE_FAILED, { from, error: refusal });
        else if (o.type === 'done')
          reg.transition(runId, RunState.RUN_STATE_SUCCEEDED, {
            from,
            result: o.result,
            message: 'succeeded',
          });
        else if (cancelled && o.type !== 'failed')
          reg.transition(runId, RunState.RUN_STATE_CANCELLED, { from, message: 'cancelled' });
        else
          reg.transition(runId, RunState.RUN_STATE_FAILED, {
            from,
            error: withoutStackFrames(o.error || `worker ${o.type}`),
          });
      });
      this.cancels.delete(runId);
      this.refusals.delete(runId);
      this.logged.delete(runId);
      this.opts.log.info('attempt ended', { run: runId, attempt, outcome: o.type });
      return;
    }
    reg.atomically(() => reg.setAgentSeq(runId, attempt, seq));
  }

  /** A run's data must be the same bytes as its earlier attempts' and its study's. */
  private checkChecksum(runId: string, checksum: string): void {
    const run = this.opts.registry.get(runId);
    if (!run) return;
    const sums = new Set(
      this.opts.registry
        .attemptHistory(runId)
        .map((a) => a.dataChecksum)
        .filter((c) => c),
    );
    if (run.studyId) {
      const rows = this.opts.db
        .prepare(
          "SELECT data_checksum FROM runs WHERE study_id = ? AND dataset = ? AND data_checksum != '' AND id != ?",
        )
        .all(run.studyId, run.dataset, runId) as Array<{ data_checksum: string }>;
      for (const r of rows) sums.add(r.data_checksum);
    }
    const other = [...sums].find((c) => c !== checksum);
    if (!other) return;
    const why = `the agent's ${run.dataset} data (checksum ${checksum.slice(0, 16)}…) differs from the ${run.studyId ? 'study' : 'run'}'s (${other.slice(0, 16)}…); give every agent the same data dir contents`;
    this.opts.log.error('data checksum mismatch', { run: runId, got: checksum, expected: other });
    this.refusals.set(runId, why);
    this.cancels.add(runId);
    this.streams.get(runId)?.write({ message: { $case: 'cancel', cancel: true } });
  }

  private upload(call: ServerReadableStreamLike, callback: sendUnaryData<UploadBlobResponse>): void {
    let sha = '';
    let size = 0;
    let offset = 0;
    let result = { complete: false, haveBytes: 0 };
    let failed = false;
    call.on('data', (req: UploadBlobRequest) => {
      if (failed) return;
      try {
        if (!sha) {
          if (!isSha256(req.sha256))
            throw new RpcFail(status.INVALID_ARGUMENT, 'sha256 must be 64 lowercase hex digits');
          sha = req.sha256;
          size = Number(req.size);
          offset = Number(req.offset);
          if (!(size > 0 && size <= MAX_BLOB_BYTES))
            throw new RpcFail(status.INVALID_ARGUMENT, `size must be 1..${MAX_BLOB_BYTES}`);
        }
        if (req.data.length > 0 || result.haveBytes === 0) {
          result = this.blobs.append(sha, size, offset, req.data);
          offset += req.data.length;
        }
      } catch (err) {
        failed = true;
        const e =
          err instanceof RpcFail
            ? err
            : new RpcFail(status.FAILED_PRECONDITION, String((err as Error).message ?? err));
        callback({ code: e.code, details: e.message });
      }
    });
    call.on('end', () => {
      if (!failed) callback(null, result);
    });
  }

  private download(call: ServerWritableStream<DownloadBlobRequest, DownloadBlobResponse>): void {
    const { sha256 } = call.request;
    if (!isSha256(sha256) || !this.blobs.stat(sha256).complete) {
      call.destroy(
        Object.assign(new Error(`blob ${sha256.slice(0, 64)} is not stored here`), {
          code: status.NOT_FOUND,
        }),
      );
      return;
    }
    let offset = Number(call.request.offset);
    const pump = () => {
      for (;;) {
        const { data, size } = this.blobs.read(sha256, offset, CHUNK_BYTES);
        if (data.length === 0) {
          call.end();
          return;
        }
        const ok = call.write({ offset, data, size });
        offset += data.length;
        if (!ok) {
          call.once('drain', pump);
          return;
        }
      }
    };
    pump();
  }
}

type ServerReadableStreamLike = import('@grpc/grpc-js').ServerReadableStream<
  UploadBlobRequest,
  UploadBlobResponse
>;
