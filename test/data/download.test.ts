// Archive download and extraction against a local HTTP server on 127.0.0.1 serving small
// CIFAR-10-shaped archives built here from the first records of the real files.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { promisify } from 'node:util';
import { gzipSync } from 'node:zlib';
import tar from 'tar-stream';
import type { DownloadProgress } from '../../gen/ts/pretext/v1/event.js';
import { DatasetCorruptError, DatasetUnavailableError } from '../../server/shared/data/errors.js';
import { resolveDataset } from '../../server/shared/data/registry.js';
import { type DatasetSource, OFFICIAL_SOURCES } from '../../server/shared/data/sources.js';
import { CIFAR_DIR, REPO_ROOT } from '../helpers/paths.js';

const REC = 3073;
const PER_FILE = 20;
const BINS = [
  'data_batch_1.bin',
  'data_batch_2.bin',
  'data_batch_3.bin',
  'data_batch_4.bin',
  'data_batch_5.bin',
  'test_batch.bin',
];

interface Entry {
  name: string;
  body?: Buffer;
  type?: 'file' | 'directory' | 'symlink' | 'link';
  linkname?: string;
}

async function buildArchive(entries: Entry[]): Promise<Buffer> {
  const pack = tar.pack();
  const chunks: Buffer[] = [];
  const done = (async () => {
    for await (const c of pack) chunks.push(c as Buffer);
  })();
  for (const e of entries) {
    await new Promise<void>((resolve, reject) =>
      pack.entry(
        { name: e.name, type: e.type ?? 'file', linkname: e.linkname },
        e.body ?? Buffer.alloc(0),
        (err) => (err ? reject(err) : resolve()),
      ),
    );
  }
  pack.finalize();
  await done;
  return gzipSync(Buffer.concat(chunks));
}

function head(file: string): Buffer {
  const fd = fs.openSync(path.join(CIFAR_DIR, file), 'r');
  const b = Buffer.alloc(PER_FILE * REC);
  fs.readSync(fd, b, 0, b.length, 0);
  fs.closeSync(fd);
  return b;
}

function goodEntries(): Entry[] {
  return [
    { name: 'cifar-10-batches-bin/', type: 'directory' },
    ...BINS.map((f) => ({ name: `cifar-10-batches-bin/${f}`, body: head(f) })),
    {
      name: 'cifar-10-batches-bin/batches.meta.txt',
      body: fs.readFileSync(path.join(CIFAR_DIR, 'batches.meta.txt')),
    },
    { name: 'cifar-10-batches-bin/readme.html', body: Buffer.from('<html></html>') },
  ];
}

/** Sources for a served archive: real sums of the served bytes unless overridden. */
function sourcesFor(url: string, body: Buffer, over: Partial<DatasetSource> = {}) {
  return {
    cifar10: {
      url,
      archiveSize: body.length,
      md5: createHash('md5').update(body).digest('hex'),
      sha256: createHash('sha256').update(body).digest('hex'),
      // The small members have no official sizes or sums.
      files: OFFICIAL_SOURCES.cifar10.files.map((f) => ({ name: f.name, required: f.required })),
      ...over,
    },
  };
}

interface Served {
  body: Buffer;
  /** Cut the connection of the first full request after this many bytes. */
  cutAt?: number;
  /** Pause between 16 KiB chunks, ms. */
  delayMs?: number;
}

const served = new Map<string, Served>();
const requests: { path: string; range?: string }[] = [];
let server: http.Server;
let base: string;
let root: string;

