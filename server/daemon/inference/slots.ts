// The inference slot: Embed, Predict and exports wait here, first come first served, in a slot
// of their own beside the training slots, so they never hold up training nor wait for it.
import { status } from '@grpc/grpc-js';
import { RpcError } from '../rpc/errors.js';

export interface SlotTicket {
  /** Resolves when the call may start its worker. */
  ready: Promise<void>;
  /** Frees the slot (or leaves the queue); idempotent. */
  release(): void;
}

export class InferenceSlots {
  private running = 0;
  private readonly waiting: Array<{ start: () => void }> = [];

  constructor(
    private readonly slots: number,
    private readonly maxWaiting: number,
  ) {}

  get active(): number {
    return this.running;
  }

  get queued(): number {
    return this.waiting.length;
  }

  acquire(): SlotTicket {
    if (this.running >= this.slots && this.waiting.length >= this.maxWaiting) {
      throw new RpcError(
        status.RESOURCE_EXHAUSTED,
        `${this.waiting.length} export/embed/predict calls are already waiting for the inference slot; try again shortly`,
      );
    }
    let state: 'waiting' | 'running' | 'done' = 'waiting';
    let start!: () => void;
    const ready = new Promise<void>((resolve) => {
      start = () => {
        state = 'running';
        this.running++;
        resolve();
      };
    });
    const entry = { start };
    if (this.running < this.slots) start();
    else this.waiting.push(entry);
    return {
      ready,
      release: () => {
        if (state === 'done') return;
        if (state === 'waiting') {
          const i = this.waiting.indexOf(entry);
          if (i >= 0) this.waiting.splice(i, 1);
        } else {
          this.running--;
          this.next();
        }
        state = 'done';
      },
    };
  }

  private next(): void {
    while (this.running < this.slots) {
      const e = this.waiting.shift();
      if (!e) return;
      e.start();
    }
  }
}
