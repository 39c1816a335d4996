// FIFO scheduler with a concurrency limit. Each run trains in its own worker process; this
// module only moves runs through their states and relays worker events into the registry.
// A run waits in the queue while the run it builds on (pretext → downstream, target →
// evaluation) has not produced what it needs, so a whole pipeline can be queued at once.
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { LogLevel } from '../../../gen/ts/pretext/v1/event.js';
import { type Progress, type Run, RunKind, RunState } from '../../../gen/ts/pretext/v1/run.js';
import { datasetsDirOf } from '../../shared/data/imported.js';
import type { JobKind, JobSpec, ParentRunSpec } from '../../shared/worker-protocol.js';
import { RunQueue } from './run-queue.js';
import { WorkerLauncher } from './worker-launcher.js';
import { WorkerProcess, type WorkerOutcome } from './worker-process.js';
import type { Logger } from '../log.js';
import { FINAL_STATES, type RunRegistry, stateName } from './registry.js';

export interface SchedulerOptions {
  stateDir: string;
  dataDir: string;
  backend: string;
  allowDownload: boolean;
  maxConcurrentRuns: number;
  workerEntry: string;
  /** How long a worker may take to stop after a cancel before it is killed. */
  graceMs: number;
  log: Logger;
  /** Environment for worker processes. */
  workerEnv?: NodeJS.ProcessEnv;
  /** Workers kept started and idle, so a run begins without a worker's start-up (default 0). */
  spareWorkers?: number;
  /** A worker that reports nothing for this long after it starts is killed (default 180 s). */
  workerStartTimeoutMs?: number;
  /** False while queued runs must wait (the free-space guard); kick() starts nothing then. */
  mayStart?: () => boolean;
  /**
   * A coordinator (--queue): runnable runs go to the agents' queue instead of a local worker,
   * with no local concurrency limit (the agents' slots are the limit).
   */
  remote?: RemoteDispatch;
}

/** Where a coordinator sends runnable runs (the BullMQ queue) and remote cancels. */
export interface RemoteDispatch {
  /** The run is QUEUED and its parent can serve it: hand it to an agent. */
  enqueue(run: Run): void;
  /** Cancels a run an agent trains (or is about to); false when the run is not remote. */
  cancel(runId: string): boolean;
}

type StopReason = 'cancel' | 'shutdown';

interface Active {
  worker: WorkerProcess;
  stopReason?: StopReason;
  outputLines: number;
  epochs: number;
}

const MAX_OUTPUT_LINES_PER_RUN = 500;

export function runDir(stateDir: string, runId: string): string {
  return path.join(stateDir, 'runs', runId);
}

export function jobKind(kind: RunKind): JobKind {
  if (kind === RunKind.RUN_KIND_PRETEXT) return 'pretext';
  if (kind === RunKind.RUN_KIND_DOWNSTREAM) return 'downstream';
  return 'evaluate';
}

export function configOf(run: Run): JobSpec['config'] {
  const c = run.config;
  if (!c) throw new Error(`run ${run.id} has no config`);
  return c.$case === 'pretext' ? c.pretext : c.$case === 'downstream' ? c.downstream : c.evaluate;
}

export function epochsOf(run: Run): number {
  const c = run.config;
  if (c?.$case === 'pretext') return c.pretext.training?.epochs ?? 0;
  if (c?.$case === 'downstream') return c.downstream.training?.epochs ?? 0;
  return 0;
}

export class Scheduler {
  private readonly active = new Map<string, Active>();
  private readonly queue = new RunQueue();
  private stopping = false;
  private kickSoon = false;
  private readonly launcher: WorkerLauncher;

  constructor(
    private readonly registry: RunRegistry,
    private readonly opts: SchedulerOptions,
  ) {
    // A coordinator trains nothing itself: its agents keep the spares.
    this.launcher = new WorkerLauncher(
      opts.workerEntry,
      opts.workerEnv,
      opts.remote ? 0 : (opts.spareWorkers ?? 0),
    );
    for (const { id, place } of registry.queuedPlaces()) this.queue.add(id, place);
    // The queue follows the log: every change of state is an event, whoever made it.
    registry.subscribe((e) => {
      const p = e.payload;
      if (p?.$case === 'state') {
        if (p.state.to === RunState.RUN_STATE_QUEUED) this.queue.add(e.runId, registry.placeOf(e.runId));
        else this.queue.remove(e.runId);
        if (FINAL_STATES.has(p.state.to) && this.queue.release(e.runId, 'all')) this.kickLater();
      } else if (p?.$case === 'checkpoint' && this.queue.release(e.runId, 'checkpoint')) {
        this.kickLater();
      }
    });
  }

  get queuedCount(): number {
    return this.queue.size;
  }

