// pretextd: wires the registry, the scheduler and the gRPC server together. `startDaemon`
// is what main.ts and every end-to-end test call (port 0 works; the bound address is returned).
import { timingSafeEqual } from 'node:crypto';
import { realpathSync } from 'node:fs';
import path from 'node:path';
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import { ReflectionService } from '@grpc/reflection';
import { HealthImplementation } from 'grpc-health-check';
import { PretextServiceService } from '../../gen/ts/pretext/v1/service.js';
import { AgentServiceService } from '../../gen/ts/pretext/v1/agent.js';
import { Coordinator } from './cluster/coordinator.js';
import { parseQueueUrl } from './cluster/queue-url.js';
import { RunState } from '../../gen/ts/pretext/v1/run.js';
import type { RetentionPolicy } from '../../gen/ts/pretext/v1/service.js';
import { datasetStatus } from '../shared/data/registry.js';
import { probeBackendsWithAdapter } from '../shared/backends/probe.js';
import { backendNames, builtInDatasetNames, isBackendName } from '../shared/contract/catalog.js';
import { quote } from '../shared/contract/verdict.js';
import { isLoopback, splitHostPort } from './listen.js';
import { createLogger, type Logger } from './log.js';
import { DiskGuard } from './disk/guard.js';
import { Retention } from './disk/retention.js';
import { Metrics } from './metrics.js';
import { boundEarlyErrors, guardDeserializers, requestGuardInterceptor } from './rpc/guard.js';
import { createService } from './rpc/service.js';
import { DB_FILE, openDb } from './runs/db.js';
import { EventLog } from './runs/event-log.js';
import type { IdSource } from './runs/ids.js';
import { RunRegistry } from './runs/registry.js';
import { defaultSpareWorkers } from './runs/worker-launcher.js';
import { requireHostSupport } from './rpc/submit.js';
import { Scheduler } from './runs/scheduler.js';
import { Studies } from './studies/studies.js';
import { InferenceRunner } from './inference/runner.js';
import { MAX_REQUEST_MESSAGE_BYTES } from '../shared/contract/models-out.js';
import { UPLOAD } from '../shared/contract/datasets.js';
import { Datasets } from './datasets/datasets.js';
import { PROJECT_ROOT } from '../shared/version.js';

export interface DaemonOptions {
  /** Folders ImportDataset may read (--import-root); none: daemon-side import is refused. */
  importRoots?: string[];
  /** Largest dataset upload, bytes (--max-upload-bytes; default UPLOAD.defaultMaxBytes). */
  maxUploadBytes?: number;
  /** host:port; default 127.0.0.1:50051; port 0 picks a free port. */
  listen?: string;
  stateDir: string;
  dataDir: string;
  /** "auto" or a backend name. */
  backend?: string;
  maxConcurrentRuns?: number;
  /** Workers kept started and idle (default: one per concurrent run; 0 = fork at each run). */
  spareWorkers?: number;
  /** Bearer token every call (health excepted) must carry. */
  token?: string;
  /** PEM certificate chain and key: serve TLS. */
  tlsCert?: string;
  tlsKey?: string;
  /** Allow a non-loopback address without a token. */
  insecure?: boolean;
  /** Let the data layer download missing official archives (default true). */
  allowDownload?: boolean;
  /** Resume INTERRUPTED runs at start-up (default true). */
  autoResume?: boolean;
  /** Worker entry script (default: the production engine). */
  workerEntry?: string;
  /** Grace period for a worker to stop after cancel/shutdown before it is killed (default 10 s). */
  stopGraceMs?: number;
  /** Only warnings and errors in the log. */
  quiet?: boolean;
  log?: Logger;
  /** Extra environment for worker processes. */
  workerEnv?: NodeJS.ProcessEnv;
  /** Kill a worker that reports nothing this long after it starts (default 180 s). */
  workerStartTimeoutMs?: number;
  /** Serve Prometheus metrics on PORT (loopback) or HOST:PORT; off when absent. */
  metricsListen?: string;
  /** Free-space guard: below this many free bytes on the state or data dir no run starts (0 = off, the default here). */
  minFreeBytes?: number;
  /** How often the guard measures free space (default 10 s). */
  diskCheckIntervalMs?: number;
  /** Retention (default: keep everything). */
  retention?: Partial<RetentionPolicy>;
  /** How often retention runs when enabled (default 1 h). */
  gcIntervalMs?: number;
  /** Inference worker entry script (default: the production one). */
  inferenceWorkerEntry?: string;
  /** End an Embed/ExportModel stream whose client reads nothing this long (default 60 s). */
  stalledStreamMs?: number;
  /** Where run and study ids come from (tests force collisions through it). */
  idSource?: IdSource;
  /** Coordinator mode: dispatch runs to agents through this Redis (redis://, rediss://, unix://). */
  queue?: string;
  /** PEM CA for a rediss:// queue with a private certificate. */
  queueTlsCa?: string;
  /** Bearer token agents must carry (the agent service accepts nothing else). */
  agentToken?: string;
  /** How often agents send their heartbeat (default 2 s). */
  agentHeartbeatMs?: number;
}

