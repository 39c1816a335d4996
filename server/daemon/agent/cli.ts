// `pretextd agent …`: flags (with PRETEXT_AGENT_* / PRETEXT_* environment equivalents) → startAgent.
import { readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { AUTO_ORDER, probeBackends } from '../../shared/backends/probe.js';
import { isBackendName } from '../../shared/contract/catalog.js';
import { PROJECT_ROOT } from '../../shared/version.js';
import { parseQueueUrl } from '../cluster/queue-url.js';
import { createLogger, LOG_LEVELS, type LogLevelName } from '../log.js';
import { MAX_SPARE_WORKERS } from '../runs/worker-launcher.js';
import { startAgent } from './agent.js';

export const AGENT_HELP = `Usage: pretextd agent --coordinator HOST:PORT --queue URL [options]

Trains runs of a coordinator (pretextd --queue) on this host.

  --coordinator HOST:PORT   the coordinator's gRPC address                                  [PRETEXT_COORDINATOR]
  --queue URL               redis://[user:pass@]host:port | rediss://… | unix:///path.sock [PRETEXT_QUEUE]
  --queue-tls-ca FILE       CA of a rediss:// queue with a private certificate              [PRETEXT_QUEUE_TLS_CA]
  --slots N                 runs trained at once (default 1)                                [PRETEXT_AGENT_SLOTS]
  --spare-workers N         workers kept started and idle, so a run begins at once (default: slots; 0 = off) [PRETEXT_SPARE_WORKERS]
  --state-dir DIR           this agent's checkpoints and blob cache (default ~/.local/state/pretext-agent) [PRETEXT_STATE_DIR]
  --data-dir DIR            datasets (same contents on every host)                          [PRETEXT_DATA_DIR]
  --backend NAME            the backend this host trains on (default auto = first available) [PRETEXT_BACKEND]
  --token-file FILE         the agent token (the coordinator's --agent-token-file)          [PRETEXT_AGENT_TOKEN_FILE]
  --tls-ca FILE             CA of the coordinator's TLS certificate (TLS when given)        [PRETEXT_TLS_CA]
  --agent-id ID             stable id (default: host name + random, kept in the state dir)
  --lock-ms N               job lease (default 30000); a frozen agent loses its runs after it
  --stalled-ms N            how often leases are checked (default 15000)
  --no-download             never download missing datasets
  --log-level LEVEL         debug | info | warn | error (default info)`;

function int(raw: string, flag: string, min: number, max: number): number {
  const n = Number(raw);
  if (!Number.isInteger(n) || n < min || n > max)
    throw new Error(`${flag} "${raw.slice(0, 40)}" must be an integer in ${min}..${max}`);
  return n;
}

export function resolveAgentBackend(name: string): string {
  if (name !== 'auto') {
    if (!isBackendName(name)) throw new Error(`--backend ${JSON.stringify(name.slice(0, 40))} is unknown`);
    return name;
  }
  const available = new Set(
    probeBackends()
      .filter((b) => b.available)
      .map((b) => b.name),
  );
  // webgpu needs an adapter probe; an agent picks a backend it can be sure of.
  const found = AUTO_ORDER.find((b) => b !== 'webgpu' && available.has(b));
  return found ?? 'cpu';
}

export async function agentMain(argv: string[]): Promise<void> {
  const { values } = parseArgs({
    args: argv,
    options: {
      coordinator: { type: 'string' },
      queue: { type: 'string' },
      'queue-tls-ca': { type: 'string' },
      slots: { type: 'string' },
      'spare-workers': { type: 'string' },
      'state-dir': { type: 'string' },
      'data-dir': { type: 'string' },
      backend: { type: 'string' },
      'token-file': { type: 'string' },
      'tls-ca': { type: 'string' },
      'agent-id': { type: 'string' },
      'lock-ms': { type: 'string' },
      'stalled-ms': { type: 'string' },
      'no-download': { type: 'boolean' },
      'log-level': { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
    strict: true,
  });
  if (values.help) {
    console.log(AGENT_HELP);
    return;
  }
  const env = process.env;
  const coordinator = values.coordinator ?? env.PRETEXT_COORDINATOR;
  const queueUrl = values.queue ?? env.PRETEXT_QUEUE;
  if (!coordinator) throw new Error('pretextd agent needs --coordinator HOST:PORT');
  if (!queueUrl) throw new Error("pretextd agent needs --queue URL (the coordinator's)");
  const caFile = values['queue-tls-ca'] ?? env.PRETEXT_QUEUE_TLS_CA;
  const tokenFile = values['token-file'] ?? env.PRETEXT_AGENT_TOKEN_FILE;
  const token = tokenFile ? readFileSync(tokenFile, 'utf8').split('\n', 1)[0]?.trim() : undefined;
  if (tokenFile && !token) throw new Error(`--token-file ${tokenFile} is empty`);
  const tlsCa = values['tls-ca'] ?? env.PRETEXT_TLS_CA;
  const level = values['log-level'] ?? env.PRETEXT_LOG_LEVEL ?? 'info';
  if (!LOG_LEVELS.includes(level as LogLevelName))
    throw new Error(`--log-level must be one of ${LOG_LEVELS.join(', ')}`);
  const log = createLogger({ level: level as LogLevelName });
  const spareRaw = values['spare-workers'] ?? env.PRETEXT_SPARE_WORKERS;
  const home = os.homedir();
  const agent = await startAgent({
    coordinator,
    queue: parseQueueUrl(queueUrl, caFile ? readFileSync(caFile, 'utf8') : undefined),
    slots: int(values.slots ?? env.PRETEXT_AGENT_SLOTS ?? '1', '--slots', 1, 256),
    spareWorkers: spareRaw === undefined ? undefined : int(spareRaw, '--spare-workers', 0, MAX_SPARE_WORKERS),
    stateDir: path.resolve(
      values['state-dir'] ?? env.PRETEXT_STATE_DIR ?? path.join(home, '.local', 'state', 'pretext-agent'),
    ),
    dataDir: path.resolve(
      values['data-dir'] ?? env.PRETEXT_DATA_DIR ?? path.join(home, '.cache', 'pretext', 'datasets'),
    ),
    backend: resolveAgentBackend(values.backend ?? env.PRETEXT_BACKEND ?? 'auto'),
    token,
    tlsCa: tlsCa ? readFileSync(tlsCa, 'utf8') : undefined,
    agentId: values['agent-id'],
    allowDownload: !values['no-download'],
    workerEntry: env.PRETEXT_WORKER_ENTRY ?? path.join(PROJECT_ROOT, 'server/worker/engine/worker.ts'),
    lockDurationMs: int(values['lock-ms'] ?? '30000', '--lock-ms', 1000, 3_600_000),
    stalledIntervalMs: int(values['stalled-ms'] ?? '15000', '--stalled-ms', 500, 3_600_000),
    log,
  });
  console.log(`pretextd agent ${agent.id} serving ${coordinator}`);
  let stopping = false;
  const stop = () => {
    if (stopping) process.exit(1);
    stopping = true;
    agent.close().then(
      () => process.exit(0),
      () => process.exit(1),
    );
  };
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
}
