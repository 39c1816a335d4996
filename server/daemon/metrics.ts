// The opt-in Prometheus endpoint (--metrics-listen): prom-client gauges read at scrape time
// from the registry, the event log, the scheduler and the file system, plus RPC counters and
// latencies from a gRPC interceptor. Per-run training figures come from the live event
// stream (the same events watchers see), so nothing extra flows from the workers.
import { readFileSync, statSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import * as grpc from '@grpc/grpc-js';
import client from 'prom-client';
import { RunState } from '../../gen/ts/pretext/v1/run.js';
import { splitHostPort } from './listen.js';
import type { Logger } from './log.js';
import type { DiskGuard } from './disk/guard.js';
import type { Db } from './runs/db.js';
import type { EventLog } from './runs/event-log.js';
import { stateName, TERMINAL_STATES } from './runs/registry.js';

export interface MetricsSources {
  db: Db;
  dbFile: string;
  events: EventLog;
  disk: DiskGuard;
  /** Open StreamMetrics streams (and Evaluate calls waiting for their run). */
  openStreams(): number;
  /** Running workers. */
  workers(): Array<{ runId: string; pid: number }>;
  /** Spare workers booted and waiting for a run. */
  readySpares(): number;
  /** A coordinator's agents (absent on a single host). */
  agents?(): Array<{ id: string; slots: number; busy: number; online: boolean }>;
}

interface RunFigures {
  imagesPerSecond: number;
  epoch: number;
  loss: number;
}

/** "9464" → 127.0.0.1:9464 (loopback unless a host is given); "HOST:PORT" as given. */
export function parseMetricsListen(text: string): { host: string; port: number } {
  if (/^\d{1,5}$/.test(text)) {
    const port = Number(text);
    if (port > 65535) throw new Error(`--metrics-listen port ${port} is out of range`);
    return { host: '127.0.0.1', port };
  }
  try {
    return splitHostPort(text);
  } catch {
    throw new Error(
      `--metrics-listen "${text.slice(0, 80)}" is not PORT or HOST:PORT (e.g. 9464 or 127.0.0.1:9464)`,
    );
  }
}

/** Resident set size of a process from /proc (Linux); undefined elsewhere or when it is gone. */
export function rssBytes(pid: number): number | undefined {
  try {
    const m = /^VmRSS:\s+(\d+)\s+kB/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) * 1024 : undefined;
  } catch {
    return undefined;
  }
}

function fileSize(p: string): number {
  try {
    return statSync(p).size;
  } catch {
    return 0;
  }
}

const EVENT_COUNT_TTL_MS = 30_000;

export class Metrics {
  readonly register = new client.Registry();
  private readonly runs = new Map<string, RunFigures>();
  private readonly unsubscribe: () => void;
  private readonly rpcTotal: client.Counter<'method' | 'code'>;
  private readonly rpcSeconds: client.Histogram<'method' | 'code'>;
  private eventCount = { value: 0, at: 0 };

