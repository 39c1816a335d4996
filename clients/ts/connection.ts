// How both clients reach pretextd: options from flags or environment, the channel, the
// bearer token, and errors turned into messages a person can act on.
import fs from 'node:fs';
import tls from 'node:tls';
import { type ChannelCredentials, credentials, Metadata, type ServiceError, status } from '@grpc/grpc-js';
import { PretextServiceClient } from '../../gen/ts/pretext/v1/service.js';
import { CliError, ExitCode, type FieldError } from './exit-codes.js';

export const DEFAULT_ADDR = '127.0.0.1:50051';

/** What the user typed; every field optional (environment and defaults fill in). */
export interface ConnectionFlags {
  addr?: string;
  token?: string;
  tokenFile?: string;
  tlsCa?: string;
}

export interface ConnectionOptions {
  addr: string;
  token?: string;
  /** PEM of the CA that signed the daemon's certificate; absent = plaintext. */
  tlsCa?: Buffer;
  tlsCaPath?: string;
}

/** Flags win over PRETEXT_* environment variables, which win over defaults. */
export function resolveConnection(
  flags: ConnectionFlags,
  env: NodeJS.ProcessEnv = process.env,
): ConnectionOptions {
  const addr = flags.addr ?? env.PRETEXT_ADDR ?? DEFAULT_ADDR;
  if (!/^[^\s]+:\d{1,5}$/.test(addr) && !addr.startsWith('unix:')) {
    throw new CliError(`invalid --addr "${addr}": expected host:port`, ExitCode.INVALID_ARGUMENT);
  }
  if (flags.token !== undefined && flags.tokenFile !== undefined) {
    throw new CliError('give either --token or --token-file, not both', ExitCode.INVALID_ARGUMENT);
  }
  let token = flags.token;
  const tokenFile = flags.token === undefined ? (flags.tokenFile ?? env.PRETEXT_TOKEN_FILE) : undefined;
  if (token === undefined && tokenFile === undefined) token = env.PRETEXT_TOKEN;
  if (token === undefined && tokenFile !== undefined) token = readText(tokenFile, 'token file').trim();
  if (token === '') token = undefined;
  const tlsCaPath = flags.tlsCa ?? env.PRETEXT_TLS_CA;
  const opts: ConnectionOptions = { addr };
  if (token !== undefined) opts.token = token;
  if (tlsCaPath) {
    opts.tlsCaPath = tlsCaPath;
    opts.tlsCa = Buffer.from(readText(tlsCaPath, 'TLS CA file'));
  }
  return opts;
}

function readText(file: string, what: string): string {
  try {
    return fs.readFileSync(file, 'utf8');
  } catch (err) {
    throw new CliError(`cannot read ${what} ${file}: ${(err as Error).message}`, ExitCode.INVALID_ARGUMENT);
  }
}

/** A channel to the daemon plus the metadata every call needs. */
export class Connection {
  readonly client: PretextServiceClient;
  constructor(readonly opts: ConnectionOptions) {
    const creds: ChannelCredentials = opts.tlsCa
      ? credentials.createSsl(opts.tlsCa)
      : credentials.createInsecure();
    this.client = new PretextServiceClient(opts.addr, creds, {
      // Keepalive notices a daemon that vanished without closing the socket (host down).
      'grpc.keepalive_time_ms': 15_000,
      'grpc.keepalive_timeout_ms': 5_000,
      'grpc.keepalive_permit_without_calls': 1,
      // Reconnect quickly; the follow loop has its own backoff on top.
      'grpc.initial_reconnect_backoff_ms': 200,
      'grpc.max_reconnect_backoff_ms': 2_000,
    });
  }

  metadata(): Metadata {
    const md = new Metadata();
    if (this.opts.token) md.set('authorization', `Bearer ${this.opts.token}`);
    return md;
  }

  /** Calls a unary method; rejects with the raw ServiceError (see describeError). */
  call<Req, Res>(
    method: (
      req: Req,
      md: Metadata,
      options: { deadline?: number },
      cb: (err: ServiceError | null, res: Res) => void,
    ) => unknown,
    req: Req,
    timeoutMs: number | null = 10_000,
  ): Promise<Res> {
    return new Promise((resolve, reject) => {
      const options = timeoutMs === null ? {} : { deadline: Date.now() + timeoutMs };
      method.call(this.client, req, this.metadata(), options, (err, res) =>
        err ? reject(err) : resolve(res),
      );
    });
  }

  close(): void {
    this.client.close();
  }
}

export function isServiceError(err: unknown): err is ServiceError {
  return typeof err === 'object' && err !== null && 'code' in err && typeof err.code === 'number';
}

/** Whether a stream that failed with this error is worth reopening. */
export function isTransient(err: unknown): boolean {
  if (!isServiceError(err)) return false;
  return (
    err.code === status.UNAVAILABLE ||
    err.code === status.DEADLINE_EXCEEDED ||
    err.code === status.INTERNAL ||
    err.code === status.UNKNOWN ||
    err.code === status.ABORTED ||
    err.code === status.RESOURCE_EXHAUSTED
  );
}

