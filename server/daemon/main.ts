// pretextd command line: flags (with PRETEXT_* environment equivalents) → startDaemon.
import { readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { DEFAULT_LISTEN, startDaemon } from './daemon.js';
import { backendNames } from '../shared/contract/catalog.js';
import { backupStateDir } from './disk/backup.js';
import { agentMain } from './agent/cli.js';
import { formatBytes, parseBytes } from '../shared/contract/sizes.js';
import { createLogger, LOG_LEVELS, type LogLevelName } from './log.js';
import { createNotifier, takeNotifySocket } from './readiness.js';
import { VERSION } from '../shared/version.js';
import { MAX_SPARE_WORKERS } from './runs/worker-launcher.js';

const HELP = `pretextd ${VERSION} — the pretext training daemon

Usage: pretextd [options]
       pretextd backup --out FILE [--state-dir DIR] [--no-datasets]   consistent snapshot (tar) while the daemon runs
       pretextd agent --coordinator HOST:PORT --queue URL [--slots N]   train a coordinator's runs here (agent --help)

  --listen HOST:PORT          address to serve gRPC on (default ${DEFAULT_LISTEN}; port 0 = any free port)   [PRETEXT_LISTEN]
  --state-dir DIR             SQLite registry, event log and checkpoints (default ~/.local/state/pretext)  [PRETEXT_STATE_DIR]
  --data-dir DIR              datasets: extracted folders or official archives (default ~/.cache/pretext/datasets) [PRETEXT_DATA_DIR]
  --backend NAME              ${backendNames().join(' | ')} (default auto)     [PRETEXT_BACKEND]
  --max-concurrent-runs N     runs training at once (default 1)                                        [PRETEXT_MAX_CONCURRENT_RUNS]
  --spare-workers N           workers kept started and idle, so a run begins at once (default: max-concurrent-runs; 0 = off) [PRETEXT_SPARE_WORKERS]
  --token-file FILE           require "authorization: Bearer <token>" (token = the file's first line)  [PRETEXT_TOKEN_FILE]
  --tls-cert FILE --tls-key FILE   serve TLS with this PEM certificate chain and key               [PRETEXT_TLS_CERT, PRETEXT_TLS_KEY]
  --insecure                  allow a non-loopback --listen address without a token                     [PRETEXT_INSECURE=1]
  --no-download               never download missing datasets                                           [PRETEXT_NO_DOWNLOAD=1]
  --no-auto-resume            leave INTERRUPTED runs alone at start-up (resume them with ResumeRun)     [PRETEXT_NO_AUTO_RESUME=1]
  --metrics-listen [HOST:]PORT  serve Prometheus metrics on /metrics (PORT alone = 127.0.0.1)    [PRETEXT_METRICS_LISTEN]
  --import-root DIR           a folder ImportDataset may import from (repeatable; none = only uploads)  [PRETEXT_IMPORT_ROOTS, ':'-separated]
  --max-upload-bytes SIZE     largest dataset upload accepted (default 8GiB)                          [PRETEXT_MAX_UPLOAD_BYTES]
  --min-free-disk SIZE        start no run while the state or data dir has less free (default 1GiB; 0 = off) [PRETEXT_MIN_FREE_DISK]
  --retention-last-days N     drop the 'last' checkpoint of runs that ended N days ago (default 0 = keep) [PRETEXT_RETENTION_LAST_DAYS]
  --retention-step-events N   thin finished runs' step events to N (default 0 = keep all)         [PRETEXT_RETENTION_STEP_EVENTS]
  --queue URL                 coordinator: dispatch runs to agents through Redis (redis://, rediss://, unix://) [PRETEXT_QUEUE]
  --queue-tls-ca FILE         CA of a rediss:// queue with a private certificate                   [PRETEXT_QUEUE_TLS_CA]
  --agent-token-file FILE     the token agents must carry (never a client token)                  [PRETEXT_AGENT_TOKEN_FILE]
  --log-level LEVEL           debug | info | warn | error (default info)                           [PRETEXT_LOG_LEVEL]
  --quiet                     log only warnings and errors
  -h, --help                  this text
  --version                   print the version

Logs are JSON lines (pino) on stderr; stdout gets one line "pretextd listening on HOST:PORT" once bound.
Under systemd (Type=notify, NOTIFY_SOCKET set) it sends READY=1 through systemd-notify once bound.
SIGINT/SIGTERM stop gracefully: running runs become INTERRUPTED and resume at the next start.`;

function envInt(raw: string, flag: string, max: number): number {
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 0 || n > max)
    throw new Error(`${flag} "${raw.slice(0, 40)}" must be an integer in 0..${max}`);
  return n;
}

function envFlag(name: string): boolean {
  const v = process.env[name];
  return v !== undefined && v !== '' && v !== '0' && v.toLowerCase() !== 'false';
}

