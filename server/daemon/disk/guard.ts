// The free-space guard: below a threshold on the state or data dir's file system, the daemon
// starts no run (new requests get FAILED_PRECONDITION with the reason, queued runs wait) and
// lets running runs finish. It re-checks on a timer and restarts the queue once space is back.
import { formatBytes } from '../../shared/contract/sizes.js';
import { statfsSync } from 'node:fs';
import path from 'node:path';
import type { DiskStatus } from '../../../gen/ts/pretext/v1/service.js';
import type { Logger } from '../log.js';
import { failedPrecondition } from '../rpc/errors.js';

/** Bytes available to unprivileged writers on the file system holding `dir` (or its nearest existing parent). */
export function freeBytes(dir: string): number {
  for (let d = path.resolve(dir); ; d = path.dirname(d)) {
    try {
      const s = statfsSync(d);
      return s.bavail * s.bsize;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT' || d === path.dirname(d)) throw err;
    }
  }
}

export interface DiskGuardOptions {
  stateDir: string;
  dataDir: string;
  /** 0 = off. */
  minFreeBytes: number;
  intervalMs: number;
  log: Logger;
  /** Called when space comes back (start the queue again). */
  onRecovered(): void;
}

export class DiskGuard {
  private current: DiskStatus;
  private timer: NodeJS.Timeout | undefined;

  constructor(private readonly opts: DiskGuardOptions) {
    this.current = this.measure();
    if (this.current.startingPaused) this.opts.log.warn('low disk space', { reason: this.current.reason });
  }

  start(): void {
    this.timer = setInterval(() => this.check(), this.opts.intervalMs);
    this.timer.unref();
  }

  stop(): void {
    clearInterval(this.timer);
  }

  get status(): DiskStatus {
    return this.current;
  }

  /** Measures again; logs and reacts when the verdict changes. */
  check(): DiskStatus {
    const before = this.current.startingPaused;
    this.current = this.measure();
    if (this.current.startingPaused && !before) {
      this.opts.log.warn('low disk space: not starting runs', { reason: this.current.reason });
    } else if (!this.current.startingPaused && before) {
      this.opts.log.info('disk space recovered: starting runs again', {
        stateDirFreeBytes: this.current.stateDirFreeBytes,
      });
      this.opts.onRecovered();
    }
    return this.current;
  }

  canStart(): boolean {
    return !this.check().startingPaused;
  }

  /** Throws FAILED_PRECONDITION with the reason while starting is paused. */
  assertCanStart(): void {
    const s = this.check();
    if (s.startingPaused) throw failedPrecondition(s.reason);
  }

  private measure(): DiskStatus {
    const { stateDir, dataDir, minFreeBytes } = this.opts;
    let stateFree = 0;
    let dataFree = 0;
    let error = '';
    try {
      stateFree = freeBytes(stateDir);
      dataFree = freeBytes(dataDir);
    } catch (err) {
      error = (err as Error).message;
    }
    const low: string[] = [];
    if (minFreeBytes > 0 && !error) {
      if (stateFree < minFreeBytes) low.push(`state dir ${stateDir} has ${formatBytes(stateFree)} free`);
      if (dataFree < minFreeBytes) low.push(`data dir ${dataDir} has ${formatBytes(dataFree)} free`);
    }
    return {
      stateDirFreeBytes: stateFree,
      dataDirFreeBytes: dataFree,
      minFreeBytes,
      startingPaused: low.length > 0,
      reason: low.length
        ? `low disk space: ${low.join(', ')}, below --min-free-disk ${formatBytes(minFreeBytes)}; ` +
          'no run starts until space is freed (running runs go on; try `pretext gc --dry-run`)'
        : '',
    };
  }
}
