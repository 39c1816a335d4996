// Forks worker processes, keeping `spares` of them already started. Starting a worker means
// booting Node, tsx and the engine's modules: 0.5–2.5 s, which every run paid before it could
// begin, and which made dispatch on a busy queue cost seconds per run. A spare has done all of
// that and said `ready`; a run that takes it only sends `start`. Spares are forked with the
// same entry and environment a fresh worker gets, so a run cannot tell the two apart.
import { type ChildProcess, fork } from 'node:child_process';
import type { FromWorker } from '../../shared/worker-protocol.js';

const TSX_LOADER = import.meta.resolve('tsx');

/** Idle workers kept per launcher unless configured: one per slot, so a full wave starts warm. */
export function defaultSpareWorkers(slots: number): number {
  return slots;
}
/** The most idle workers a launcher keeps (a production spare holds ~160 MB while it waits). */
export const MAX_SPARE_WORKERS = 16;

/** A forked worker handed to one run. `ready`: it has already said so (send `start` now). */
export interface LaunchedWorker {
  child: ChildProcess;
  ready: boolean;
}

function isRunning(child: ChildProcess): boolean {
  return child.exitCode === null && child.signalCode === null;
}

function isAlive(child: ChildProcess): boolean {
  return isRunning(child) && child.connected;
}

interface Spare extends LaunchedWorker {
  release(): void;
}

export class WorkerLauncher {
  private readonly idle: Spare[] = [];
  private closed = false;

  constructor(
    readonly entry: string,
    readonly env: NodeJS.ProcessEnv = process.env,
    private readonly spares = 0,
  ) {
    this.refill();
  }

  /** A worker for one run: a spare when one is alive, otherwise a fresh fork. */
  launch(): LaunchedWorker {
    let spare = this.idle.shift();
    for (; spare; spare = this.idle.shift()) {
      spare.release();
      if (isAlive(spare.child)) break;
      spare.child.kill('SIGKILL');
    }
    // Refill after this run's fork decision: the replacement starts while the run begins.
    queueMicrotask(() => this.refill());
    return spare ? { child: spare.child, ready: spare.ready } : { child: this.fork(), ready: false };
  }

  /** Idle workers now (alive, not yet handed out). */
  get idleCount(): number {
    return this.idle.length;
  }

  /** Idle workers that have said `ready`, by pid (tests, metrics). */
  readyPids(): number[] {
    return this.idle.flatMap((s) => (s.ready && s.child.pid !== undefined ? [s.child.pid] : []));
  }

  /** Kills the idle workers and resolves once they are gone; launch() keeps none from now on. */
  async close(): Promise<void> {
    this.closed = true;
    const gone = this.idle.splice(0).map((s) => {
      s.release();
      const exited = new Promise<void>((resolve) => {
        if (!isRunning(s.child)) return resolve();
        s.child.once('exit', () => resolve());
      });
      s.child.kill('SIGKILL');
      return exited;
    });
    await Promise.all(gone);
  }

  private fork(): ChildProcess {
    return fork(this.entry, [], {
      execArgv: ['--import', TSX_LOADER],
      serialization: 'advanced',
      stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
      env: this.env,
    });
  }

  private refill(): void {
    while (!this.closed && this.idle.length < this.spares) this.idle.push(this.spawnSpare());
  }

  private spawnSpare(): Spare {
    const child = this.fork();
    const spare: Spare = {
      child,
      ready: false,
      release: () => {
        child.off('message', onMessage);
        child.off('exit', onExit);
        child.off('error', onExit);
      },
    };
    const onMessage = (msg: FromWorker) => {
      if (msg.type === 'ready') spare.ready = true;
    };
    // A spare that dies while idle is dropped, not replaced at once: a broken entry must not
    // fork in a loop. The next launch() forks fresh and reports the crash as a run outcome.
    const onExit = () => {
      spare.release();
      const i = this.idle.indexOf(spare);
      if (i >= 0) this.idle.splice(i, 1);
    };
    child.on('message', onMessage);
    child.on('exit', onExit);
    child.on('error', onExit);
    return spare;
  }
}