function home(...parts: string[]): string {
  return path.join(os.homedir(), ...parts);
}

function defaultStateDir(env: NodeJS.ProcessEnv): string {
  return path.join(env.XDG_STATE_HOME ?? home('.local', 'state'), 'pretext');
}

async function backup(argv: string[]): Promise<void> {
  const { values } = parseArgs({
    args: argv,
    options: {
      out: { type: 'string' },
      'state-dir': { type: 'string' },
      'no-datasets': { type: 'boolean' },
      help: { type: 'boolean', short: 'h' },
    },
    strict: true,
  });
  if (values.help) {
    console.log(
      'Usage: pretextd backup --out FILE [--state-dir DIR] [--no-datasets]\n  --no-datasets  leave imported datasets out (they can be large)\nRestore: mkdir NEWDIR && tar -xf FILE -C NEWDIR',
    );
    return;
  }
  if (!values.out) throw new Error('backup needs --out FILE');
  const env = process.env;
  const stateDir = path.resolve(values['state-dir'] ?? env.PRETEXT_STATE_DIR ?? defaultStateDir(env));
  const s = await backupStateDir(stateDir, values.out, { datasets: !values['no-datasets'] });
  console.log(
    `backup of ${stateDir} written to ${s.file}: ${s.runs} runs, ${s.checkpoints} checkpoints, ${s.datasets} datasets, ${formatBytes(s.bytes)}`,
  );
}

