// pretextd command line: flags (with PRETEXT_* environment equivalents) → startDaemon.
import { readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { DEFAULT_LISTEN, startDaemon } from './daemon.js';
import { createLogger } from './log.js';
import { backendNames } from '../shared/contract/catalog.js';
import { VERSION } from '../shared/version.js';

const HELP = `pretextd ${VERSION} — the pretext training daemon

Usage: pretextd [options]

  --listen HOST:PORT          address to serve gRPC on (default ${DEFAULT_LISTEN}; port 0 = any free port)   [PRETEXT_LISTEN]
  --state-dir DIR             SQLite registry, event log and checkpoints (default ~/.local/state/pretext)  [PRETEXT_STATE_DIR]
  --data-dir DIR              datasets: extracted folders or official archives (default ~/.cache/pretext/datasets) [PRETEXT_DATA_DIR]
  --backend NAME              ${backendNames().join(' | ')} (default auto)     [PRETEXT_BACKEND]
  --max-concurrent-runs N     runs training at once (default 1)                                        [PRETEXT_MAX_CONCURRENT_RUNS]
  --token-file FILE           require "authorization: Bearer <token>" (token = the file's first line)  [PRETEXT_TOKEN_FILE]
  --tls-cert FILE --tls-key FILE   serve TLS with this PEM certificate chain and key               [PRETEXT_TLS_CERT, PRETEXT_TLS_KEY]
  --insecure                  allow a non-loopback --listen address without a token                     [PRETEXT_INSECURE=1]
  --no-download               never download missing datasets                                           [PRETEXT_NO_DOWNLOAD=1]
  --no-auto-resume            leave INTERRUPTED runs alone at start-up (resume them with ResumeRun)     [PRETEXT_NO_AUTO_RESUME=1]
  --quiet                     log only warnings and errors
  -h, --help                  this text
  --version                   print the version

Logs are JSON lines on stderr; stdout gets one line "pretextd listening on HOST:PORT" once bound.
SIGINT/SIGTERM stop gracefully: running runs become INTERRUPTED and resume at the next start.`;

function envFlag(name: string): boolean {
  const v = process.env[name];
  return v !== undefined && v !== '' && v !== '0' && v.toLowerCase() !== 'false';
}

function home(...parts: string[]): string {
  return path.join(os.homedir(), ...parts);
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      listen: { type: 'string' },
      'state-dir': { type: 'string' },
      'data-dir': { type: 'string' },
      backend: { type: 'string' },
      'max-concurrent-runs': { type: 'string' },
      'token-file': { type: 'string' },
      'tls-cert': { type: 'string' },
      'tls-key': { type: 'string' },
      insecure: { type: 'boolean' },
      'no-download': { type: 'boolean' },
      'no-auto-resume': { type: 'boolean' },
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
  const xdgState = env.XDG_STATE_HOME ?? home('.local', 'state');
  const xdgCache = env.XDG_CACHE_HOME ?? home('.cache');
  const maxRaw = values['max-concurrent-runs'] ?? env.PRETEXT_MAX_CONCURRENT_RUNS ?? '1';
  const maxConcurrentRuns = Number(maxRaw);
  if (!Number.isInteger(maxConcurrentRuns) || maxConcurrentRuns < 1 || maxConcurrentRuns > 64) {
    throw new Error(`--max-concurrent-runs "${maxRaw}" must be an integer in 1..64`);
  }
  const tokenFile = values['token-file'] ?? env.PRETEXT_TOKEN_FILE;
  let token: string | undefined;
  if (tokenFile) {
    token = readFileSync(tokenFile, 'utf8').split('\n', 1)[0]?.trim();
    if (!token) throw new Error(`--token-file ${tokenFile} is empty`);
  }
  const tlsCertFile = values['tls-cert'] ?? env.PRETEXT_TLS_CERT;
  const tlsKeyFile = values['tls-key'] ?? env.PRETEXT_TLS_KEY;
  const log = createLogger({ quiet: values.quiet });
  const daemon = await startDaemon({
    listen: values.listen ?? env.PRETEXT_LISTEN ?? DEFAULT_LISTEN,
    stateDir: path.resolve(values['state-dir'] ?? env.PRETEXT_STATE_DIR ?? path.join(xdgState, 'pretext')),
    dataDir: path.resolve(
      values['data-dir'] ?? env.PRETEXT_DATA_DIR ?? path.join(xdgCache, 'pretext', 'datasets'),
    ),
    backend: values.backend ?? env.PRETEXT_BACKEND ?? 'auto',
    maxConcurrentRuns,
    token,
    tlsCert: tlsCertFile ? readFileSync(tlsCertFile, 'utf8') : undefined,
    tlsKey: tlsKeyFile ? readFileSync(tlsKeyFile, 'utf8') : undefined,
    insecure: values.insecure ?? envFlag('PRETEXT_INSECURE'),
    allowDownload: !(values['no-download'] ?? envFlag('PRETEXT_NO_DOWNLOAD')),
    autoResume: !(values['no-auto-resume'] ?? envFlag('PRETEXT_NO_AUTO_RESUME')),
    // For development and tests: another worker entry speaking the same protocol.
    workerEntry: env.PRETEXT_WORKER_ENTRY,
    log,
  });
  console.log(`pretextd listening on ${daemon.address}`);
  let signals = 0;
  const stop = (signal: string) => {
    if (++signals > 1) {
      log.warn('second signal: exiting now', { signal });
      process.exit(1);
    }
    log.info('signal received', { signal });
    daemon.close().then(
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

main().catch((err: unknown) => {
  process.stderr.write(`pretextd: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(2);
});
