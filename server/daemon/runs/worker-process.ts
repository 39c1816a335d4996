// Daemon side of a worker: takes a worker process from the launcher, sends it its job,
// relays its messages, and turns its exit into exactly one outcome. A worker that dies
// without reporting (crash, out of memory, SIGKILL) yields a `crashed` outcome carrying the
// exit status and the tail of its stderr.
import type { ChildProcess } from 'node:child_process';
import type { FromWorker, JobSpec, ToWorker } from '../../shared/worker-protocol.js';
import type { WorkerLauncher } from './worker-launcher.js';

export type WorkerOutcome =
  | { type: 'done'; result: Extract<FromWorker, { type: 'done' }>['result'] }
  | { type: 'failed'; error: string; stack?: string }
  | { type: 'cancelled' }
  | { type: 'crashed'; error: string };

export interface WorkerHandlers {
  onMessage(msg: Exclude<FromWorker, { type: 'done' | 'failed' | 'cancelled' }>): void;
  /** Lines the worker printed (tfjs warnings, stray console output). */
  onOutput(line: string, stream: 'stdout' | 'stderr'): void;
  onExit(outcome: WorkerOutcome): void;
}

const STDERR_TAIL_BYTES = 4000;

export class WorkerProcess {
  private readonly child: ChildProcess;
  private outcome: WorkerOutcome | undefined;
  private stderrTail = '';
  private killTimer: NodeJS.Timeout | undefined;
  private exited = false;
  private lastHeard = 0;
  private heardMeta = false;
  private stuck: string | undefined;
  private startTimer: NodeJS.Timeout | undefined;
  readonly exitedPromise: Promise<void>;

  constructor(launcher: WorkerLauncher, job: JobSpec, handlers: WorkerHandlers, startTimeoutMs = 180_000) {
    const { child, ready } = launcher.launch();
    this.child = child;
    // A spare worker said `ready` before this run took it: start at once.
    if (ready) this.send({ type: 'start', job });
    this.child.on('message', (msg: FromWorker) => {
      this.lastHeard = Date.now();
      if (msg.type === 'ready') {
        this.send({ type: 'start', job });
      } else if (msg.type === 'done' || msg.type === 'failed' || msg.type === 'cancelled') {
        this.outcome ??= msg;
      } else {
        this.noteProgress();
        handlers.onMessage(msg);
      }
    });
    const lines = (stream: 'stdout' | 'stderr') => {
      let buf = '';
      return (chunk: Buffer) => {
        const text = chunk.toString();
        if (stream === 'stderr') this.stderrTail = (this.stderrTail + text).slice(-STDERR_TAIL_BYTES);
        buf += text;
        let nl = buf.indexOf('\n');
        while (nl >= 0) {
          const line = buf.slice(0, nl).trimEnd();
          buf = buf.slice(nl + 1);
          if (line) handlers.onOutput(line, stream);
          nl = buf.indexOf('\n');
        }
      };
    };
    this.child.stdout?.on('data', lines('stdout'));
    this.child.stderr?.on('data', lines('stderr'));
    this.exitedPromise = new Promise((resolve) => {
      this.child.on('exit', (code, signal) => {
        this.exited = true;
        clearTimeout(this.killTimer);
        clearTimeout(this.startTimer);
        const outcome: WorkerOutcome = this.outcome ?? {
          type: 'crashed',
          error: this.stuck ?? describeCrash(code, signal, this.stderrTail),
        };
        handlers.onExit(outcome);
        resolve();
      });
      this.child.on('error', (err) => {
        // fork failures (e.g. EAGAIN) never produce 'exit'
        if (this.exited) return;
        this.exited = true;
        handlers.onExit({ type: 'crashed', error: `could not start the worker: ${err.message}` });
        resolve();
      });
    });
    // A worker that never reports (stuck while loading or starting its backend) would hold
    // its slot forever: kill it and let the run fail with a reason.
    this.startTimer = setTimeout(() => {
      if (this.lastHeard === 0 || !this.heardMeta) {
        this.stuck = `the worker reported nothing within ${Math.round(startTimeoutMs / 1000)} s of starting (stuck loading or initialising its backend)`;
        this.kill();
      }
    }, startTimeoutMs);
    this.startTimer.unref();
  }

  /** Called by the owner for every non-outcome message (meta/event): the worker is alive. */
  private noteProgress(): void {
    this.heardMeta = true;
  }

  get pid(): number | undefined {
    return this.child.pid;
  }

  private send(msg: ToWorker): void {
    if (this.child.connected) this.child.send(msg);
  }

  /** Asks the worker to stop at its next step boundary; kills it after `graceMs`. */
  stop(graceMs: number): void {
    if (this.exited) return;
    this.send({ type: 'cancel' });
    this.killTimer ??= setTimeout(() => this.kill(), graceMs);
  }

  kill(): void {
    if (!this.exited) this.child.kill('SIGKILL');
  }
}

function describeCrash(code: number | null, signal: NodeJS.Signals | null, stderr: string): string {
  const how = signal ? `was killed by ${signal}` : `exited with code ${code}`;
  const oom = /heap out of memory|Allocation failed|Out of memory/i.test(stderr);
  const tail = stderr.trim().split('\n').slice(-8).join('\n');
  return `worker process ${how}${oom ? ' (out of memory)' : ''} without reporting a result${tail ? `; last output:\n${tail}` : ''}`;
}