async function main(): Promise<void> {
  if (process.argv[2] === 'backup') return backup(process.argv.slice(3));
  if (process.argv[2] === 'agent') return agentMain(process.argv.slice(3));
  const { values } = parseArgs({
    options: {
      listen: { type: 'string' },
      'state-dir': { type: 'string' },
      'data-dir': { type: 'string' },
      backend: { type: 'string' },
      'max-concurrent-runs': { type: 'string' },
      'spare-workers': { type: 'string' },
      'token-file': { type: 'string' },
      'tls-cert': { type: 'string' },
      'tls-key': { type: 'string' },
      insecure: { type: 'boolean' },
      'no-download': { type: 'boolean' },
      'no-auto-resume': { type: 'boolean' },
      'metrics-listen': { type: 'string' },
      'min-free-disk': { type: 'string' },
      'import-root': { type: 'string', multiple: true },
      'max-upload-bytes': { type: 'string' },
      'retention-last-days': { type: 'string' },
      'retention-step-events': { type: 'string' },
      'log-level': { type: 'string' },
      queue: { type: 'string' },
      'queue-tls-ca': { type: 'string' },
      'agent-token-file': { type: 'string' },
      quiet: { type: 'boolean' },
      help: { type: 'boolean', short: 'h' },
      version: { type: 'boolean' },
    },
    strict: true,
  });
  if (values.help) {
    console.log(HELP);
    return;
  }
  if (values.version) {
    console.log(VERSION);
    return;
  }
  const env = process.env;
  const xdgCache = env.XDG_CACHE_HOME ?? home('.cache');
  const maxRaw = values['max-concurrent-runs'] ?? env.PRETEXT_MAX_CONCURRENT_RUNS ?? '1';
  const maxConcurrentRuns = Number(maxRaw);
  if (!Number.isInteger(maxConcurrentRuns) || maxConcurrentRuns < 1 || maxConcurrentRuns > 64) {
    throw new Error(`--max-concurrent-runs "${maxRaw}" must be an integer in 1..64`);
  }
  const spareRaw = values['spare-workers'] ?? env.PRETEXT_SPARE_WORKERS;
  const spareWorkers =
    spareRaw === undefined ? undefined : envInt(spareRaw, '--spare-workers', MAX_SPARE_WORKERS);
  const tokenFile = values['token-file'] ?? env.PRETEXT_TOKEN_FILE;
  let token: string | undefined;
  if (tokenFile) {
    token = readFileSync(tokenFile, 'utf8').split('\n', 1)[0]?.trim();
    if (!token) throw new Error(`--token-file ${tokenFile} is empty`);
  }
  const tlsCertFile = values['tls-cert'] ?? env.PRETEXT_TLS_CERT;
  const tlsKeyFile = values['tls-key'] ?? env.PRETEXT_TLS_KEY;
  const level = values['log-level'] ?? env.PRETEXT_LOG_LEVEL ?? 'info';
  if (!LOG_LEVELS.includes(level as LogLevelName)) {
    throw new Error(`--log-level "${level.slice(0, 40)}" must be one of ${LOG_LEVELS.join(', ')}`);
  }
  const minFreeBytes = parseBytes(
    values['min-free-disk'] ?? env.PRETEXT_MIN_FREE_DISK ?? '1GiB',
    '--min-free-disk',
  );
  const retention = {
    lastCheckpointDays: envInt(
      values['retention-last-days'] ?? env.PRETEXT_RETENTION_LAST_DAYS ?? '0',
      '--retention-last-days',
      36_500,
    ),
    stepEventsPerRun: envInt(
      values['retention-step-events'] ?? env.PRETEXT_RETENTION_STEP_EVENTS ?? '0',
      '--retention-step-events',
      100_000_000,
    ),
  };
  const agentTokenFile = values['agent-token-file'] ?? env.PRETEXT_AGENT_TOKEN_FILE;
  let agentToken: string | undefined;
  if (agentTokenFile) {
    agentToken = readFileSync(agentTokenFile, 'utf8').split('\n', 1)[0]?.trim();
    if (!agentToken) throw new Error(`--agent-token-file ${agentTokenFile} is empty`);
  }
  const queueCaFile = values['queue-tls-ca'] ?? env.PRETEXT_QUEUE_TLS_CA;
  const log = createLogger({ quiet: values.quiet, level: level as LogLevelName });
  // Read once and hidden from worker processes, which must not speak to systemd.
  const notifier = createNotifier(takeNotifySocket(), log);
  const daemon = await startDaemon({
    listen: values.listen ?? env.PRETEXT_LISTEN ?? DEFAULT_LISTEN,
    stateDir: path.resolve(values['state-dir'] ?? env.PRETEXT_STATE_DIR ?? defaultStateDir(env)),
    dataDir: path.resolve(
      values['data-dir'] ?? env.PRETEXT_DATA_DIR ?? path.join(xdgCache, 'pretext', 'datasets'),
    ),
    backend: values.backend ?? env.PRETEXT_BACKEND ?? 'auto',
    maxConcurrentRuns,
    spareWorkers,
    token,
    tlsCert: tlsCertFile ? readFileSync(tlsCertFile, 'utf8') : undefined,
    tlsKey: tlsKeyFile ? readFileSync(tlsKeyFile, 'utf8') : undefined,
    insecure: values.insecure ?? envFlag('PRETEXT_INSECURE'),
    allowDownload: !(values['no-download'] ?? envFlag('PRETEXT_NO_DOWNLOAD')),
    autoResume: !(values['no-auto-resume'] ?? envFlag('PRETEXT_NO_AUTO_RESUME')),
    // For development and tests: another worker entry speaking the same protocol.
    workerEntry: env.PRETEXT_WORKER_ENTRY,
    metricsListen: values['metrics-listen'] ?? env.PRETEXT_METRICS_LISTEN,
    minFreeBytes,
    retention,
    importRoots: (values['import-root'] ?? env.PRETEXT_IMPORT_ROOTS?.split(':').filter(Boolean) ?? []).map(
      (r) => path.resolve(r),
    ),
    maxUploadBytes: parseBytes(
      values['max-upload-bytes'] ?? env.PRETEXT_MAX_UPLOAD_BYTES ?? '8GiB',
      '--max-upload-bytes',
    ),
    queue: values.queue ?? env.PRETEXT_QUEUE,
    queueTlsCa: queueCaFile ? readFileSync(queueCaFile, 'utf8') : undefined,
    agentToken,
    agentHeartbeatMs: env.PRETEXT_AGENT_HEARTBEAT_MS ? Number(env.PRETEXT_AGENT_HEARTBEAT_MS) : undefined,
    log,
  });
  console.log(`pretextd listening on ${daemon.address}`);
  if (daemon.metricsAddress) console.log(`pretextd metrics on http://${daemon.metricsAddress}/metrics`);
  await notifier.ready(`listening on ${daemon.address}`);
  let signals = 0;
  const stop = (signal: string) => {
    if (++signals > 1) {
      log.warn('second signal: exiting now', { signal });
      process.exit(1);
    }
    log.info('signal received', { signal });
    notifier
      .stopping('stopping: interrupting running runs')
      .then(() => daemon.close())
      .then(
        () => process.exit(0),
        (err: unknown) => {
          log.error('shutdown failed', { error: String(err) });
          process.exit(1);
        },
      );
  };
  process.on('SIGINT', () => stop('SIGINT'));
  process.on('SIGTERM', () => stop('SIGTERM'));
}

// Exit 2 = fix the configuration (systemd does not retry it: RestartPreventExitStatus=2);
// exit 1 = a condition that may pass (a full disk, a busy database): systemd retries.
const TRANSIENT = /^(SQLITE_(FULL|BUSY|LOCKED|IOERR)|ENOSPC|EIO|EAGAIN)/;

main().catch((err: unknown) => {
  process.stderr.write(`pretextd: ${err instanceof Error ? err.message : String(err)}\n`);
  const code = (err as { code?: unknown } | undefined)?.code;
  process.exit(typeof code === 'string' && TRANSIENT.test(code) ? 1 : 2);
});
