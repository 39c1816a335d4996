// One attempt of a run on an agent: fetches what the coordinator says to start from, forks the
// ordinary worker entry (training never runs on the agent's event loop, which must keep renewing
// the job's lease), and reports the worker's events up the Attempt stream numbered 1, 2, 3…
// (agent_seq) until the coordinator acknowledges the outcome. Unacknowledged items are kept and
// sent again after a reconnect (the coordinator commits each number once). A checkpoint event
// goes up only after its blob is uploaded, and an epoch event only after the checkpoints on
// disk at that moment are. A fenced attempt (lease lost, or the coordinator says so) kills its
// worker at once and sends nothing more: there is never a second writer.
import { mkdirSync, rmSync } from 'node:fs';
import path from 'node:path';
import type * as grpc from '@grpc/grpc-js';
import type {
  AgentServiceClient,
  AttemptItem,
  AttemptResponse,
  BeginAttemptResponse,
} from '../../../gen/ts/pretext/v1/agent.js';
import { LogLevel } from '../../../gen/ts/pretext/v1/event.js';
import type { JobSpec, ParentRunSpec } from '../../shared/worker-protocol.js';
import type { Logger } from '../log.js';
import { configOf, jobKind } from '../runs/scheduler.js';
import type { WorkerLauncher } from '../runs/worker-launcher.js';
import { WorkerProcess, type WorkerOutcome } from '../runs/worker-process.js';
import { downloadCheckpoint, type Md, uploadCheckpoint } from './transfer.js';

export interface AttemptContext {
  client: AgentServiceClient;
  md: Md;
  log: Logger;
  agentId: string;
  stateDir: string;
  dataDir: string;
  allowDownload: boolean;
  /** The agent's workers (with its spares). */
  launcher: WorkerLauncher;
  graceMs: number;
}

type Item = Omit<AttemptItem, 'agentSeq'> & { agentSeq?: number };

const MAX_OUTPUT_LINES = 500;
const RETRY_MS = 500;

export class RemoteAttempt {
  private seq = 0;
  private acked = 0;
  private readonly pending: AttemptItem[] = [];
  private call:
    | grpc.ClientDuplexStream<import('../../../gen/ts/pretext/v1/agent.js').AttemptRequest, AttemptResponse>
    | undefined;
  private synced = false;
  private worker: WorkerProcess | undefined;
  private chain: Promise<void> = Promise.resolve();
  private fenced = false;
  private finished = false;
  private outcomeSeq = 0;
  private outputLines = 0;
  private resolveDone!: () => void;
  readonly done: Promise<void> = new Promise((r) => {
    this.resolveDone = r;
  });
  readonly runId: string;
  readonly attempt: number;

  constructor(
    private readonly ctx: AttemptContext,
    private readonly begin: BeginAttemptResponse,
  ) {
    this.runId = begin.run!.id;
    this.attempt = begin.attempt;
  }

  get pid(): number | undefined {
    return this.worker?.pid;
  }

  private runDirOf(runId: string): string {
    return path.join(this.ctx.stateDir, 'runs', runId);
  }

  async start(): Promise<void> {
    const { begin, ctx } = this;
    const run = begin.run!;
    const dir = this.runDirOf(run.id);
    const cache = path.join(ctx.stateDir, 'blobs');
    // Only what the coordinator committed counts: stale local checkpoints of an earlier attempt go.
    rmSync(path.join(dir, 'checkpoints'), { recursive: true, force: true });
    mkdirSync(dir, { recursive: true });
    for (const c of begin.checkpoints)
      await downloadCheckpoint(ctx.client, ctx.md, c.sha256, cache, path.join(dir, 'checkpoints', c.name));
    let parent: ParentRunSpec | undefined;
    if (begin.parent) {
      const pdir = path.join(ctx.stateDir, 'parents', begin.parent.id);
      for (const c of begin.parentCheckpoints)
        await downloadCheckpoint(ctx.client, ctx.md, c.sha256, cache, path.join(pdir, 'checkpoints', c.name));
      parent = {
        runId: begin.parent.id,
        kind: jobKind(begin.parent.kind),
        method: begin.parent.method,
        runDir: pdir,
        config: configOf(begin.parent),
      };
    }
    const job: JobSpec = {
      runId: run.id,
      kind: jobKind(run.kind),
      method: run.method,
      config: configOf(run),
      runDir: dir,
      dataDir: ctx.dataDir,
      allowDownload: ctx.allowDownload,
      backend: begin.backend,
      seed: run.seed,
      resume: begin.resume,
      loggedEpochs: begin.loggedEpochs,
      parent,
    };
    this.connect();
    if (this.fenced) return;
    this.worker = new WorkerProcess(ctx.launcher, job, {
      onMessage: (msg) => {
        if (msg.type === 'meta') {
          this.later(async () =>
            this.push({
              item: {
                $case: 'meta',
                meta: {
                  backend: msg.backend ?? '',
                  backendDetail: msg.backendDetail ?? '',
                  dataChecksum: msg.dataChecksum ?? '',
                },
              },
              checkpointSha256: '',
            }),
          );
        } else if (msg.type === 'event') {
          const payload = msg.payload;
          this.later(async () => {
            let sha = '';
            if (payload.$case === 'epoch') {
              // The trainer writes an epoch's checkpoints before its event: put them up first.
              for (const name of ['last', 'best']) await this.upload(path.join(dir, 'checkpoints', name));
            } else if (payload.$case === 'checkpoint' && payload.checkpoint.artifact) {
              const a = payload.checkpoint.artifact;
              sha = (await this.upload(path.join(dir, 'checkpoints', a.name))) ?? '';
              if (!sha) return;
            }
            this.push({
              item: { $case: 'event', event: { seq: 0, runId: run.id, timeUnixMs: Date.now(), payload } },
              checkpointSha256: sha,
            });
          });
        }
      },
      onOutput: (line, stream) => {
        if (this.outputLines++ >= MAX_OUTPUT_LINES) return;
        this.later(async () =>
          this.push({
            item: {
              $case: 'event',
              event: {
                seq: 0,
                runId: run.id,
                timeUnixMs: Date.now(),
                payload: {
                  $case: 'log',
                  log: {
                    level: stream === 'stderr' ? LogLevel.LOG_LEVEL_WARN : LogLevel.LOG_LEVEL_INFO,
                    message: line,
                  },
                },
              },
            },
            checkpointSha256: '',
          }),
        );
      },
      onExit: (outcome) => this.later(async () => this.reportOutcome(outcome)),
    });
  }

