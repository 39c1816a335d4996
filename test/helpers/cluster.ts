// A coordinator and agents on this machine for the scale-out tests: a private Redis (unix
// socket), a coordinator process (pretextd --queue) and agent processes (pretextd agent), each
// agent with its own state dir, standing in for separate hosts. Short lease settings keep the
// failure tests quick. `stop` kills everything it started and removes the temp dirs.
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import * as grpc from '@grpc/grpc-js';
import type { RunEvent } from '../../gen/ts/pretext/v1/event.js';
import { RunState } from '../../gen/ts/pretext/v1/run.js';
import { PretextServiceClient } from '../../gen/ts/pretext/v1/service.js';
import { type DaemonProcess, killDaemon, spawnDaemon } from './daemon-process.js';
import { makeCert } from './certs.js';
import { bearer, type RpcHelpers, rpcHelpers } from './client.js';
import { REPO_ROOT, SHARED_DATASETS } from './paths.js';
import { startRedis, type TestRedis } from './redis.js';

export const LOCK_MS = 4_000;
/** The code revision every process of a test cluster reports. */
export const CLUSTER_REVISION = 'cluster-test';
export const STALLED_MS = 2_000;

export interface AgentProcess {
  id: string;
  child: ChildProcess;
  pid: number;
  stateDir: string;
  exited: Promise<string>;
  stderr(): string;
}

export interface Connection extends RpcHelpers {
  address: string;
  client: PretextServiceClient;
  close(): void;
}

export function connect(address: string, token?: string, ca?: string): Connection {
  const creds = ca ? grpc.credentials.createSsl(Buffer.from(ca)) : grpc.credentials.createInsecure();
  const client = new PretextServiceClient(address, creds);
  return { address, client, ...rpcHelpers(() => client, bearer(token)), close: () => client.close() };
}

export interface Cluster {
  redis: TestRedis;
  coordinator: DaemonProcess;
  stateDir: string;
  agents: AgentProcess[];
  c: Connection;
  /** Starts the coordinator again on the same state dir (after a kill), with extra env if given. */
  restartCoordinator(extraEnv?: NodeJS.ProcessEnv): Promise<void>;
  startAgent(id: string, env?: NodeJS.ProcessEnv, backend?: string): Promise<AgentProcess>;
  agentById(id: string): AgentProcess | undefined;
  stop(): Promise<void>;
}

export interface ClusterOptions {
  agents?: number;
  /** Worker entry for the agents (default: the tiny test worker with checkpoints). */
  workerEntry?: string;
  env?: NodeJS.ProcessEnv;
  token?: string;
  agentToken?: string;
  /**
   * TLS everywhere: the coordinator serves TLS (agents and clients check its certificate) and
   * Redis is reached over rediss:// with an ACL user and password.
   */
  tls?: boolean;
}

export async function freePort(): Promise<number> {
  const srv = net.createServer();
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', () => r()));
  const port = (srv.address() as net.AddressInfo).port;
  await new Promise<void>((r) => srv.close(() => r()));
  return port;
}

export const TINY_WORKER = path.join(REPO_ROOT, 'test/fixtures/tiny-worker.ts');