  /** Kicks after the current event has reached every listener (kick writes events itself). */
  private kickLater(): void {
    if (this.kickSoon) return;
    this.kickSoon = true;
    setImmediate(() => {
      this.kickSoon = false;
      this.kick();
    });
  }

  /**
   * Starts queued runs while slots are free, in queue order. Cheap (work per started run,
   * not per queued run); call after anything that may free a slot or queue a run.
   */
  kick(): void {
    if (this.opts.mayStart && !this.opts.mayStart()) return;
    const remote = this.opts.remote;
    while (!this.stopping && (remote || this.active.size < this.opts.maxConcurrentRuns)) {
      const entry = this.queue.next();
      if (!entry) return;
      const run = this.registry.get(entry.id);
      if (run?.state !== RunState.RUN_STATE_QUEUED) {
        this.queue.remove(entry.id);
        continue;
      }
      const parent = run.parentRunId ? this.registry.get(run.parentRunId) : undefined;
      const blocked = this.blockedBy(run, parent);
      if (blocked === 'wait') {
        this.queue.park(run.parentRunId, {
          ...entry,
          needsSuccess: run.kind === RunKind.RUN_KIND_DOWNSTREAM,
        });
        continue;
      }
      if (blocked) {
        this.registry.transition(run.id, RunState.RUN_STATE_FAILED, {
          from: [RunState.RUN_STATE_QUEUED],
          error: blocked,
        });
        continue;
      }
      if (remote) remote.enqueue(run);
      else this.start(run, parent);
    }
  }

  /** 'wait' while the parent may still produce its checkpoint; an error text if it never will. */
  private blockedBy(run: Run, parent: Run | undefined): string | 'wait' | undefined {
    if (!run.parentRunId) return undefined;
    if (!parent) return `run ${run.parentRunId}, which this run builds on, no longer exists`;
    const needsSuccess = run.kind === RunKind.RUN_KIND_DOWNSTREAM;
    if (parent.state === RunState.RUN_STATE_SUCCEEDED) return undefined;
    if (!needsSuccess && parent.artifacts.length > 0) return undefined;
    if (FINAL_STATES.has(parent.state)) {
      return `run ${parent.id}, which this run builds on, ended ${stateName(parent.state)}${parent.error ? `: ${firstLine(parent.error)}` : ''}`;
    }
    return 'wait';
  }

  private start(run: Run, parent: Run | undefined): void {
    const dir = runDir(this.opts.stateDir, run.id);
    mkdirSync(dir, { recursive: true });
    const resume = run.attempts > 0;
    const logged = resume ? this.registry.loggedEpochs(run.id) : new Set<number>();
    let parentSpec: ParentRunSpec | undefined;
    if (parent) {
      parentSpec = {
        runId: parent.id,
        kind: jobKind(parent.kind),
        method: parent.method,
        runDir: runDir(this.opts.stateDir, parent.id),
        config: configOf(parent),
      };
    }
    const job: JobSpec = {
      runId: run.id,
      kind: jobKind(run.kind),
      method: run.method,
      config: configOf(run),
      runDir: dir,
      dataDir: this.opts.dataDir,
      datasetsDir: datasetsDirOf(this.opts.stateDir),
      allowDownload: this.opts.allowDownload,
      backend: this.opts.backend,
      seed: run.seed,
      resume,
      loggedEpochs: [...logged],
      parent: parentSpec,
    };
    const moved = this.registry.transition(run.id, RunState.RUN_STATE_RUNNING, {
      from: [RunState.RUN_STATE_QUEUED],
      message: resume ? `resuming (attempt ${run.attempts + 1})` : 'started',
    });
    if (!moved) return;
    const active: Active = {
      worker: undefined as unknown as WorkerProcess,
      outputLines: 0,
      epochs: epochsOf(run),
    };
    this.active.set(run.id, active);
    this.opts.log.info('run started', { run: run.id, kind: job.kind, method: job.method, resume });
    active.worker = new WorkerProcess(
      this.launcher,
      job,
      {
        onMessage: (msg) => {
          if (msg.type === 'meta') this.registry.setMeta(run.id, msg);
          else if (msg.type === 'event') {
            // Each epoch appears once in a run's log: a resumed worker re-sends epochs its
            // checkpoint has and the log lacks, never one the log holds.
            if (msg.payload.$case === 'epoch') {
              if (logged.has(msg.payload.epoch.epoch)) {
                this.opts.log.warn('dropped a repeated epoch event', {
                  run: run.id,
                  epoch: msg.payload.epoch.epoch,
                });
                return;
              }
              logged.add(msg.payload.epoch.epoch);
            }
            this.registry.appendEvent(run.id, msg.payload, progressOf(msg.payload, active));
          }
        },
        onOutput: (line, stream) => {
          if (active.outputLines++ >= MAX_OUTPUT_LINES_PER_RUN) return;
          this.registry.appendEvent(run.id, {
            $case: 'log',
            log: {
              level: stream === 'stderr' ? LogLevel.LOG_LEVEL_WARN : LogLevel.LOG_LEVEL_INFO,
              message: line,
            },
          });
        },
        onExit: (outcome) => this.finish(run.id, active, outcome),
      },
      this.opts.workerStartTimeoutMs,
    );
  }