export interface Daemon {
  /** host:port actually bound. */
  address: string;
  port: number;
  /** host:port of the metrics endpoint, when --metrics-listen was given. */
  metricsAddress?: string;
  /** PIDs of running worker processes (for tests that check for leaks). */
  workerPids(): number[];
  /** PIDs of spare workers booted and waiting for a run (not in workerPids). */
  spareWorkerPids(): number[];
  /** Graceful shutdown: ends streams, interrupts runs, closes the database. Idempotent. */
  close(): Promise<void>;
}

export { isLoopback, splitHostPort };

export const DEFAULT_LISTEN = '127.0.0.1:50051';
const SERVICE_NAME = 'pretext.v1.PretextService';
const DEFAULT_WORKER = path.join(PROJECT_ROOT, 'server/worker/engine/worker.ts');

/** The start-up warning for a token sent in cleartext over a network, if that is the setup. */
export function transportWarning(host: string, token: boolean, tls: boolean): string | undefined {
  if (isLoopback(host) || !token || tls) return undefined;
  return `the bearer token travels in cleartext: ${host} is not a loopback address and TLS is off, so anyone on the network path can read the token and then control the daemon; pass --tls-cert/--tls-key, or listen on 127.0.0.1 and forward the port over ssh`;
}

const AGENT_SERVICE_PREFIX = '/pretext.v1.AgentService/';

/**
 * Bearer tokens: client calls need the client token, agent calls the agent token, and neither
 * is accepted by the other's service. Health stays open.
 */
function authInterceptor(token: string | undefined, agentToken: string | undefined): grpc.ServerInterceptor {
  const matches = (expected: string | undefined, value: string | undefined) => {
    if (!expected || !value) return false;
    const want = Buffer.from(`Bearer ${expected}`);
    const got = Buffer.from(value);
    return got.length === want.length && timingSafeEqual(got, want);
  };
  const verdict = (path: string, value: string | undefined): string | undefined => {
    if (path.startsWith('/grpc.health.v1.Health/')) return undefined;
    if (path.startsWith(AGENT_SERVICE_PREFIX)) {
      if (!agentToken)
        return token ? 'this coordinator takes no agents: start it with --agent-token-file' : undefined;
      if (matches(agentToken, value)) return undefined;
      if (matches(token, value))
        return 'a client token cannot call the agent service; agents need the agent token (--agent-token-file)';
      return value
        ? 'the agent token is wrong (check --agent-token-file)'
        : 'agents need "authorization: Bearer <agent token>" metadata';
    }
    if (!token)
      return matches(agentToken, value) ? 'an agent token cannot call the client service' : undefined;
    if (matches(token, value)) return undefined;
    if (matches(agentToken, value))
      return 'an agent token cannot call the client service; use the client token (--token-file)';
    return value
      ? 'the bearer token is wrong (check --token / --token-file)'
      : 'this daemon needs "authorization: Bearer <token>" metadata (pass --token or --token-file)';
  };
  return (descriptor, call) =>
    new grpc.ServerInterceptingCall(call, {
      start: (next) => {
        next({
          onReceiveMetadata: (metadata, mdNext) => {
            const raw = metadata.get('authorization')[0];
            const why = verdict(descriptor.path, typeof raw === 'string' ? raw : undefined);
            if (why === undefined) mdNext(metadata);
            else
              call.sendStatus({
                code: grpc.status.UNAUTHENTICATED,
                details: why,
                metadata: new grpc.Metadata(),
              });
          },
        });
      },
    });
}

