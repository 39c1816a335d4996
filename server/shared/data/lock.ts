// A lock file in the data dir, so that runs in separate worker processes share one download and
// extraction of a dataset: the holder works, the others wait and then find the folder in place.
// A lock whose holder died (same host, pid gone) or stopped refreshing it is taken over.
import fs from 'node:fs/promises';
import os from 'node:os';

export interface LockOptions {
  signal?: AbortSignal | undefined;
  /** Called about every pollMs while another process holds the lock. */
  onWait?: () => void;
  pollMs?: number;
  /** A lock not refreshed for this long is stale (holders refresh it every staleMs / 4). */
  staleMs?: number;
}

interface LockInfo {
  pid: number;
  host: string;
  since: number;
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

async function isStale(file: string, staleMs: number): Promise<boolean> {
  try {
    const [text, st] = await Promise.all([fs.readFile(file, 'utf8'), fs.stat(file)]);
    if (Date.now() - st.mtimeMs > staleMs) return true;
    const info = JSON.parse(text) as LockInfo;
    return info.host === os.hostname() && !alive(info.pid);
  } catch {
    // Vanished: not stale, just free. Unreadable JSON right after creation: give it time.
    return false;
  }
}

const sleep = (ms: number, signal?: AbortSignal) =>
  new Promise<void>((resolve, reject) => {
    const t = setTimeout(resolve, ms);
    signal?.addEventListener(
      'abort',
      () => {
        clearTimeout(t);
        reject(signal.reason ?? new Error('aborted'));
      },
      { once: true },
    );
  });

/** Runs `fn` while holding `file` (created exclusively); waits while another holder has it. */
export async function withFileLock<T>(
  file: string,
  fn: () => Promise<T>,
  opts: LockOptions = {},
): Promise<T> {
  const pollMs = opts.pollMs ?? 250;
  const staleMs = opts.staleMs ?? 120_000;
  const me: LockInfo = { pid: process.pid, host: os.hostname(), since: Date.now() };
  for (;;) {
    opts.signal?.throwIfAborted();
    try {
      const fh = await fs.open(file, 'wx');
      await fh.writeFile(JSON.stringify(me));
      await fh.close();
      break;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
    }
    if (await isStale(file, staleMs)) {
      await fs.rm(file, { force: true });
      continue;
    }
    opts.onWait?.();
    await sleep(pollMs, opts.signal);
  }
  const beat = setInterval(() => {
    const now = new Date();
    fs.utimes(file, now, now).catch(() => undefined);
  }, staleMs / 4);
  beat.unref();
  try {
    return await fn();
  } finally {
    clearInterval(beat);
    await fs.rm(file, { force: true });
  }
}