  constructor(src: MetricsSources) {
    const register = this.register;
    client.collectDefaultMetrics({ register, prefix: 'pretextd_' });
    const countState = src.db.prepare('SELECT state, COUNT(*) AS n FROM runs GROUP BY state');
    const countEvents = src.db.prepare('SELECT COUNT(*) AS n FROM events');
    const lastSeq = src.db.prepare('SELECT COALESCE(MAX(seq), 0) AS seq FROM events');

    new client.Gauge({
      name: 'pretext_runs',
      help: 'Runs by state',
      labelNames: ['state'],
      registers: [register],
      collect() {
        this.reset();
        for (const s of Object.values(RunState)) {
          if (typeof s === 'number' && s > 0) this.set({ state: stateName(s).toLowerCase() }, 0);
        }
        for (const r of countState.all() as Array<{ state: number; n: number }>) {
          this.set({ state: stateName(r.state as RunState).toLowerCase() }, r.n);
        }
      },
    });
    new client.Gauge({
      name: 'pretext_queue_length',
      help: 'Runs waiting in the queue (QUEUED)',
      registers: [register],
      collect() {
        const row = (countState.all() as Array<{ state: number; n: number }>).find(
          (r) => r.state === RunState.RUN_STATE_QUEUED,
        );
        this.set(row?.n ?? 0);
      },
    });
    const perRun = (name: string, help: string, pick: (f: RunFigures) => number) =>
      new client.Gauge({
        name,
        help,
        labelNames: ['run_id'],
        registers: [register],
        collect: () => {
          const g = register.getSingleMetric(name) as client.Gauge<'run_id'>;
          g.reset();
          for (const [runId, f] of this.runs) g.set({ run_id: runId }, pick(f));
        },
      });
    perRun(
      'pretext_run_images_per_second',
      'Training throughput of a running run (last step)',
      (f) => f.imagesPerSecond,
    );
    perRun('pretext_run_epoch', 'Epoch a running run is in', (f) => f.epoch);
    perRun('pretext_run_loss', 'Training loss of a running run (last step)', (f) => f.loss);
    new client.Gauge({
      name: 'pretext_event_log_events',
      help: 'Events stored in the event log',
      registers: [register],
      collect: () => {
        const now = Date.now();
        // COUNT(*) walks the table: refresh at most every 30 s, whatever the scrape interval.
        if (now - this.eventCount.at > EVENT_COUNT_TTL_MS) {
          this.eventCount = { value: (countEvents.get() as { n: number }).n, at: now };
        }
        (register.getSingleMetric('pretext_event_log_events') as client.Gauge).set(this.eventCount.value);
      },
    });
    new client.Gauge({
      name: 'pretext_event_log_last_seq',
      help: 'Sequence number of the newest event',
      registers: [register],
      collect() {
        this.set((lastSeq.get() as { seq: number }).seq);
      },
    });
    new client.Gauge({
      name: 'pretext_sqlite_bytes',
      help: 'Size of the SQLite database files (main file and write-ahead log)',
      labelNames: ['file'],
      registers: [register],
      collect() {
        this.set({ file: 'db' }, fileSize(src.dbFile));
        this.set({ file: 'wal' }, fileSize(`${src.dbFile}-wal`));
      },
    });
    new client.Gauge({
      name: 'pretext_streams_open',
      help: 'Open StreamMetrics streams (and Evaluate calls waiting for their run)',
      registers: [register],
      collect() {
        this.set(src.openStreams());
      },
    });
    new client.Gauge({
      name: 'pretext_event_watchers',
      help: 'Live subscribers of the event log (streams, waits, studies)',
      registers: [register],
      collect() {
        // Our own subscription is not a watcher.
        this.set(Math.max(0, src.events.subscriberCount() - 1));
      },
    });
    new client.Gauge({
      name: 'pretext_worker_rss_bytes',
      help: 'Resident memory of each running worker process',
      labelNames: ['run_id', 'pid'],
      registers: [register],
      collect() {
        this.reset();
        for (const w of src.workers()) {
          const rss = rssBytes(w.pid);
          if (rss !== undefined) this.set({ run_id: w.runId, pid: String(w.pid) }, rss);
        }
      },
    });
    new client.Gauge({
      name: 'pretext_spare_workers',
      help: 'Worker processes started ahead and waiting for a run (--spare-workers)',
      registers: [register],
      collect() {
        this.set(src.readySpares());
      },
    });
    if (src.agents) {
      const agents = src.agents.bind(src);
      new client.Gauge({
        name: 'pretext_agent_online',
        help: 'Whether each agent of this coordinator was heard from in the last three heartbeats (1) or not (0)',
        labelNames: ['agent'],
        registers: [register],
        collect() {
          this.reset();
          for (const a of agents()) this.set({ agent: a.id }, a.online ? 1 : 0);
        },
      });
      new client.Gauge({
        name: 'pretext_agent_slots',
        help: 'Slots of each online agent, by use (busy: training a run; free)',
        labelNames: ['agent', 'use'],
        registers: [register],
        collect() {
          this.reset();
          for (const a of agents()) {
            if (!a.online) continue;
            this.set({ agent: a.id, use: 'busy' }, a.busy);
            this.set({ agent: a.id, use: 'free' }, Math.max(0, a.slots - a.busy));
          }
        },
      });
    }
    new client.Gauge({
      name: 'pretext_disk_free_bytes',
      help: 'Free bytes on the file system of the state and data dirs',
      labelNames: ['dir'],
      registers: [register],
      collect() {
        const s = src.disk.check();
        this.set({ dir: 'state' }, s.stateDirFreeBytes);
        this.set({ dir: 'data' }, s.dataDirFreeBytes);
      },
    });
    new client.Gauge({
      name: 'pretext_starting_paused',
      help: '1 while the free-space guard keeps runs from starting',
      registers: [register],
      collect() {
        this.set(src.disk.status.startingPaused ? 1 : 0);
      },
    });
    this.rpcTotal = new client.Counter({
      name: 'pretext_rpc_requests_total',
      help: 'gRPC calls by method and status code',
      labelNames: ['method', 'code'],
      registers: [register],
    });
    this.rpcSeconds = new client.Histogram({
      name: 'pretext_rpc_duration_seconds',
      help: 'gRPC call duration by method and status code (streams: until they end)',
      labelNames: ['method', 'code'],
      buckets: [0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 5, 30, 300, 3600],
      registers: [register],
    });

    this.unsubscribe = src.events.subscribe((e) => {
      const p = e.payload;
      if (!p) return;
      if (p.$case === 'step') {
        this.runs.set(e.runId, {
          imagesPerSecond: p.step.imagesPerSecond,
          epoch: p.step.epoch,
          loss: p.step.loss,
        });
      } else if (
        p.$case === 'state' &&
        (TERMINAL_STATES.has(p.state.to) || p.state.to === RunState.RUN_STATE_QUEUED)
      ) {
        this.runs.delete(e.runId);
      }
    });
  }