function reflectionPackage(): protoLoader.PackageDefinition {
  const protoDir = path.join(PROJECT_ROOT, 'proto');
  return protoLoader.loadSync(['pretext/v1/service.proto'], { includeDirs: [protoDir] });
}

export async function startDaemon(opts: DaemonOptions): Promise<Daemon> {
  const log = opts.log ?? createLogger({ quiet: opts.quiet });
  const { host, port } = splitHostPort(opts.listen ?? DEFAULT_LISTEN);
  if (opts.agentToken && !opts.queue)
    throw new Error('--agent-token-file needs --queue (agents serve a coordinator)');
  if (opts.agentToken && opts.agentToken === opts.token)
    throw new Error("the agent token must differ from the client token: each service refuses the other's");
  if (opts.queue && !isLoopback(host) && !opts.agentToken && !opts.insecure)
    throw new Error(
      `refusing to serve agents on ${host} without an agent token: pass --agent-token-file, or --insecure if the network is trusted`,
    );
  if (!isLoopback(host) && !opts.token && !opts.insecure) {
    throw new Error(
      `refusing to listen on ${host} (not a loopback address) without a token: pass --token-file, or --insecure if the network is trusted`,
    );
  }
  if (Boolean(opts.tlsCert) !== Boolean(opts.tlsKey))
    throw new Error('TLS needs both --tls-cert and --tls-key');
  const warning = transportWarning(host, Boolean(opts.token), Boolean(opts.tlsCert));
  if (warning) log.warn(warning, { listen: host });

  const db = openDb(opts.stateDir, {
    onBackup: (file, from, to) =>
      log.warn('state database upgraded; the old one was copied first', { from, to, backup: file }),
  });
  const events = new EventLog(db);
  const registry = new RunRegistry(db, events, opts.idSource);
  const datasets = new Datasets({
    stateDir: opts.stateDir,
    importRoots: (opts.importRoots ?? []).map((r) => realpathSync(r)),
    maxUploadBytes: opts.maxUploadBytes ?? UPLOAD.defaultMaxBytes,
    registry,
    events,
    log,
  });
  const backend = opts.backend ?? 'auto';
  // A typo here would fail every run after its fork: refuse it before serving anything.
  if (!isBackendName(backend)) {
    throw new Error(`--backend ${quote(backend)} is unknown; use one of: ${backendNames().join(', ')}`);
  }
  const maxConcurrentRuns = opts.maxConcurrentRuns ?? 1;
  // The guard and the scheduler refer to each other: space coming back restarts the queue.
  let kick = () => {};
  const disk = new DiskGuard({
    stateDir: opts.stateDir,
    dataDir: opts.dataDir,
    minFreeBytes: opts.minFreeBytes ?? 0,
    intervalMs: opts.diskCheckIntervalMs ?? 10_000,
    log,
    onRecovered: () => kick(),
  });
  const retention = new Retention(
    db,
    opts.stateDir,
    {
      lastCheckpointDays: opts.retention?.lastCheckpointDays ?? 0,
      stepEventsPerRun: opts.retention?.stepEventsPerRun ?? 0,
    },
    log,
  );
  const coordinator = opts.queue
    ? new Coordinator({
        db,
        registry,
        stateDir: opts.stateDir,
        log,
        queue: parseQueueUrl(opts.queue, opts.queueTlsCa),
        defaultBackend: backend,
        heartbeatMs: opts.agentHeartbeatMs,
      })
    : undefined;
  const scheduler = new Scheduler(registry, {
    mayStart: () => disk.canStart(),
    stateDir: opts.stateDir,
    dataDir: opts.dataDir,
    backend,
    allowDownload: opts.allowDownload ?? true,
    maxConcurrentRuns,
    spareWorkers: opts.spareWorkers ?? defaultSpareWorkers(maxConcurrentRuns),
    workerEntry: opts.workerEntry ?? DEFAULT_WORKER,
    graceMs: opts.stopGraceMs ?? 10_000,
    log,
    workerEnv: opts.workerEnv ? { ...process.env, ...opts.workerEnv } : undefined,
    workerStartTimeoutMs: opts.workerStartTimeoutMs,
    remote: coordinator,
  });

  kick = () => scheduler.kick();
  const studies = new Studies(db, registry, events, scheduler, log, (config) =>
    requireHostSupport(backend, config),
  );
  const inference = new InferenceRunner({
    entry: opts.inferenceWorkerEntry,
    env: opts.workerEnv ? { ...process.env, ...opts.workerEnv } : undefined,
  });

  // Runs that were RUNNING belong to a daemon that died: they are INTERRUPTED now — except, on a
  // coordinator, runs an agent trains: they go on, and the coordinator reconciles with the queue.
  if (coordinator) await coordinator.reconcile();
  for (const run of registry.list({ states: [RunState.RUN_STATE_RUNNING], limit: 10_000 })) {
    if (coordinator && registry.currentAttempt(run.id)?.agentId) continue;
    registry.transition(run.id, RunState.RUN_STATE_INTERRUPTED, {
      from: [RunState.RUN_STATE_RUNNING],
      error: 'the daemon stopped while the run was running (crash or kill)',
    });
    log.warn('run interrupted by a previous daemon stop', { run: run.id });
  }
  if (opts.autoResume ?? true) {
    for (const run of registry.list({ states: [RunState.RUN_STATE_INTERRUPTED], limit: 10_000 }).reverse()) {
      registry.transition(run.id, RunState.RUN_STATE_QUEUED, {
        from: [RunState.RUN_STATE_INTERRUPTED],
        message: 'queued to resume after daemon restart',
      });
      log.info('resuming interrupted run', { run: run.id });
    }
  }

  studies.reconcile();

  const streams = new Set<() => void>();
  const trackStream = (end: () => void) => {
    streams.add(end);
    return () => streams.delete(end);
  };

  const metrics = opts.metricsListen
    ? new Metrics({
        db,
        dbFile: path.join(opts.stateDir, DB_FILE),
        events,
        disk,
        openStreams: () => streams.size,
        workers: () => scheduler.workers(),
        readySpares: () => scheduler.readySpares().length,
        agents: coordinator ? () => coordinator.agents() : undefined,
      })
    : undefined;
  // Metrics first, so calls the token check rejects are counted too.
  const interceptors: grpc.ServerInterceptor[] = [];
  if (metrics) interceptors.push(metrics.interceptor());
  if (opts.token || opts.agentToken) interceptors.push(authInterceptor(opts.token, opts.agentToken));
  interceptors.push(requestGuardInterceptor);
  const server = new grpc.Server({
    interceptors,
    'grpc.keepalive_permit_without_calls': 1,
    'grpc.keepalive_time_ms': 60_000,
    // Predict and Embed carry images: RESOURCE_EXHAUSTED comes from the checks, not the transport.
    'grpc.max_receive_message_length': MAX_REQUEST_MESSAGE_BYTES,
  });
  guardDeserializers(server);
  boundEarlyErrors(server);
  const health = new HealthImplementation({ '': 'SERVING', [SERVICE_NAME]: 'SERVING' });
  health.addToServer(server);
  new ReflectionService(reflectionPackage()).addToServer(server);
  server.addService(
    PretextServiceService,
    createService({
      registry,
      studies,
      events,
      scheduler,
      log,
      dataDir: opts.dataDir,
      stateDir: opts.stateDir,
      disk,
      retention,
      backend,
      maxConcurrentRuns,
      startedAt: Date.now(),
      probeBackends: probeBackendsWithAdapter,
      datasetStatus: (name) =>
        builtInDatasetNames().includes(name)
          ? datasetStatus(name, opts.dataDir)
          : { present: true, path: path.join(datasets.dir, name), hint: 'imported' },
      datasets,
      trackStream,
      inference,
      allowDownload: opts.allowDownload ?? true,
      stalledStreamMs: opts.stalledStreamMs,
      cluster: coordinator,
    }) as unknown as grpc.UntypedServiceImplementation,
  );
  if (coordinator) {
    server.addService(
      AgentServiceService,
      coordinator.service() as unknown as grpc.UntypedServiceImplementation,
    );
  }
  const creds =
    opts.tlsCert && opts.tlsKey
      ? grpc.ServerCredentials.createSsl(
          null,
          [{ cert_chain: Buffer.from(opts.tlsCert), private_key: Buffer.from(opts.tlsKey) }],
          false,
        )
      : grpc.ServerCredentials.createInsecure();
  const bindHost = host.includes(':') ? `[${host}]` : host;
  const boundPort = await new Promise<number>((resolve, reject) =>
    server.bindAsync(`${bindHost}:${port}`, creds, (err, p) => (err ? reject(err) : resolve(p))),
  ).catch((err: Error) => {
    metrics?.close();
    void coordinator?.close();
    db.close();
    throw new Error(`cannot listen on ${host}:${port}: ${err.message}`);
  });
  const address = `${bindHost}:${boundPort}`;
  let metricsServer: Awaited<ReturnType<Metrics['serve']>> | undefined;
  if (metrics && opts.metricsListen) {
    try {
      metricsServer = await metrics.serve(opts.metricsListen, log);
    } catch (err) {
      server.forceShutdown();
      metrics.close();
      db.close();
      throw err;
    }
  }
  log.info('pretextd listening', {
    address,
    stateDir: opts.stateDir,
    dataDir: opts.dataDir,
    backend,
    tls: Boolean(opts.tlsCert),
    metrics: metricsServer?.address,
    minFreeBytes: opts.minFreeBytes ?? 0,
    retention: retention.policy,
    queue: coordinator?.display,
  });
  disk.start();
  retention.start(opts.gcIntervalMs ?? 3_600_000);
  scheduler.kick();

  let closing: Promise<void> | undefined;
  const close = () => {
    closing ??= (async () => {
      log.info('shutting down');
      health.setStatus('', 'NOT_SERVING');
      health.setStatus(SERVICE_NAME, 'NOT_SERVING');
      // Stop accepting calls, then end open streams so tryShutdown does not wait on them.
      const drained = new Promise<void>((resolve) => server.tryShutdown(() => resolve()));
      for (const end of [...streams]) end();
      // A coordinator's runs go on on their agents; they reconnect to the next coordinator.
      await Promise.all([
        scheduler.shutdown(opts.stopGraceMs ?? 10_000),
        inference.shutdown(),
        coordinator?.close(),
      ]);
      const timer = setTimeout(() => server.forceShutdown(), 2_000);
      await drained;
      clearTimeout(timer);
      disk.stop();
      retention.stop();
      datasets.stop();
      await metricsServer?.close();
      metrics?.close();
      db.close();
      log.info('stopped');
    })();
    return closing;
  };

  return {
    address,
    port: boundPort,
    metricsAddress: metricsServer?.address,
    workerPids: () => [...scheduler.pids(), ...inference.pids()],
    spareWorkerPids: () => scheduler.readySpares(),
    close,
  };
}