/** Maps any error to a CliError with an exit code and a message that says what to do. */
/** The daemon's field-level verdict (the `pretext-field-errors` trailer of an INVALID_ARGUMENT). */
export function fieldErrorsOf(err: ServiceError): FieldError[] {
  const raw = err.metadata?.get('pretext-field-errors')[0];
  if (typeof raw !== 'string') return [];
  try {
    const parsed = JSON.parse(raw) as unknown;
    return Array.isArray(parsed)
      ? parsed.filter((e): e is FieldError => typeof e?.field === 'string' && typeof e?.message === 'string')
      : [];
  } catch {
    return [];
  }
}

export function describeError(err: unknown, opts: ConnectionOptions, tlsProbe?: boolean): CliError {
  if (err instanceof CliError) return err;
  if (!isServiceError(err)) return new CliError((err as Error)?.message ?? String(err), ExitCode.FAILURE);
  const details = err.details || err.message;
  const addr = opts.addr;
  switch (err.code) {
    case status.UNAVAILABLE:
    case status.DEADLINE_EXCEEDED:
      return unreachable(details, opts, tlsProbe);
    case status.UNAUTHENTICATED:
    case status.PERMISSION_DENIED:
      return new CliError(
        `the daemon at ${addr} rejected the request (${details}). ` +
          (opts.token
            ? 'The token is wrong: check --token / --token-file / PRETEXT_TOKEN.'
            : 'It needs a token: pass --token or --token-file, or set PRETEXT_TOKEN.'),
        ExitCode.UNAUTHENTICATED,
      );
    case status.NOT_FOUND:
      return new CliError(`not found: ${details}`, ExitCode.NOT_FOUND);
    case status.INVALID_ARGUMENT:
    case status.OUT_OF_RANGE: {
      const fields = fieldErrorsOf(err);
      if (fields.length === 0) return new CliError(`invalid argument: ${details}`, ExitCode.INVALID_ARGUMENT);
      const lines = fields.map((f) => `  ${f.field}: ${f.message}`);
      return new CliError(`invalid request:\n${lines.join('\n')}`, ExitCode.INVALID_ARGUMENT, fields);
    }
    case status.FAILED_PRECONDITION:
    case status.ALREADY_EXISTS:
      return new CliError(details, ExitCode.CONFLICT);
    default:
      return new CliError(`daemon error (${status[err.code] ?? err.code}): ${details}`, ExitCode.FAILURE);
  }
}

function unreachable(details: string, opts: ConnectionOptions, tlsProbe?: boolean): CliError {
  const addr = opts.addr;
  const code = ExitCode.UNREACHABLE;
  if (/ECONNREFUSED/.test(details)) {
    return new CliError(
      `cannot reach pretextd at ${addr}: connection refused. Is the daemon running? (--addr / PRETEXT_ADDR)`,
      code,
    );
  }
  if (/Name resolution failed|ENOTFOUND|EAI_AGAIN/.test(details)) {
    return new CliError(`cannot reach pretextd at ${addr}: the host name does not resolve`, code);
  }
  if (opts.tlsCa && /wrong version number|packet length too long|http request/i.test(details)) {
    return new CliError(
      `TLS mismatch: ${addr} does not speak TLS (the daemon runs without a certificate). Drop --tls-ca / PRETEXT_TLS_CA.`,
      code,
    );
  }
  if (opts.tlsCa && /certificate|self.signed|unable to verify|altnames|SSL|TLS/i.test(details)) {
    return new CliError(
      `TLS mismatch: the daemon's certificate at ${addr} is not trusted by ${opts.tlsCaPath ?? 'the given CA'} (${firstLine(details)})`,
      code,
    );
  }
  if (!opts.tlsCa && tlsProbe) {
    return new CliError(
      `TLS mismatch: the daemon at ${addr} expects TLS. Pass --tls-ca <ca.pem> (or set PRETEXT_TLS_CA).`,
      code,
    );
  }
  if (/Deadline|deadline/.test(details)) {
    return new CliError(`cannot reach pretextd at ${addr}: timed out`, code);
  }
  return new CliError(`cannot reach pretextd at ${addr}: ${firstLine(details)}`, code);
}

function firstLine(s: string): string {
  return (s.split('\n')[0] ?? s).replace(/\. Resolution note:.*$/, '').trim();
}

/**
 * A plaintext client that cannot connect gets only "Failed to connect" from grpc-js when the
 * server wants TLS. A bare TLS handshake tells the two cases apart.
 */
export function probeTls(addr: string, timeoutMs = 1500): Promise<boolean> {
  const i = addr.lastIndexOf(':');
  const host = addr.slice(0, i).replace(/^\[|\]$/g, '');
  const port = Number(addr.slice(i + 1));
  return new Promise((resolve) => {
    const socket = tls.connect({ host, port, rejectUnauthorized: false, ALPNProtocols: ['h2'] });
    const done = (v: boolean) => {
      socket.destroy();
      resolve(v);
    };
    socket.setTimeout(timeoutMs, () => done(false));
    socket.once('secureConnect', () => done(true));
    socket.once('error', () => done(false));
  });
}

/** describeError, plus the TLS probe when the symptom is ambiguous. */
export async function explainError(err: unknown, opts: ConnectionOptions): Promise<CliError> {
  const first = describeError(err, opts);
  if (
    first.exitCode === ExitCode.UNREACHABLE &&
    !opts.tlsCa &&
    !/refused|resolve/.test(first.message) &&
    (await probeTls(opts.addr))
  ) {
    return describeError(err, opts, true);
  }
  return first;
}
