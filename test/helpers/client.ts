// The test-side client calls shared by the in-process daemon helper (daemon.ts) and the
// cluster helper (cluster.ts): a unary call by method name with complete requests, a collected
// StreamMetrics stream, and polling until a run reaches a state.
import * as grpc from '@grpc/grpc-js';
import type { RunEvent } from '../../gen/ts/pretext/v1/event.js';
import { type Run, RunState } from '../../gen/ts/pretext/v1/run.js';
import * as svc from '../../gen/ts/pretext/v1/service.js';
import type { PretextServiceClient, StreamMetricsRequest } from '../../gen/ts/pretext/v1/service.js';

export interface RpcHelpers {
  /** Calls a unary method and resolves with its response (rejects with the ServiceError). */
  call<Res>(method: string, req: unknown, metadata?: grpc.Metadata): Promise<Res>;
  /** Collects a StreamMetrics stream until it ends (or `until` returns true, then cancels). */
  stream(req: Partial<StreamMetricsRequest>, until?: (e: RunEvent[]) => boolean): Promise<RunEvent[]>;
  /** Polls GetRun until the run reaches one of `states`. */
  waitState(runId: string, states: RunState[], timeoutMs?: number): Promise<Run>;
  /** Polls `fn` until it returns something other than undefined (errors count as undefined). */
  waitFor<T>(what: string, fn: () => Promise<T | undefined>, timeoutMs?: number): Promise<T>;
}

/**
 * Helpers over the client `client()` returns now (a restarted daemon has a new one), with
 * `metadata()` on every call; `observe` runs on every response and stream event.
 */
export function rpcHelpers(
  client: () => PretextServiceClient,
  metadata: () => grpc.Metadata,
  observe: () => void = () => {},
): RpcHelpers {
  const h: RpcHelpers = {
    call<Res>(method: string, req: unknown, md?: grpc.Metadata) {
      return new Promise<Res>((resolve, reject) => {
        const c = client();
        const fn = (c as unknown as Record<string, (...args: unknown[]) => unknown>)[method];
        if (!fn) throw new Error(`no method ${method}`);
        // ts-proto's encoders expect complete messages; fill in defaults like a real client.
        const type = (svc as unknown as Record<string, { fromPartial(o: unknown): unknown }>)[
          `${method[0]!.toUpperCase()}${method.slice(1)}Request`
        ];
        fn.call(
          c,
          type ? type.fromPartial(req) : req,
          md ?? metadata(),
          (err: grpc.ServiceError | null, res: Res) => {
            observe();
            if (err) reject(err);
            else resolve(res);
          },
        );
      });
    },
    stream(req, until) {
      return new Promise<RunEvent[]>((resolve, reject) => {
        const events: RunEvent[] = [];
        const s = client().streamMetrics(svc.StreamMetricsRequest.fromPartial(req), metadata());
        let done = false;
        s.on('data', (r: { event?: RunEvent }) => {
          if (r.event) events.push(r.event);
          observe();
          if (!done && until?.(events)) {
            done = true;
            s.cancel();
            resolve(events);
          }
        });
        s.on('end', () => {
          if (!done) resolve(events);
          done = true;
        });
        s.on('error', (err: grpc.ServiceError) => {
          if (done && err.code === grpc.status.CANCELLED) return;
          done = true;
          reject(err);
        });
      });
    },
    async waitState(runId, states, timeoutMs = 120_000) {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const { run } = await h.call<{ run: Run }>('getRun', { runId });
        if (states.includes(run.state)) return run;
        if (Date.now() > deadline) {
          throw new Error(
            `run ${runId} is ${RunState[run.state]} after ${timeoutMs} ms (error: ${run.error})`,
          );
        }
        await new Promise((r) => setTimeout(r, 100));
      }
    },
    async waitFor(what, fn, timeoutMs = 120_000) {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const v = await fn().catch(() => undefined);
        if (v !== undefined) return v;
        if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
        await new Promise((r) => setTimeout(r, 100));
      }
    },
  };
  return h;
}

/** Bearer-token metadata (none without a token). */
export function bearer(token: string | undefined): () => grpc.Metadata {
  return () => {
    const md = new grpc.Metadata();
    if (token) md.set('authorization', `Bearer ${token}`);
    return md;
  };
}