export async function startCluster(opts: ClusterOptions = {}): Promise<Cluster> {
  const root = mkdtempSync(path.join(os.tmpdir(), 'pretext-cluster-'));
  let queueUrl: string;
  let redis: TestRedis;
  const tlsArgs: string[] = [];
  const agentTlsArgs: string[] = [];
  let ca: string | undefined;
  if (opts.tls) {
    const { cert, key } = makeCert(root);
    ca = readFileSync(cert, 'utf8');
    const port = await freePort();
    redis = await startRedis([
      '--tls-port',
      String(port),
      '--tls-cert-file',
      cert,
      '--tls-key-file',
      key,
      '--tls-ca-cert-file',
      cert,
      '--tls-auth-clients',
      'no',
      '--user',
      'default',
      'off',
      '--user',
      'pretext',
      'on',
      '>queue-pass',
      '~*',
      '&*',
      '+@all',
    ]);
    queueUrl = `rediss://pretext:queue-pass@127.0.0.1:${port}`;
    tlsArgs.push('--tls-cert', cert, '--tls-key', key, '--queue-tls-ca', cert);
    agentTlsArgs.push('--tls-ca', cert, '--queue-tls-ca', cert);
  } else {
    redis = await startRedis();
    queueUrl = redis.url;
  }
  const stateDir = path.join(root, 'coordinator');
  const secrets: string[] = [];
  const tokenArgs: string[] = [];
  if (opts.token) {
    writeFileSync(path.join(root, 'token'), opts.token);
    tokenArgs.push('--token-file', path.join(root, 'token'));
  }
  if (opts.agentToken) {
    writeFileSync(path.join(root, 'agent-token'), opts.agentToken);
    tokenArgs.push('--agent-token-file', path.join(root, 'agent-token'));
    secrets.push(path.join(root, 'agent-token'));
  }
  // One fixed revision for every process: git's (with its -dirty flag) could change between the
  // coordinator's start and an agent's while files are being edited.
  const env = {
    PRETEXT_AGENT_HEARTBEAT_MS: '500',
    PRETEXT_TINY_CHECKPOINTS: '1',
    PRETEXT_CODE_REVISION: CLUSTER_REVISION,
    ...opts.env,
  };
  const spawnCoordinator = (extraEnv: NodeJS.ProcessEnv = {}, extraArgs: string[] = []) =>
    spawnDaemon({
      stateDir,
      env: { ...env, ...extraEnv },
      args: [
        '--quiet',
        '--queue',
        queueUrl,
        '--backend',
        'cpu',
        '--min-free-disk',
        '0',
        ...tokenArgs,
        ...tlsArgs,
        ...extraArgs,
      ],
    });
  let coordinator = await spawnCoordinator();
  let c = connect(coordinator.address, opts.token, ca);
  const agents: AgentProcess[] = [];
  const startAgent = async (
    id: string,
    agentEnv: NodeJS.ProcessEnv = {},
    backend = 'cpu',
  ): Promise<AgentProcess> => {
    const dir = path.join(root, `agent-${id}`);
    const child = spawn(
      process.execPath,
      [
        '--import',
        'tsx',
        'server/daemon/main.ts',
        'agent',
        '--coordinator',
        coordinator.address,
        '--queue',
        queueUrl,
        ...agentTlsArgs,
        '--slots',
        '1',
        '--state-dir',
        dir,
        '--data-dir',
        SHARED_DATASETS,
        '--backend',
        backend,
        '--agent-id',
        id,
        '--lock-ms',
        String(LOCK_MS),
        '--stalled-ms',
        String(STALLED_MS),
        '--no-download',
        '--log-level',
        'warn',
        ...(opts.agentToken ? ['--token-file', path.join(root, 'agent-token')] : []),
      ],
      {
        cwd: REPO_ROOT,
        env: { ...process.env, ...env, PRETEXT_WORKER_ENTRY: opts.workerEntry ?? TINY_WORKER, ...agentEnv },
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    let err = '';
    child.stderr!.on('data', (b: Buffer) => {
      err = (err + b.toString()).slice(-100_000);
    });
    const exited = new Promise<string>((resolve) =>
      child.once('exit', (code, sig) => resolve(sig ?? String(code))),
    );
    await new Promise<void>((resolve, reject) => {
      let out = '';
      child.stdout!.on('data', (b: Buffer) => {
        out += b.toString();
        if (/serving/.test(out)) resolve();
      });
      void exited.then((how) => reject(new Error(`agent ${id} exited (${how}): ${err.slice(-2000)}`)));
    });
    const a: AgentProcess = { id, child, pid: child.pid!, stateDir: dir, exited, stderr: () => err };
    agents.push(a);
    return a;
  };
  const stop = async () => {
    c.close();
    for (const a of agents) {
      if (a.child.exitCode === null && a.child.signalCode === null) {
        try {
          process.kill(a.pid, 'SIGCONT');
        } catch {}
        a.child.kill('SIGKILL');
      }
      await a.exited;
    }
    await killDaemon(coordinator);
    await redis.stop();
    rmSync(root, { recursive: true, force: true });
  };
  try {
    for (let i = 1; i <= (opts.agents ?? 3); i++) await startAgent(`a${i}`);
  } catch (err) {
    // A test whose cluster never came up must not leave Redis, the coordinator or agents behind.
    await stop();
    throw err;
  }
  return {
    redis,
    get coordinator() {
      return coordinator;
    },
    stateDir,
    agents,
    get c() {
      return c;
    },
    async restartCoordinator(extraEnv = {}) {
      c.close();
      await killDaemon(coordinator);
      // Agents keep the address they were given: come back on the same port.
      const port = coordinator.address.split(':').at(-1)!;
      coordinator = await spawnCoordinator(extraEnv, ['--listen', `127.0.0.1:${port}`]);
      c = connect(coordinator.address, opts.token, ca);
    },
    startAgent,
    agentById: (id) => agents.find((a) => a.id === id),
    stop,
  };
}

export const TERMINAL = [
  RunState.RUN_STATE_SUCCEEDED,
  RunState.RUN_STATE_FAILED,
  RunState.RUN_STATE_CANCELLED,
];

export const epochsOf = (events: RunEvent[]) =>
  events.flatMap((e) => (e.payload?.$case === 'epoch' ? [e.payload.epoch.epoch] : []));
