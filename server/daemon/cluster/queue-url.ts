// The --queue address → BullMQ/ioredis connection options. redis://[user:password@]host[:port][/db],
// rediss://… (TLS; --queue-tls-ca for a private CA), or unix:///path/to/redis.sock (tests, and
// a Redis on the same host). The password never appears in logs or GetServerInfo (`display`).
import type { RedisOptions } from 'bullmq';

export interface QueueConnection {
  options: RedisOptions;
  /** The address without its password, for logs and GetServerInfo. */
  display: string;
}

export function parseQueueUrl(raw: string, tlsCa?: string): QueueConnection {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new Error(
      `--queue ${JSON.stringify(raw.slice(0, 80))} is not a URL; use redis://[user:password@]host:port, rediss://… or unix:///path/redis.sock`,
    );
  }
  // BullMQ's blocking commands need no per-request retry limit.
  const options: RedisOptions = { maxRetriesPerRequest: null, enableReadyCheck: true };
  const user = decodeURIComponent(url.username);
  const password = decodeURIComponent(url.password);
  if (user) options.username = user;
  if (password) options.password = password;
  if (url.protocol === 'unix:') {
    if (!url.pathname) throw new Error('--queue unix:// needs a socket path (unix:///path/redis.sock)');
    options.path = decodeURIComponent(url.pathname);
  } else if (url.protocol === 'redis:' || url.protocol === 'rediss:') {
    if (!url.hostname) throw new Error('--queue needs a host (redis://host:6379)');
    options.host = url.hostname.replace(/^\[|\]$/g, '');
    options.port = url.port ? Number(url.port) : 6379;
    const db = url.pathname.replace(/^\//, '');
    if (db) {
      const n = Number(db);
      if (!Number.isInteger(n) || n < 0 || n > 15)
        throw new Error(`--queue database "${db.slice(0, 20)}" must be 0..15`);
      options.db = n;
    }
    if (url.protocol === 'rediss:')
      options.tls = tlsCa ? { ca: tlsCa, servername: options.host } : { servername: options.host };
  } else {
    throw new Error(
      `--queue scheme ${JSON.stringify(url.protocol)} is not supported; use redis://, rediss:// or unix://`,
    );
  }
  if (tlsCa && url.protocol !== 'rediss:')
    throw new Error('--queue-tls-ca needs a rediss:// --queue address');
  const shown = new URL(url.toString());
  if (shown.password) shown.password = '***';
  return { options, display: shown.toString() };
}

/** BullMQ queue of runs for one backend: an agent takes jobs from its backend's queue only. */
export function queueName(backend: string): string {
  return `runs-${backend}`;
}

export const QUEUE_PREFIX = 'pretext';

/** The job id: one job per (run, attempt), so adding it again is a no-op. */
export function jobId(runId: string, attempt: number): string {
  return `${runId}.${attempt}`;
}
