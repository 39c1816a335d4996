// `pretextd agent`: a training host of a coordinator. A BullMQ Worker (concurrency = slots)
// takes {runId, attempt} jobs from the queue of this host's backend and holds each job's lease
// (lock) while its run trains in a forked worker process. The lease is the fence: when BullMQ
// cannot renew it, or this process was frozen for longer than it lasts, the attempt is fenced
// (its worker killed) — the job is then another agent's, which resumes the run from the
// coordinator's last committed checkpoint.
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import * as grpc from '@grpc/grpc-js';
import { type Job, WaitingError, Worker } from 'bullmq';
import { AgentServiceClient, type BeginAttemptResponse } from '../../../gen/ts/pretext/v1/agent.js';
import { VERSION, codeRevision } from '../../shared/version.js';
import type { Logger } from '../log.js';
import type { JobData } from '../cluster/coordinator.js';
import { isRevisionMismatch } from '../cluster/revision.js';
import { QUEUE_PREFIX, type QueueConnection, queueName } from '../cluster/queue-url.js';
import { defaultSpareWorkers, WorkerLauncher } from '../runs/worker-launcher.js';
import { RemoteAttempt } from './attempt.js';

export interface AgentOptions {
  coordinator: string;
  queue: QueueConnection;
  slots: number;
  stateDir: string;
  dataDir: string;
  /** A concrete backend name (auto resolved by the caller). */
  backend: string;
  token?: string;
  /** PEM CA of the coordinator's TLS certificate: TLS when set. */
  tlsCa?: string;
  agentId?: string;
  allowDownload: boolean;
  workerEntry: string;
  workerEnv?: NodeJS.ProcessEnv;
  /** Workers kept started and idle (default: one per slot). */
  spareWorkers?: number;
  /** BullMQ lease settings (defaults 30 s / 15 s). */
  lockDurationMs?: number;
  stalledIntervalMs?: number;
  graceMs?: number;
  log: Logger;
}

export interface Agent {
  id: string;
  /** Worker PIDs by run (tests pick the agent that owns a run). */
  running(): Array<{ runId: string; attempt: number; pid?: number }>;
  /** PIDs of spare workers booted and waiting for an attempt. */
  spareWorkerPids(): number[];
  close(): Promise<void>;
}

/** The agent's id, kept in its state dir so a restarted agent is the same agent. */
function agentIdOf(stateDir: string, given?: string): string {
  if (given) return given;
  const file = path.join(stateDir, 'agent-id');
  if (existsSync(file)) return readFileSync(file, 'utf8').trim();
  const id = `${os
    .hostname()
    .replace(/[^A-Za-z0-9._-]/g, '-')
    .slice(0, 40)}-${randomBytes(3).toString('hex')}`;
  writeFileSync(file, `${id}\n`);
  return id;
}

function codeOf(err: unknown): number | undefined {
  return (err as { code?: number } | undefined)?.code;
}

