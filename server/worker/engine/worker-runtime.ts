// Worker side of the daemon <-> worker protocol. A worker entry file calls `runWorker` with
// its job table; the runtime receives `start`, runs the job, forwards its events and reports
// exactly one of done / failed / cancelled before exiting.
import type { LogLevel } from '../../../gen/ts/pretext/v1/event.js';
import type { RunResult } from '../../../gen/ts/pretext/v1/run.js';
import type { EventPayload, FromWorker, JobSpec, ToWorker } from '../../shared/worker-protocol.js';

/** Thrown (or rethrown) by a job when it stops because of a cancel request. */
export class CancelledError extends Error {
  constructor() {
    super('cancelled');
    this.name = 'CancelledError';
  }
}

export interface JobContext {
  readonly spec: JobSpec;
  /** Aborted when the daemon asks the run to stop; check it at step boundaries. */
  readonly signal: AbortSignal;
  /** Throws CancelledError if a cancel arrived. Call between steps. */
  throwIfCancelled(): void;
  emit(payload: EventPayload): void;
  log(level: LogLevel, message: string): void;
  meta(meta: { backend?: string; backendDetail?: string; dataChecksum?: string; threads?: number }): void;
}

export type JobFn = (ctx: JobContext) => Promise<RunResult>;

/** Jobs by `${kind}:${method}`, falling back to `${kind}:*`. */
export type JobTable = Record<string, JobFn>;

function send(msg: FromWorker): Promise<void> {
  return new Promise((resolve) => {
    if (!process.send) return resolve();
    process.send(msg, undefined, undefined, () => resolve());
  });
}

export function findJob(table: JobTable, spec: JobSpec): JobFn | undefined {
  return table[`${spec.kind}:${spec.method}`];
}

export function runWorker(table: JobTable): void {
  if (!process.send) throw new Error('a worker must be started by pretextd (no IPC channel)');
  const abort = new AbortController();
  let started = false;
  // What `ps` shows: a spare waiting, then the run it trains (tests and operators find it so).
  process.title = 'pretext-worker spare';
  process.on('message', (raw: ToWorker) => {
    if (raw.type === 'cancel') {
      abort.abort();
      return;
    }
    if (raw.type !== 'start' || started) return;
    started = true;
    process.title = `pretext-worker run ${raw.job.runId}`;
    void execute(table, raw.job, abort.signal);
  });
  // If the daemon dies, the IPC channel closes: stop instead of training as an orphan.
  process.on('disconnect', () => process.exit(0));
  // A spare worker may finish loading after its daemon died: nothing would ever start it.
  if (!process.connected) process.exit(0);
  void send({ type: 'ready' });
}

/**
 * Fault injection for the crash tests and the soak suite only: PRETEXT_TEST_KILL_DAEMON_BEFORE_EPOCH=N
 * SIGKILLs the daemon just before epoch N's event is sent — after its checkpoint is on disk,
 * the one moment a crash separates the two.
 */
const killDaemonBeforeEpoch = Number(process.env.PRETEXT_TEST_KILL_DAEMON_BEFORE_EPOCH ?? Number.NaN);

function killDaemon(): never {
  process.kill(process.ppid, 'SIGKILL');
  // The IPC channel closes with the daemon, and 'disconnect' ends this process.
  return process.exit(0);
}

async function execute(table: JobTable, spec: JobSpec, signal: AbortSignal): Promise<void> {
  const ctx: JobContext = {
    spec,
    signal,
    throwIfCancelled() {
      if (signal.aborted) throw new CancelledError();
    },
    emit(payload) {
      if (payload.$case === 'epoch' && payload.epoch.epoch === killDaemonBeforeEpoch) killDaemon();
      void send({ type: 'event', payload });
    },
    log(level, message) {
      void send({ type: 'event', payload: { $case: 'log', log: { level, message } } });
    },
    meta(meta) {
      void send({ type: 'meta', ...meta });
    },
  };
  let outcome: FromWorker;
  try {
    const job = findJob(table, spec);
    if (!job) throw new Error(`this worker has no job for kind "${spec.kind}" method "${spec.method}"`);
    const result = await job(ctx);
    outcome = signal.aborted ? { type: 'cancelled' } : { type: 'done', result };
  } catch (err) {
    if (err instanceof CancelledError || signal.aborted) outcome = { type: 'cancelled' };
    else if (err instanceof Error) outcome = { type: 'failed', error: err.message, stack: err.stack };
    else outcome = { type: 'failed', error: String(err) };
  }
  await send(outcome);
  // Threaded wasm keeps workers alive; exit explicitly once the outcome is delivered.
  process.exit(0);
}
