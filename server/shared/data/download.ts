// HTTP(S) download into `<file>.part` with resume (Range) after a cut connection or a crashed
// process, and throttled progress (bytes, rate, ETA). Verification and the rename into place
// belong to the caller (acquire.ts), which holds the dataset lock.
import fs from 'node:fs/promises';
import { DatasetUnavailableError } from './errors.js';

export interface TransferProgress {
  bytesDone: number;
  bytesTotal: number;
  bytesPerSecond: number;
  etaSeconds: number;
}

export interface DownloadOptions {
  /** Expected total size, when published (a mismatching Content-Length is refused). */
  expectedSize?: number | undefined;
  onProgress?: ((p: TransferProgress) => void) | undefined;
  signal?: AbortSignal | undefined;
  /** Attempts, counting the first; each resumes where the last stopped. */
  attempts?: number;
  /** Milliseconds between progress reports. */
  progressMs?: number;
  /** Delay before attempt k is k × retryDelayMs. */
  retryDelayMs?: number;
}

/** Smoothed rate and ETA of a transfer, reported at most every `everyMs`. */
export class RateMeter {
  private lastT = 0;
  private lastBytes = 0;
  private rate = 0;
  constructor(
    private readonly everyMs: number,
    private readonly report: (p: TransferProgress) => void,
  ) {}

  update(done: number, total: number, force = false): void {
    const now = performance.now();
    const first = this.lastT === 0;
    if (first) {
      this.lastT = now;
      this.lastBytes = done;
    }
    const dt = now - this.lastT;
    // The first call reports at once (a watcher sees the phase start), later ones are throttled.
    if (!first && !force && dt < this.everyMs) return;
    if (dt > 0) {
      const inst = ((done - this.lastBytes) * 1000) / dt;
      this.rate = this.rate === 0 ? inst : 0.7 * this.rate + 0.3 * inst;
    }
    this.lastT = now;
    this.lastBytes = done;
    const eta = total > 0 && this.rate > 0 ? Math.max(0, total - done) / this.rate : 0;
    this.report({ bytesDone: done, bytesTotal: total, bytesPerSecond: this.rate, etaSeconds: eta });
  }
}

async function sizeOf(file: string): Promise<number> {
  return fs.stat(file).then(
    (s) => s.size,
    () => 0,
  );
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Downloads `url` into `part`, resuming from its current size. Returns the final size. */
export async function downloadToPart(url: string, part: string, opts: DownloadOptions = {}): Promise<number> {
  const attempts = opts.attempts ?? 6;
  const meter = new RateMeter(opts.progressMs ?? 250, (p) => opts.onProgress?.(p));
  let lastError = '';
  let made = 0;
  for (let attempt = 1; attempt <= attempts; attempt++) {
    made = attempt;
    opts.signal?.throwIfAborted();
    if (attempt > 1) await sleep((opts.retryDelayMs ?? 500) * (attempt - 1));
    let start = await sizeOf(part);
    if (opts.expectedSize !== undefined && start > opts.expectedSize) {
      await fs.rm(part, { force: true });
      start = 0;
    }
    if (opts.expectedSize !== undefined && start === opts.expectedSize) return start;
    let res: Response;
    try {
      res = await fetch(url, {
        headers: start > 0 ? { Range: `bytes=${start}-` } : {},
        signal: opts.signal ?? null,
        redirect: 'follow',
      });
    } catch (e) {
      opts.signal?.throwIfAborted();
      lastError = e instanceof Error ? `${e.message}${e.cause ? ` (${String(e.cause)})` : ''}` : String(e);
      continue;
    }
    if (res.status === 416 && start > 0) {
      // Nothing left to send: the part is complete unless its size is wrong (checked by the caller).
      await res.body?.cancel();
      return start;
    }
    if (res.status !== 200 && res.status !== 206) {
      await res.body?.cancel();
      lastError = `HTTP ${res.status} ${res.statusText}`;
      if (res.status >= 400 && res.status < 500) break;
      continue;
    }
    let offset = start;
    if (res.status === 200 && start > 0) offset = 0; // the server ignored Range: start over
    if (res.status === 206) {
      const m = /bytes (\d+)-/.exec(res.headers.get('content-range') ?? '');
      if (!m || Number(m[1]) !== start) {
        await res.body?.cancel();
        await fs.rm(part, { force: true });
        lastError = `bad Content-Range "${res.headers.get('content-range')}" for a resume at ${start}`;
        continue;
      }
    }
    const length = Number(res.headers.get('content-length') ?? Number.NaN);
    const total = Number.isFinite(length) ? offset + length : (opts.expectedSize ?? 0);
    if (opts.expectedSize !== undefined && Number.isFinite(length) && total !== opts.expectedSize) {
      await res.body?.cancel();
      throw new DatasetUnavailableError(
        `${url}: server announces ${total} bytes, expected ${opts.expectedSize}`,
      );
    }
    const fh = await fs.open(part, offset === 0 ? 'w' : 'a');
    let done = offset;
    try {
      if (!res.body) throw new Error('empty response body');
      for await (const chunk of res.body) {
        await fh.write(chunk as Uint8Array);
        done += (chunk as Uint8Array).length;
        meter.update(done, total);
      }
      if (total > 0 && done !== total) throw new Error(`connection closed at ${done} of ${total} bytes`);
      await fh.sync();
      meter.update(done, total, true);
      return done;
    } catch (e) {
      opts.signal?.throwIfAborted();
      lastError = e instanceof Error ? e.message : String(e);
    } finally {
      await fh.close();
    }
  }
  throw new DatasetUnavailableError(
    `download of ${url} failed after ${made} attempt(s): ${lastError}; ` +
      `${await sizeOf(part)} bytes kept in ${part} for a later resume`,
  );
}
