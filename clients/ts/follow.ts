// Following the daemon's event log with reconnects. Sequence numbers are global and strictly
// increasing, so resuming is `from_seq = lastSeq + 1` and anything at or below lastSeq is a
// duplicate (a replay overlapping what we already have) and is dropped.
import type { ClientReadableStream } from '@grpc/grpc-js';
import { connectivityState, status as grpcStatus } from '@grpc/grpc-js';
import type { RunEvent } from '../../gen/ts/pretext/v1/event.js';
import type { StreamMetricsResponse } from '../../gen/ts/pretext/v1/service.js';
import { type Connection, describeError, isServiceError, isTransient } from './connection.js';
import type { CliError } from './exit-codes.js';

export type LinkState = 'connecting' | 'live' | 'reconnecting' | 'ended' | 'failed';

export interface LinkStatus {
  state: LinkState;
  /** Reconnect attempts since the stream was last live. */
  attempt: number;
  /** Why the last attempt failed (reconnecting, failed). */
  error?: CliError;
  /** Delay before the next attempt (reconnecting). */
  retryInMs?: number;
}

export interface FollowOptions {
  /** One run, or every run when absent. */
  runId?: string;
  /** First seq to deliver (0 = the whole history). */
  fromSeq?: number;
  skipSteps?: boolean;
  onEvent: (ev: RunEvent) => void;
  onStatus?: (s: LinkStatus) => void;
  /** Once an event satisfies this, the follower finishes when the stream ends (or after graceMs). */
  stopAfter?: (ev: RunEvent) => boolean;
  graceMs?: number;
  initialBackoffMs?: number;
  maxBackoffMs?: number;
}

export interface Follower {
  /** Seq of the newest event delivered (0 = none). */
  readonly lastSeq: number;
  /** Resolves when following ended by stopAfter or close(); rejects on a permanent error. */
  readonly done: Promise<void>;
  close(): void;
}

export function follow(conn: Connection, opts: FollowOptions): Follower {
  let lastSeq = Math.max(0, (opts.fromSeq ?? 0) - 1);
  let call: ClientReadableStream<StreamMetricsResponse> | null = null;
  let timer: NodeJS.Timeout | null = null;
  let graceTimer: NodeJS.Timeout | null = null;
  let closed = false;
  let stopping = false;
  let attempt = 0;
  const initial = opts.initialBackoffMs ?? 250;
  const max = opts.maxBackoffMs ?? 5_000;
  let resolveDone!: () => void;
  let rejectDone!: (e: CliError) => void;
  const done = new Promise<void>((res, rej) => {
    resolveDone = res;
    rejectDone = rej;
  });
  // Nobody may be awaiting `done` (the TUI only listens to statuses); avoid unhandled rejections.
  done.catch(() => {});

  const setStatus = (s: LinkStatus) => opts.onStatus?.(s);

  const finish = (err?: CliError) => {
    if (closed) return;
    closed = true;
    if (timer) clearTimeout(timer);
    if (graceTimer) clearTimeout(graceTimer);
    const c = call;
    call = null;
    c?.cancel();
    if (err) {
      setStatus({ state: 'failed', attempt, error: err });
      rejectDone(err);
    } else {
      setStatus({ state: 'ended', attempt });
      resolveDone();
    }
  };

  const open = () => {
    timer = null;
    if (closed) return;
    setStatus({ state: attempt === 0 ? 'connecting' : 'reconnecting', attempt });
    const c = conn.client.streamMetrics(
      {
        runId: opts.runId ?? '',
        fromSeq: lastSeq + 1,
        historyOnly: false,
        skipSteps: opts.skipSteps ?? false,
      },
      conn.metadata(),
    );
    call = c;
    let over = false;
    const goLive = () => {
      if (attempt !== 0 || over) return;
      setStatus({ state: 'live', attempt: 0 });
    };
    c.on('metadata', () => {
      attempt = 0;
      goLive();
    });
    // The daemon sends headers with its first event, which may be long in coming on a quiet
    // run; a READY channel with the call open is as good a sign of a working link.
    const channel = conn.client.getChannel();
    const checkReady = () => {
      if (over || closed || call !== c) return;
      const st = channel.getConnectivityState(true);
      if (st === connectivityState.READY) {
        attempt = 0;
        goLive();
      } else {
        channel.watchConnectivityState(st, Date.now() + 1000, checkReady);
      }
    };
    setImmediate(checkReady);
    c.on('data', (res: StreamMetricsResponse) => {
      const ev = res.event;
      if (!ev || ev.seq <= lastSeq || closed) return;
      if (attempt !== 0) {
        attempt = 0;
        goLive();
      }
      lastSeq = ev.seq;
      opts.onEvent(ev);
      if (!opts.stopAfter) return;
      if (!stopping && opts.stopAfter(ev)) {
        stopping = true;
        graceTimer = setTimeout(() => finish(), opts.graceMs ?? 1000);
        graceTimer.unref();
      } else if (stopping && ev.payload?.$case === 'state' && !opts.stopAfter(ev)) {
        // The run went on after all (an interrupted run resumed): keep following.
        stopping = false;
        if (graceTimer) clearTimeout(graceTimer);
      }
    });
    const retry = (err: unknown) => {
      if (over || closed) return;
      over = true;
      if (call === c) call = null;
      if (stopping) return finish();
      attempt += 1;
      const delay = Math.min(max, initial * 2 ** (attempt - 1)) * (0.8 + Math.random() * 0.4);
      const status: LinkStatus = { state: 'reconnecting', attempt, retryInMs: Math.round(delay) };
      if (err) status.error = describeError(err, conn.opts);
      setStatus(status);
      timer = setTimeout(open, delay);
    };
    c.on('error', (err: unknown) => {
      if (closed || over) return;
      if (isServiceError(err) && err.code === grpcStatus.CANCELLED && stopping) return finish();
      if (isTransient(err) || (isServiceError(err) && err.code === grpcStatus.CANCELLED)) return retry(err);
      over = true;
      finish(describeError(err, conn.opts));
    });
    // A clean end: the daemon finished this run's stream, or it is shutting down.
    c.on('end', () => retry(undefined));
  };

  open();
  return {
    get lastSeq() {
      return lastSeq;
    },
    done,
    close: () => finish(),
  };
}