export async function startAgent(opts: AgentOptions): Promise<Agent> {
  mkdirSync(opts.stateDir, { recursive: true });
  const { log } = opts;
  const id = agentIdOf(opts.stateDir, opts.agentId);
  const creds = opts.tlsCa
    ? grpc.credentials.createSsl(Buffer.from(opts.tlsCa))
    : grpc.credentials.createInsecure();
  const client = new AgentServiceClient(opts.coordinator, creds, { 'grpc.keepalive_time_ms': 10_000 });
  const md = () => {
    const m = new grpc.Metadata();
    if (opts.token) m.set('authorization', `Bearer ${opts.token}`);
    return m;
  };
  const lockDuration = opts.lockDurationMs ?? 30_000;
  const instance = randomBytes(8).toString('hex');
  const active = new Map<string, RemoteAttempt>();
  let closing = false;

  const register = () =>
    new Promise<number>((resolve, reject) =>
      client.registerAgent(
        {
          agentId: id,
          host: os.hostname(),
          slots: opts.slots,
          backends: [opts.backend],
          busy: active.size,
          version: VERSION,
          codeRevision: codeRevision(),
        },
        md(),
        (err, res) => (err ? reject(err) : resolve(res.heartbeatMs)),
      ),
    );
  // The first registration must succeed (a wrong token or revision is a configuration error).
  const heartbeatMs = await register();
  let missed = 0;
  // The coordinator came back on another revision: take no job until it is ours again.
  let wrongRevision = false;
  const refusedRevision = (message: string) => {
    if (wrongRevision) return;
    wrongRevision = true;
    log.error('the coordinator refuses this code revision: taking no jobs until they match', {
      error: message,
    });
    void worker.pause(true).catch(() => {});
  };
  const heartbeat = setInterval(() => {
    register().then(
      () => {
        if (missed) log.info('coordinator reachable again', { missed });
        missed = 0;
        if (wrongRevision) {
          wrongRevision = false;
          log.info('the coordinator accepts this revision again: taking jobs');
          void worker
            .resume()
            .catch((err: Error) => log.warn('could not resume taking jobs', { error: err.message }));
        }
      },
      (err: Error) => {
        if (isRevisionMismatch(err.message)) return refusedRevision(err.message);
        if (missed++ === 0)
          log.warn('heartbeat failed (the coordinator may be restarting)', { error: err.message });
      },
    );
  }, heartbeatMs);
  heartbeat.unref();
  // Forked only once registered: a misconfigured agent starts no workers.
  const launcher = new WorkerLauncher(
    opts.workerEntry,
    opts.workerEnv,
    opts.spareWorkers ?? defaultSpareWorkers(opts.slots),
  );

  const begin = async (job: Job<JobData>): Promise<BeginAttemptResponse | 'put back' | undefined> => {
    for (;;) {
      try {
        return await new Promise<BeginAttemptResponse>((resolve, reject) =>
          client.beginAttempt(
            {
              runId: job.data.runId,
              jobAttempt: job.data.attempt,
              agentId: id,
              host: os.hostname(),
              backend: opts.backend,
              codeRevision: codeRevision(),
              instance,
            },
            md(),
            (err, res) => (err ? reject(err) : resolve(res)),
          ),
        );
      } catch (err) {
        const code = codeOf(err);
        if (code === grpc.status.FAILED_PRECONDITION && isRevisionMismatch((err as Error).message)) {
          refusedRevision((err as Error).message);
          return 'put back';
        }
        if (code === grpc.status.FAILED_PRECONDITION || code === grpc.status.NOT_FOUND) {
          log.info('job not wanted by the coordinator', { job: job.id, reason: (err as Error).message });
          return undefined;
        }
        if (closing) return undefined;
        // The coordinator is restarting or unreachable: keep the job (and its lease) and retry.
        log.warn('could not begin the attempt; retrying', { job: job.id, error: (err as Error).message });
        await new Promise((r) => setTimeout(r, 1_000));
      }
    }
  };

  const worker = new Worker<JobData>(
    queueName(opts.backend),
    async (job, token) => {
      const started = await begin(job);
      if (!started) return 'not wanted';
      if (started === 'put back') {
        // The run still wants this job: another agent (on the right revision) must get it.
        await job.moveToWait(token);
        throw new WaitingError();
      }
      const attempt = new RemoteAttempt(
        {
          client,
          md,
          log,
          agentId: id,
          stateDir: opts.stateDir,
          dataDir: opts.dataDir,
          allowDownload: opts.allowDownload,
          launcher,
          graceMs: opts.graceMs ?? 10_000,
        },
        started,
      );
      active.set(job.id!, attempt);
      log.info('attempt started', { run: attempt.runId, attempt: attempt.attempt, job: job.id });
      try {
        await attempt.start();
        await attempt.done;
      } finally {
        active.delete(job.id!);
      }
      // A fenced attempt's job belongs to another agent now: do not complete it.
      if (attempt.isFenced) throw new Error('attempt fenced: the lease was lost');
      return 'done';
    },
    {
      connection: opts.queue.options,
      prefix: QUEUE_PREFIX,
      concurrency: opts.slots,
      lockDuration,
      stalledInterval: opts.stalledIntervalMs ?? 15_000,
      // The coordinator decides what a lost attempt means; BullMQ must never fail the job.
      maxStalledCount: 1_000_000,
      autorun: false,
    },
  );
  worker.on('error', (err) => log.warn('queue error', { error: err.message }));
  worker.on('lockRenewalFailed', (jobIds: string[]) => {
    for (const j of jobIds) active.get(j)?.fence('the job lease could not be renewed');
  });
  // A process that was stopped (SIGSTOP, a VM pause) or starved for longer than the lease may
  // have lost it without hearing so: fence first, before anything else it would report.
  let lastTick = Date.now();
  const watchdog = setInterval(
    () => {
      const now = Date.now();
      if (now - lastTick > lockDuration) {
        for (const a of active.values())
          a.fence(`this agent was frozen for ${now - lastTick} ms, longer than the ${lockDuration} ms lease`);
      }
      lastTick = now;
    },
    Math.min(250, lockDuration / 4),
  );
  watchdog.unref();
  void worker.run();
  log.info('agent started', {
    agent: id,
    coordinator: opts.coordinator,
    queue: opts.queue.display,
    slots: opts.slots,
    backend: opts.backend,
  });

  return {
    id,
    running: () => [...active.values()].map((a) => ({ runId: a.runId, attempt: a.attempt, pid: a.pid })),
    spareWorkerPids: () => launcher.readyPids(),
    async close() {
      closing = true;
      clearInterval(heartbeat);
      clearInterval(watchdog);
      const spares = launcher.close();
      // Runs here stop without an outcome: their leases lapse and other agents resume them.
      for (const a of active.values()) a.fence('the agent is shutting down');
      await worker.close(true).catch(() => {});
      await spares;
      client.close();
    },
  };
}
