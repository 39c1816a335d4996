// Applies the retention policy on a timer (and on request through CollectGarbage), and logs
// what it removed.
import type { CollectGarbageResponse, RetentionPolicy } from '../../../gen/ts/pretext/v1/service.js';
import type { Logger } from '../log.js';
import type { Db } from '../runs/db.js';
import { applyGc, planGc, publicItem } from './gc.js';

export class Retention {
  private timer: NodeJS.Timeout | undefined;
  private first: NodeJS.Immediate | undefined;

  constructor(
    private readonly db: Db,
    private readonly stateDir: string,
    readonly policy: RetentionPolicy,
    private readonly log: Logger,
  ) {}

  get enabled(): boolean {
    return this.policy.lastCheckpointDays > 0 || this.policy.stepEventsPerRun > 0;
  }

  /** Plans with the daemon's policy (fields of `override` that are non-zero win) and applies unless dryRun. */
  collect(dryRun: boolean, override?: Partial<RetentionPolicy>): CollectGarbageResponse {
    const policy: RetentionPolicy = {
      lastCheckpointDays: override?.lastCheckpointDays || this.policy.lastCheckpointDays,
      stepEventsPerRun: override?.stepEventsPerRun || this.policy.stepEventsPerRun,
    };
    const items = planGc(this.db, this.stateDir, policy);
    if (!dryRun && items.length) {
      applyGc(this.db, items);
      for (const item of items) {
        this.log.info('retention removed', {
          run: item.runId,
          kind: item.kind,
          detail: item.detail,
          bytes: item.bytes,
        });
      }
    }
    return {
      items: items.map(publicItem),
      bytes: items.reduce((sum, i) => sum + i.bytes, 0),
      dryRun,
      policy,
    };
  }

  /** Runs the policy now and then every `intervalMs` (nothing when the policy keeps everything). */
  start(intervalMs: number): void {
    if (!this.enabled) return;
    const tick = () => {
      try {
        this.collect(false);
      } catch (err) {
        this.log.error('retention failed', { error: err instanceof Error ? err.message : String(err) });
      }
    };
    this.first = setImmediate(tick);
    this.timer = setInterval(tick, intervalMs);
    this.timer.unref();
  }

  stop(): void {
    clearImmediate(this.first);
    clearInterval(this.timer);
  }
}