  /** Counts every call (health and rejected ones included) with its final status code. */
  interceptor(): grpc.ServerInterceptor {
    return (descriptor, call) => {
      const method = descriptor.path.slice(descriptor.path.lastIndexOf('/') + 1);
      const started = process.hrtime.bigint();
      return new grpc.ServerInterceptingCall(call, {
        sendStatus: (status, next) => {
          const labels = { method, code: grpc.status[status.code] ?? String(status.code) };
          this.rpcTotal.inc(labels);
          this.rpcSeconds.observe(labels, Number(process.hrtime.bigint() - started) / 1e9);
          next(status);
        },
      });
    };
  }

  /** Serves GET /metrics; resolves with the bound address. */
  async serve(listen: string, log: Logger): Promise<{ address: string; close(): Promise<void> }> {
    const { host, port } = parseMetricsListen(listen);
    const server = http.createServer((req, res) => {
      if (req.method !== 'GET' || (req.url ?? '').split('?')[0] !== '/metrics') {
        res.writeHead(404, { 'content-type': 'text/plain' }).end('not found: scrape /metrics\n');
        return;
      }
      this.register.metrics().then(
        (body) => res.writeHead(200, { 'content-type': this.register.contentType }).end(body),
        (err: unknown) => {
          log.error('metrics collection failed', { error: String(err) });
          res.writeHead(500, { 'content-type': 'text/plain' }).end('metrics collection failed\n');
        },
      );
    });
    await new Promise<void>((resolve, reject) => {
      server.once('error', (err) =>
        reject(new Error(`cannot serve metrics on ${host}:${port}: ${err.message}`)),
      );
      server.listen(port, host, () => resolve());
    });
    const bound = (server.address() as AddressInfo).port;
    const address = `${host.includes(':') ? `[${host}]` : host}:${bound}`;
    return {
      address,
      close: () =>
        new Promise<void>((resolve) => {
          server.close(() => resolve());
          server.closeAllConnections();
        }),
    };
  }

  close(): void {
    this.unsubscribe();
  }
}