  private finish(runId: string, active: Active, outcome: WorkerOutcome): void {
    this.active.delete(runId);
    const from = [RunState.RUN_STATE_RUNNING];
    const reason = active.stopReason;
    if (outcome.type === 'done') {
      this.registry.transition(runId, RunState.RUN_STATE_SUCCEEDED, {
        from,
        result: outcome.result,
        message: 'succeeded',
      });
    } else if (reason === 'shutdown') {
      this.registry.transition(runId, RunState.RUN_STATE_INTERRUPTED, {
        from,
        error: 'the daemon shut down while the run was running; resume it with ResumeRun',
      });
    } else if (reason === 'cancel' && outcome.type !== 'failed') {
      this.registry.transition(runId, RunState.RUN_STATE_CANCELLED, { from, message: 'cancelled' });
    } else {
      const raw = outcome.type === 'failed' || outcome.type === 'crashed' ? outcome.error : 'worker stopped';
      // Run.error is for people and clients: the stack (and any stack frames in a crashed
      // worker's output) stays in the daemon's log.
      const error = withoutStackFrames(raw);
      if (error !== raw || (outcome.type === 'failed' && outcome.stack)) {
        this.opts.log.error('run failed', {
          run: runId,
          error: raw,
          stack: outcome.type === 'failed' ? outcome.stack : undefined,
        });
      }
      this.registry.transition(runId, RunState.RUN_STATE_FAILED, { from, error });
    }
    this.opts.log.info('run ended', { run: runId, outcome: outcome.type, reason });
    this.kick();
  }

  /** Cancels a queued run at once, or asks a running one to stop. Returns false if not active/queued. */
  cancel(runId: string): boolean {
    if (this.opts.remote?.cancel(runId)) return true;
    const active = this.active.get(runId);
    if (active) {
      active.stopReason = 'cancel';
      active.worker.stop(this.opts.graceMs);
      return true;
    }
    return this.registry.transition(runId, RunState.RUN_STATE_CANCELLED, {
      from: [RunState.RUN_STATE_QUEUED],
      message: 'cancelled before it started',
    });
  }

  /** Stops every worker (runs become INTERRUPTED) and starts nothing new. */
  async shutdown(graceMs: number): Promise<void> {
    this.stopping = true;
    const spares = this.launcher.close();
    const waits: Promise<void>[] = [];
    for (const active of this.active.values()) {
      active.stopReason = 'shutdown';
      active.worker.stop(graceMs);
      waits.push(active.worker.exitedPromise);
    }
    await Promise.all([...waits, spares]);
  }

  /** Running workers by run (metrics). */
  workers(): Array<{ runId: string; pid: number }> {
    return [...this.active].flatMap(([runId, a]) =>
      a.worker.pid === undefined ? [] : [{ runId, pid: a.worker.pid }],
    );
  }

  /** PIDs of spare workers booted and waiting for a run (metrics, benchmarks). */
  readySpares(): number[] {
    return this.launcher.readyPids();
  }

  pids(): number[] {
    return [...this.active.values()].map((a) => a.worker.pid).filter((p): p is number => p !== undefined);
  }
}

export function progressOf(
  payload: import('../../shared/worker-protocol.js').EventPayload,
  active: { epochs: number },
): Progress | undefined {
  if (payload.$case === 'step') {
    const s = payload.step;
    return {
      epoch: s.epoch,
      epochs: active.epochs,
      step: s.step,
      totalSteps: s.totalSteps,
      fraction: s.totalSteps > 0 ? Math.min(1, s.step / s.totalSteps) : 0,
      etaSeconds: s.etaSeconds,
      imagesPerSecond: s.imagesPerSecond,
    };
  }
  return undefined;
}

const MAX_RUN_ERROR = 2000;

/** The text without stack-frame lines ("    at f (file.ts:1:2)"), at most 2,000 characters. */
export function withoutStackFrames(text: string): string {
  const lines = text
    .split('\n')
    .filter((l) => !/^\s*at\s.+(\(.*\)|:\d+:\d+)\s*$/.test(l) && !/^\s*at <anonymous>/.test(l));
  const kept = lines.join('\n').trim() || firstLine(text);
  return kept.length > MAX_RUN_ERROR ? `${kept.slice(0, MAX_RUN_ERROR)}… (see the daemon log)` : kept;
}

export function firstLine(text: string): string {
  return text.split('\n', 1)[0] ?? '';
}
