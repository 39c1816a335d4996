// pretextd as a separate process (bin entry through tsx), for tests and the soak suite that
// SIGKILL the daemon itself. Loopback only, port 0.
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { REPO_ROOT, SHARED_DATASETS } from './paths.js';

export interface DaemonProcess {
  child: ChildProcess;
  address: string;
  pid: number;
  /** Resolves with the exit code or signal once the process has exited. */
  exited: Promise<string>;
  /** Everything the daemon wrote to stderr (its JSON log). */
  stderr(): string;
}

export async function spawnDaemon(opts: {
  stateDir: string;
  dataDir?: string;
  /** Worker entry (default: the production engine). */
  workerEntry?: string;
  env?: NodeJS.ProcessEnv;
  args?: string[];
}): Promise<DaemonProcess> {
  const child = spawn(
    process.execPath,
    [
      '--import',
      'tsx',
      'server/daemon/main.ts',
      '--listen',
      '127.0.0.1:0',
      '--state-dir',
      opts.stateDir,
      '--data-dir',
      opts.dataDir ?? SHARED_DATASETS,
      '--no-download',
      ...(opts.args ?? []),
    ],
    {
      cwd: REPO_ROOT,
      env: {
        ...process.env,
        ...(opts.workerEntry ? { PRETEXT_WORKER_ENTRY: opts.workerEntry } : {}),
        ...opts.env,
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  let err = '';
  child.stderr.on('data', (c: Buffer) => {
    err = (err + c.toString()).slice(-200_000);
  });
  const exited = new Promise<string>((resolve) =>
    child.once('exit', (code, signal) => resolve(signal ?? String(code))),
  );
  const address = await new Promise<string>((resolve, reject) => {
    let out = '';
    child.stdout.on('data', (c: Buffer) => {
      out += c.toString();
      const m = /pretextd listening on (\S+)/.exec(out);
      if (m) resolve(m[1]!);
    });
    void exited.then((how) =>
      reject(new Error(`pretextd exited (${how}) before listening: ${err.slice(-2000)}`)),
    );
  });
  return { child, address, pid: child.pid!, exited, stderr: () => err };
}

/** SIGKILLs the daemon (if still alive) and waits for it to be gone. */
export async function killDaemon(d: DaemonProcess): Promise<void> {
  if (d.child.exitCode === null && d.child.signalCode === null) d.child.kill('SIGKILL');
  await d.exited;
}

/**
 * PIDs of the worker processes of `parent` whose title matches: `pretext-worker run <id>` for
 * the worker training a run, `pretext-worker spare` for one waiting. Polls, because a worker
 * takes its title only once it has booted (a spare) or been handed its run.
 */
export async function workerPidsOf(parent: number, title: string, timeoutMs = 10_000): Promise<number[]> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      return execFileSync('pgrep', ['-P', String(parent), '-f', title])
        .toString()
        .trim()
        .split('\n')
        .map(Number);
    } catch {
      // pgrep exits 1 when nothing matches (yet)
    }
    if (Date.now() > deadline) return [];
    await new Promise((r) => setTimeout(r, 50));
  }
}