before(async () => {
  root = fs.mkdtempSync(path.join(os.tmpdir(), 'pretext-dl-'));
  server = http.createServer((req, res) => {
    const s = served.get(req.url ?? '');
    requests.push({ path: req.url ?? '', range: req.headers.range });
    if (!s) {
      res.writeHead(404).end();
      return;
    }
    const m = /^bytes=(\d+)-$/.exec(req.headers.range ?? '');
    const start = m ? Number(m[1]) : 0;
    if (start >= s.body.length) {
      res.writeHead(416, { 'Content-Range': `bytes */${s.body.length}` }).end();
      return;
    }
    const body = s.body.subarray(start);
    res.writeHead(m ? 206 : 200, {
      'Content-Length': body.length,
      ...(m ? { 'Content-Range': `bytes ${start}-${s.body.length - 1}/${s.body.length}` } : {}),
    });
    const cut = s.cutAt;
    if (cut !== undefined) {
      s.cutAt = undefined;
      res.write(body.subarray(0, cut), () => setTimeout(() => res.destroy(), 20));
      return;
    }
    let o = 0;
    const pump = () => {
      if (o >= body.length) return void res.end();
      const chunk = body.subarray(o, o + 16384);
      o += chunk.length;
      res.write(chunk, () => (s.delayMs ? setTimeout(pump, s.delayMs) : pump()));
    };
    pump();
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

after(async () => {
  server.closeAllConnections();
  await new Promise((r) => server.close(r));
  fs.rmSync(root, { recursive: true, force: true });
});

function freshDir(): string {
  return fs.mkdtempSync(path.join(root, 'data-'));
}

async function serve(name: string, entries: Entry[], opts: Omit<Served, 'body'> = {}) {
  const body = await buildArchive(entries);
  served.set(`/${name}`, { body, ...opts });
  return { url: `${base}/${name}`, body };
}

function leftovers(dir: string): string[] {
  return fs.readdirSync(dir).filter((n) => n !== 'cifar-10-binary.tar.gz');
}

describe('download and extraction', () => {
  test('resumes after a cut connection, verifies, extracts only expected members', async () => {
    const { url, body } = await serve('cut.tar.gz', goodEntries());
    served.get('/cut.tar.gz')!.cutAt = Math.floor(body.length * 0.4);
    const dir = freshDir();
    const events: DownloadProgress[] = [];
    const n0 = requests.length;
    const h = await resolveDataset('cifar10', {
      dataDir: dir,
      allowDownload: true,
      sources: sourcesFor(url, body),
      onProgress: (p) => events.push(p),
    });
    const reqs = requests.slice(n0);
    assert.equal(reqs.length, 2);
    assert.equal(reqs[0]!.range, undefined);
    // The resume starts where the received bytes end (at most where the server cut).
    const resumeAt = Number(/^bytes=(\d+)-$/.exec(reqs[1]!.range ?? '')?.[1]);
    assert.ok(resumeAt > 0 && resumeAt <= Math.floor(body.length * 0.4), `resumed at ${reqs[1]!.range}`);
    assert.equal(fs.readFileSync(path.join(dir, 'cifar-10-binary.tar.gz')).compare(body), 0);
    assert.deepEqual(
      fs
        .readdirSync(h.dir)
        .filter((n) => !n.startsWith('.'))
        .sort(),
      [...BINS, 'batches.meta.txt'].sort(),
    );
    assert.deepEqual(leftovers(dir), ['cifar-10-batches-bin']);
    const train = await h.load('train');
    assert.equal(train.count, 100);
    assert.deepEqual(Array.from(train.labels.subarray(0, 10)), [6, 9, 9, 4, 1, 1, 2, 7, 8, 3]);
    const phases = [...new Set(events.map((e) => e.phase))];
    assert.deepEqual(phases, ['download', 'verify', 'extract', 'done']);
    const last = events.at(-1)!;
    assert.equal(last.bytesDone, body.length);
    assert.ok(events.every((e) => e.dataset === 'cifar10' && e.file === 'cifar-10-binary.tar.gz'));
    // A second resolve finds the folder: no request.
    const n1 = requests.length;
    const again = await resolveDataset('cifar10', {
      dataDir: dir,
      allowDownload: true,
      sources: sourcesFor(url, body),
    });
    assert.equal(again.checksum, h.checksum);
    assert.equal(requests.length, n1);
  });

  test('resumes a .part left by an earlier process with one ranged request', async () => {
    const { url, body } = await serve('part.tar.gz', goodEntries());
    const dir = freshDir();
    fs.writeFileSync(path.join(dir, 'cifar-10-binary.tar.gz.part'), body.subarray(0, 5000));
    const n0 = requests.length;
    await resolveDataset('cifar10', { dataDir: dir, allowDownload: true, sources: sourcesFor(url, body) });
    assert.deepEqual(requests.slice(n0), [{ path: '/part.tar.gz', range: 'bytes=5000-' }]);
  });

  test('a bad checksum is rejected and nothing is left behind', async () => {
    const { url, body } = await serve('badsum.tar.gz', goodEntries());
    const dir = freshDir();
    const wrong = 'c32a1d4ab5d03f1284b67883e8d87530';
    await assert.rejects(
      resolveDataset('cifar10', {
        dataDir: dir,
        allowDownload: true,
        sources: sourcesFor(url, body, { md5: wrong }),
      }),
      (e: Error) => {
        assert.ok(e instanceof DatasetCorruptError);
        assert.match(
          e.message,
          /cifar-10-binary\.tar\.gz\.part: MD5 [0-9a-f]{32} does not match the published c32a1d4ab5d03f1284b67883e8d87530/,
        );
        return true;
      },
    );
    assert.deepEqual(fs.readdirSync(dir), []);
  });

  test('a wrong size is rejected before downloading', async () => {
    const { url, body } = await serve('size.tar.gz', goodEntries());
    const dir = freshDir();
    await assert.rejects(
      resolveDataset('cifar10', {
        dataDir: dir,
        allowDownload: true,
        sources: sourcesFor(url, body, { archiveSize: 170_052_171 }),
      }),
      /announces \d+ bytes, expected 170052171/,
    );
    assert.equal(fs.existsSync(path.join(dir, 'cifar-10-batches-bin')), false);
  });

  for (const [what, bad, pattern] of [
    [
      'a traversal entry',
      { name: 'cifar-10-batches-bin/../evil.txt', body: Buffer.from('x') },
      /points outside/,
    ],
    ['an absolute entry', { name: '/tmp/evil.txt', body: Buffer.from('x') }, /points outside/],
    [
      'a symlink entry',
      { name: 'cifar-10-batches-bin/data_batch_1.bin', type: 'symlink', linkname: '/etc/passwd' },
      /is a symlink to "\/etc\/passwd"/,
    ],
    [
      'a hard link entry',
      { name: 'cifar-10-batches-bin/x.bin', type: 'link', linkname: 'etc/passwd' },
      /is a link/,
    ],
  ] as [string, Entry, RegExp][]) {
    test(`${what} rejects the archive; no folder appears`, async () => {
      const entries = goodEntries().filter((e) => e.name !== bad.name);
      entries.splice(3, 0, bad);
      const { url, body } = await serve(`${what.replace(/\W/g, '')}.tar.gz`, entries);
      const dir = freshDir();
      await assert.rejects(
        resolveDataset('cifar10', { dataDir: dir, allowDownload: true, sources: sourcesFor(url, body) }),
        (e: Error) => e instanceof DatasetCorruptError && pattern.test(e.message),
      );
      assert.deepEqual(leftovers(dir), []);
      assert.equal(fs.existsSync(path.join(root, 'evil.txt')), false);
    });
  }

  test('an archive missing a member or cut short leaves no half dataset', async () => {
    const missing = goodEntries().filter((e) => !e.name.endsWith('test_batch.bin'));
    const a = await serve('missing.tar.gz', missing);
    const d1 = freshDir();
    await assert.rejects(
      resolveDataset('cifar10', { dataDir: d1, allowDownload: true, sources: sourcesFor(a.url, a.body) }),
      /missing member\(s\) cifar-10-batches-bin\/test_batch\.bin/,
    );
    assert.deepEqual(leftovers(d1), []);
    // A local archive cut short, with no published sums to catch it first: extraction fails cleanly.
    const whole = await buildArchive(goodEntries());
    const d2 = freshDir();
    fs.writeFileSync(
      path.join(d2, 'cifar-10-binary.tar.gz'),
      whole.subarray(0, Math.floor(whole.length / 2)),
    );
    const src = sourcesFor('http://127.0.0.1:9/none', whole, {
      md5: undefined,
      sha256: undefined,
      archiveSize: undefined,
    });
    await assert.rejects(
      resolveDataset('cifar10', { dataDir: d2, allowDownload: false, sources: src }),
      (e: Error) =>
        e instanceof DatasetCorruptError && /cifar-10-binary\.tar\.gz: cannot extract/.test(e.message),
    );
    assert.deepEqual(leftovers(d2), []);
  });

  test('a local archive is verified and extracted without a download; offline absence says where', async () => {
    const body = await buildArchive(goodEntries());
    const dir = freshDir();
    fs.writeFileSync(path.join(dir, 'cifar-10-binary.tar.gz'), body);
    const n0 = requests.length;
    const h = await resolveDataset('cifar10', {
      dataDir: dir,
      allowDownload: false,
      sources: sourcesFor(`${base}/x`, body),
    });
    assert.equal(requests.length, n0);
    assert.equal((await h.load('test')).count, PER_FILE);
    const empty = freshDir();
    await assert.rejects(
      resolveDataset('cifar10', { dataDir: empty, allowDownload: false }),
      (e: Error) =>
        e instanceof DatasetUnavailableError &&
        e.message.includes(`cifar-10-binary.tar.gz`) &&
        e.message.includes(empty),
    );
  });

  test("cancel mid-download keeps the .part for a resume and releases the lock; a dead holder's lock is taken over", async () => {
    const { url, body } = await serve('abort.tar.gz', goodEntries(), { delayMs: 30 });
    const dir = freshDir();
    const ac = new AbortController();
    const run = resolveDataset('cifar10', {
      dataDir: dir,
      allowDownload: true,
      sources: sourcesFor(url, body),
      signal: ac.signal,
      onProgress: (p) => {
        if (p.bytesDone > 50_000) ac.abort();
      },
    });
    await assert.rejects(run);
    const part = path.join(dir, 'cifar-10-binary.tar.gz.part');
    assert.ok(fs.statSync(part).size > 0);
    assert.deepEqual(fs.readdirSync(dir), ['cifar-10-binary.tar.gz.part']);
    // A lock left by a process that no longer exists does not block the next run.
    fs.writeFileSync(
      path.join(dir, '.cifar-10-binary.tar.gz.lock'),
      JSON.stringify({ pid: 2 ** 22 + 12345, host: os.hostname(), since: 0 }),
    );
    served.get('/abort.tar.gz')!.delayMs = 0;
    const n0 = requests.length;
    const h = await resolveDataset('cifar10', {
      dataDir: dir,
      allowDownload: true,
      sources: sourcesFor(url, body),
    });
    assert.match(requests[n0]!.range ?? '', /^bytes=\d+-$/);
    assert.equal((await h.load('test')).count, PER_FILE);
    assert.deepEqual(leftovers(dir), ['cifar-10-batches-bin']);
  });

  test('concurrent runs share one download (in this process and in another)', async () => {
    const { url, body } = await serve('shared.tar.gz', goodEntries(), { delayMs: 40 });
    const dir = freshDir();
    const sources = sourcesFor(url, body);
    const n0 = requests.length;
    const waiterEvents: DownloadProgress[] = [];
    const a = resolveDataset('cifar10', { dataDir: dir, allowDownload: true, sources });
    // Start the others once the first holds the lock.
    while (!fs.existsSync(path.join(dir, '.cifar-10-binary.tar.gz.lock')))
      await new Promise((r) => setTimeout(r, 5));
    const b = resolveDataset('cifar10', {
      dataDir: dir,
      allowDownload: true,
      sources,
      onProgress: (p) => waiterEvents.push(p),
    });
    const child = promisify(execFile)(
      process.execPath,
      [
        '--import',
        'tsx',
        path.join(REPO_ROOT, 'test/data/fixtures/resolve-child.ts'),
        JSON.stringify({ dataDir: dir, sources }),
      ],
      { cwd: REPO_ROOT },
    );
    const [ha, hb, c] = await Promise.all([a, b, child]);
    assert.equal(requests.slice(n0).length, 1);
    assert.equal(hb.checksum, ha.checksum);
    assert.equal(JSON.parse(c.stdout).checksum, ha.checksum);
    assert.ok(
      waiterEvents.some((e) => e.phase === 'download' && e.bytesDone > 0),
      'the waiter saw the download progress',
    );
    assert.deepEqual(leftovers(dir), ['cifar-10-batches-bin']);
  });
});
