// Runs one inference job through the slot: waits its turn (leaving the queue if the call ends
// first), forks the worker, and kills it when the call ends early or the daemon shuts down.
import path from 'node:path';
import { INFERENCE_SLOTS, MAX_WAITING_INFERENCE } from '../../shared/contract/models-out.js';
import type { InferenceJob } from '../../shared/inference-protocol.js';
import { PROJECT_ROOT } from '../../shared/version.js';
import { type InferenceBlock, type InferenceOutcome, InferenceProcess } from './inference-process.js';
import { InferenceSlots } from './slots.js';

export const DEFAULT_INFERENCE_WORKER = path.join(PROJECT_ROOT, 'server/worker/inference/worker.ts');

export interface InferenceRunnerOptions {
  entry?: string;
  env?: NodeJS.ProcessEnv;
  slots?: number;
  maxWaiting?: number;
}

/** What a running job gives its caller: ack blocks, stop it early. */
export interface JobHandle {
  ack(): void;
  kill(): void;
}

export class InferenceRunner {
  readonly slots: InferenceSlots;
  private readonly live = new Set<InferenceProcess>();
  private closed = false;

  constructor(private readonly opts: InferenceRunnerOptions = {}) {
    this.slots = new InferenceSlots(opts.slots ?? INFERENCE_SLOTS, opts.maxWaiting ?? MAX_WAITING_INFERENCE);
  }

  /**
   * Queues `job` (throws RESOURCE_EXHAUSTED when the queue is full) and runs it. `abort` ends it
   * early: before the worker starts it only leaves the queue. Resolves with the worker's outcome,
   * or undefined when aborted before starting.
   */
  run(
    job: InferenceJob,
    onBlock: (b: InferenceBlock, handle: JobHandle) => void,
    abort: AbortSignal,
    onStart?: (handle: JobHandle) => void,
  ): Promise<InferenceOutcome | undefined> {
    const ticket = this.slots.acquire();
    return (async () => {
      try {
        const stopped = new Promise<void>((resolve) =>
          abort.addEventListener('abort', () => resolve(), { once: true }),
        );
        await Promise.race([ticket.ready, stopped]);
        if (abort.aborted || this.closed) return undefined;
        let handle!: JobHandle;
        const proc = new InferenceProcess(
          this.opts.entry ?? DEFAULT_INFERENCE_WORKER,
          job,
          (b) => onBlock(b, handle),
          this.opts.env,
        );
        handle = { ack: () => proc.ack(), kill: () => proc.kill() };
        this.live.add(proc);
        const onAbort = () => proc.kill();
        abort.addEventListener('abort', onAbort, { once: true });
        onStart?.(handle);
        try {
          return await proc.result;
        } finally {
          abort.removeEventListener('abort', onAbort);
          this.live.delete(proc);
        }
      } finally {
        ticket.release();
      }
    })();
  }

  pids(): number[] {
    return [...this.live].map((p) => p.pid).filter((p): p is number => p !== undefined);
  }

  /** Kills every inference worker (their calls end with an error) and starts no more. */
  async shutdown(): Promise<void> {
    this.closed = true;
    const waits = [...this.live].map((p) => {
      p.kill();
      return p.result;
    });
    await Promise.all(waits);
  }
}

export type { InferenceBlock, InferenceOutcome };