  /** Runs `fn` after every earlier item (uploads keep items in order). */
  private later(fn: () => Promise<void>): void {
    this.chain = this.chain.then(async () => {
      if (this.fenced) return;
      for (;;) {
        try {
          await fn();
          return;
        } catch (err) {
          if (this.fenced) return;
          this.ctx.log.warn('agent could not report an item; retrying', {
            run: this.runId,
            error: String(err),
          });
          await new Promise((r) => setTimeout(r, RETRY_MS));
        }
      }
    });
  }

  private async upload(dir: string): Promise<string | undefined> {
    return uploadCheckpoint(this.ctx.client, this.ctx.md, dir);
  }

  private reportOutcome(outcome: WorkerOutcome): void {
    const o =
      outcome.type === 'done'
        ? { type: 'done', result: outcome.result, error: '' }
        : { type: outcome.type, result: undefined, error: outcome.type === 'cancelled' ? '' : outcome.error };
    this.push({ item: { $case: 'outcome', outcome: o }, checkpointSha256: '' });
    this.outcomeSeq = this.seq;
    this.finished = true;
    this.checkDone();
  }

  private push(item: Item): void {
    const full: AttemptItem = { ...item, agentSeq: ++this.seq };
    this.pending.push(full);
    if (this.synced) this.call?.write({ message: { $case: 'item', item: full } });
  }

  private connect(): void {
    if (this.fenced || this.call) return;
    const call = this.ctx.client.attempt(this.ctx.md());
    this.call = call;
    this.synced = false;
    call.write({
      message: {
        $case: 'hello',
        hello: { runId: this.runId, attempt: this.attempt, agentId: this.ctx.agentId },
      },
    });
    call.on('data', (res: AttemptResponse) => {
      const m = res.message;
      if (m?.$case === 'ackedSeq') {
        const n = Number(m.ackedSeq);
        if (n > this.acked) this.acked = n;
        while (this.pending.length && Number(this.pending[0]!.agentSeq) <= this.acked) this.pending.shift();
        if (!this.synced) {
          // First answer after (re)connecting: send everything it has not committed.
          this.synced = true;
          for (const item of this.pending) call.write({ message: { $case: 'item', item } });
        }
        this.checkDone();
      } else if (m?.$case === 'cancel') {
        this.ctx.log.info('cancel from the coordinator', { run: this.runId });
        this.worker?.stop(this.ctx.graceMs);
      } else if (m?.$case === 'fenced') {
        this.fence(`coordinator: ${m.fenced}`);
      }
    });
    const lost = () => {
      if (this.call !== call) return;
      this.call = undefined;
      this.synced = false;
      if (this.fenced || (this.finished && this.acked >= this.outcomeSeq)) return;
      setTimeout(() => this.connect(), RETRY_MS).unref();
    };
    call.on('error', lost);
    call.on('end', lost);
  }

  private checkDone(): void {
    if (this.finished && this.acked >= this.outcomeSeq && !this.fenced) {
      this.call?.end();
      this.call = undefined;
      this.resolveDone();
    }
  }

  /** This agent no longer owns the attempt: stop the worker now and report nothing more. */
  fence(reason: string): void {
    if (this.fenced) return;
    this.fenced = true;
    this.ctx.log.warn('attempt fenced: killing its worker', {
      run: this.runId,
      attempt: this.attempt,
      reason,
    });
    this.worker?.kill();
    this.pending.length = 0;
    const call = this.call;
    this.call = undefined;
    call?.end();
    call?.cancel();
    this.resolveDone();
  }

  get isFenced(): boolean {
    return this.fenced;
  }
}
