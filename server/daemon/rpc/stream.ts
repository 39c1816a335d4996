// StreamMetrics: replay the log from `from_seq`, then follow live events, without gaps or
// duplicates. Live events that arrive during the replay are buffered and delivered after it,
// skipping any seq the replay already sent. Writes respect back-pressure.
import type { ServerWritableStream } from '@grpc/grpc-js';
import type { RunEvent } from '../../../gen/ts/pretext/v1/event.js';
import type { StreamMetricsRequest, StreamMetricsResponse } from '../../../gen/ts/pretext/v1/service.js';
import type { EventLog } from '../runs/event-log.js';
import { TERMINAL_STATES } from '../runs/registry.js';

const PAGE = 500;

export interface StreamDeps {
  events: EventLog;
  /** Whether the run is in a terminal state now (single-run streams end then). */
  isTerminal(runId: string): boolean;
  /** Seq of the run's newest state event. */
  lastStateSeq(runId: string): number;
  /** Registers the stream so shutdown can end it; returns the unregister function. */
  track(end: () => void): () => void;
}

export async function serveStream(
  call: ServerWritableStream<StreamMetricsRequest, StreamMetricsResponse>,
  req: StreamMetricsRequest,
  deps: StreamDeps,
): Promise<void> {
  const { runId, skipSteps, historyOnly } = req;
  let next = Math.max(1, req.fromSeq); // next seq we may deliver
  let closed = false;
  let live: RunEvent[] | null = historyOnly ? null : [];
  let wake: (() => void) | null = null;

  const finish = () => {
    if (closed) return;
    closed = true;
    unsubscribe?.();
    untrack();
    wake?.();
  };
  const untrack = deps.track(() => {
    if (!closed) call.end();
    finish();
  });
  call.on('cancelled', finish);
  call.on('close', finish);
  call.on('error', finish);

  const unsubscribe = live
    ? deps.events.subscribe((e) => {
        if (runId && e.runId !== runId) return;
        live?.push(e);
        wake?.();
      })
    : undefined;

  // Returns true when the stream should end after this event.
  const deliver = async (e: RunEvent): Promise<boolean> => {
    if (e.seq < next) return false;
    next = e.seq + 1;
    // A run's stream ends at its terminal state — the newest one: an INTERRUPTED run that was
    // resumed later has more history after that event.
    const ends =
      runId !== '' &&
      ((e.payload?.$case === 'state' &&
        TERMINAL_STATES.has(e.payload.state.to) &&
        deps.isTerminal(runId) &&
        e.seq >= deps.lastStateSeq(runId)) ||
        // A study's stream ends with the update that carries its end.
        (e.payload?.$case === 'study' &&
          e.payload.study.study !== undefined &&
          e.payload.study.study.finishedAtUnixMs > 0));
    if (skipSteps && e.payload?.$case === 'step') return false;
    if (!call.write({ event: e })) {
      await new Promise<void>((resolve) => {
        const done = () => {
          call.off('drain', done);
          resolve();
        };
        call.on('drain', done);
        call.once('close', done);
      });
    }
    return ends;
  };

  // Replays committed events from `next`; true when the stream should end.
  const replay = async (): Promise<boolean> => {
    for (;;) {
      if (closed) return true;
      const page = deps.events.read(runId, next, PAGE);
      for (const e of page) {
        if (closed || (await deliver(e))) return true;
      }
      if (page.length < PAGE) return false;
    }
  };

  try {
    if (await replay()) return endStream();
    // A run that ended already: its final events are committed, so one more replay ends it.
    if (historyOnly || (runId && deps.isTerminal(runId))) {
      await replay();
      return endStream();
    }
    // Follow live events.
    while (!closed) {
      const batch = live ?? [];
      live = [];
      for (const e of batch) {
        if (closed) return;
        if (await deliver(e)) return endStream();
      }
      if (closed) return;
      if (live.length === 0) await new Promise<void>((resolve) => (wake = resolve));
      wake = null;
    }
  } finally {
    finish();
  }

  function endStream(): void {
    if (!closed) call.end();
    finish();
  }
}
