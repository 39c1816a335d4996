// Dataset RPCs against a real daemon: import from a root (and every way out of it refused),
// uploads (resumed after a cut, checked, capped, hostile archives refused), list/get/delete,
// progress events, and a run that names an imported dataset.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { type ServiceError, status } from '@grpc/grpc-js';
import tar from 'tar-stream';
import type { Dataset } from '../../gen/ts/pretext/v1/datasets.js';
import { RunState } from '../../gen/ts/pretext/v1/run.js';
import { type Archive, tarFolder, uploadArchive, uploadFolder } from '../../clients/ts/dataset-upload.js';
import { backupStateDir } from '../../server/daemon/disk/backup.js';
import { UPLOAD } from '../../server/shared/contract/datasets.js';
import { startTestDaemon, type TestDaemon } from '../helpers/daemon.js';
import { writeCifarFolder } from '../helpers/image-folder.js';

let tmp: string;
let root: string;
let d: TestDaemon;

before(async () => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'pretext-ds-'));
  root = path.join(tmp, 'root');
  await writeCifarFolder(path.join(root, 'photos'), { count: 100, jpegEvery: 3 });
  fs.writeFileSync(path.join(root, 'photos/labeled/cat/zero.png'), '');
  await writeCifarFolder(path.join(tmp, 'outside'), { count: 40 });
  fs.symlinkSync(path.join(tmp, 'outside'), path.join(root, 'link-out'));
  d = await startTestDaemon({
    importRoots: [root],
    maxUploadBytes: 2 * 1024 * 1024,
    workerEnv: { PRETEXT_TINY_HANG: '1' },
  });
});
after(async () => {
  await d.stop();
  fs.rmSync(tmp, { recursive: true, force: true });
});

async function code(p: Promise<unknown>, expected: status, re?: RegExp): Promise<void> {
  await assert.rejects(p, (err: ServiceError) => {
    assert.equal(err.code, expected, err.details);
    if (re) assert.match(err.details, re);
    return true;
  });
}

describe('dataset RPCs', () => {
  test('ImportDataset from an import root; list, get; ALREADY_EXISTS; progress events', async () => {
    const res = await d.call<{ dataset: Dataset }>('importDataset', { name: 'photos', path: 'photos' });
    assert.equal(res.dataset.name, 'photos');
    assert.equal(res.dataset.side, 32);
    assert.equal(res.dataset.classNames.length, 10);
    assert.equal(res.dataset.skippedCount, 1);
    const got = await d.call<{ dataset: Dataset }>('getDataset', { name: 'photos' });
    assert.deepEqual(got.dataset.skipped, [{ path: 'labeled/cat/zero.png', reason: 'empty file (0 bytes)' }]);
    const list = await d.call<{ datasets: Dataset[] }>('listDatasets', {});
    assert.deepEqual(
      list.datasets.map((x) => x.name),
      ['photos'],
    );
    await code(d.call('importDataset', { name: 'photos', path: 'photos' }), status.ALREADY_EXISTS);
    // Without a side, the backbone the dataset is for picks it.
    const opts = { side: 0, seed: 0, testShare: 0, maxFailedShare: 0 };
    const big = await d.call<{ dataset: Dataset }>('importDataset', {
      name: 'photos96',
      path: 'photos',
      options: { ...opts, architecture: 'resnet18' },
    });
    assert.equal(big.dataset.side, 96);
    await d.call('deleteDataset', { name: 'photos96' });
    await code(
      d.call('importDataset', { name: 'x', path: 'photos', options: { ...opts, architecture: 'vgg' } }),
      status.INVALID_ARGUMENT,
      /options.architecture/,
    );
    const events = await d.stream({ runId: '', fromSeq: 0 }, (es) =>
      es.some((e) => e.payload?.$case === 'datasetImport' && e.payload.datasetImport.phase === 'done'),
    );
    const phases = events.flatMap((e) =>
      e.payload?.$case === 'datasetImport' ? [e.payload.datasetImport.phase] : [],
    );
    assert.ok(phases.includes('decoding') && phases.at(-1) === 'done', phases.join(','));
    // One import's own stream ("d-<name>") replays its progress and ends, the import being over.
    const own = await d.stream({ runId: 'd-photos', fromSeq: 0 });
    assert.ok(own.length > 0 && own.every((e) => e.runId === 'd-photos'));
    const last = own.at(-1)?.payload;
    assert.equal(last?.$case === 'datasetImport' && last.datasetImport.phase, 'done');
    await code(d.stream({ runId: 'd-Not Valid', fromSeq: 0 }), status.INVALID_ARGUMENT);
    const info = await d.call<{ datasets: Array<{ name: string; present: boolean }> }>('getServerInfo', {});
    assert.ok(info.datasets.some((x) => x.name === 'photos' && x.present));
  });

  test('paths outside the import roots are PERMISSION_DENIED (absolute, "..", symlink)', async () => {
    await code(
      d.call('importDataset', { name: 'x', path: path.join(tmp, 'outside') }),
      status.PERMISSION_DENIED,
    );
    await code(d.call('importDataset', { name: 'x', path: '../outside' }), status.PERMISSION_DENIED);
    await code(
      d.call('importDataset', { name: 'x', path: 'link-out' }),
      status.PERMISSION_DENIED,
      /outside the import roots/,
    );
    await code(d.call('importDataset', { name: 'x', path: 'nope' }), status.NOT_FOUND);
    await code(
      d.call('importDataset', { name: 'Bad Name', path: 'photos' }),
      status.INVALID_ARGUMENT,
      /not a dataset name/,
    );
    await code(
      d.call('importDataset', { name: 'cifar10', path: 'photos' }),
      status.INVALID_ARGUMENT,
      /built-in/,
    );
    await code(
      d.call('importDataset', { name: 'x', path: 'photos/labeled' }),
      status.INVALID_ARGUMENT,
      /labeled\/<class>/,
    );
  });

  test('a run on an imported dataset; DeleteDataset refused while it is queued or running', async () => {
    const res = await d.call<{ run: { id: string } }>('startPretext', {
      config: {
        method: 'rotation',
        dataset: 'photos',
        architecture: 'small_conv_8',
        training: { epochs: 1 },
      },
    });
    await code(d.call('deleteDataset', { name: 'photos' }), status.FAILED_PRECONDITION, /cancel it first/);
    await d.call('cancelRun', { runId: res.run.id });
    await d.waitState(res.run.id, [RunState.RUN_STATE_CANCELLED]);
    await code(
      d.call('startPretext', { config: { method: 'rotation', dataset: 'nosuch', training: { epochs: 1 } } }),
      status.INVALID_ARGUMENT,
      /unknown/,
    );
  });

  test('upload: cut off midway, resumed from the acknowledged offset, imported', async () => {
    const archive = await tarFolder(path.join(root, 'photos'));
    try {
      await assert.rejects(
        uploadArchive(d.client, 'up', archive, {
          cutAfterBytes: Math.floor(archive.bytes / 2),
          chunkBytes: 16 * 1024,
        }),
      );
      const held = await d.call<{ receivedBytes: number }>('uploadStatus', {
        name: 'up',
        sha256: archive.sha256,
      });
      assert.ok(
        Number(held.receivedBytes) > 0 && Number(held.receivedBytes) < archive.bytes,
        String(held.receivedBytes),
      );
      const list = await d.call<{ datasets: Dataset[] }>('listDatasets', {});
      assert.ok(!list.datasets.some((x) => x.name === 'up'), 'invisible until imported');
      const ds = await uploadArchive(d.client, 'up', archive, { chunkBytes: 16 * 1024 });
      assert.equal(ds.name, 'up');
      const photos = await d.call<{ dataset: Dataset }>('getDataset', { name: 'photos' });
      assert.equal(ds.checksum, photos.dataset.checksum, 'same images, same shards');
      const again = await d.call<{ receivedBytes: number }>('uploadStatus', {
        name: 'up',
        sha256: archive.sha256,
      });
      assert.equal(Number(again.receivedBytes), 0, 'the part file is gone');
    } finally {
      archive.dispose();
    }
  });

  test('upload refusals: over the cap, wrong SHA-256, hostile archive entries, duplicate name', async () => {
    const big = await tarFolder(path.join(root, 'photos'));
    try {
      await code(
        uploadArchive(d.client, 'big', { ...big, bytes: 3 * 1024 * 1024 }),
        status.RESOURCE_EXHAUSTED,
        /max-upload-bytes/,
      );
      await code(
        uploadArchive(d.client, 'badsum', { ...big, sha256: 'a'.repeat(64) }),
        status.INVALID_ARGUMENT,
        /SHA-256/,
      );
      await code(uploadArchive(d.client, 'up', big), status.ALREADY_EXISTS);
    } finally {
      big.dispose();
    }
    for (const [name, entry] of [
      ['dotdot', { name: '../evil.png', size: 3 }],
      ['absolute', { name: '/tmp/evil.png', size: 3 }],
      ['symlink', { name: 'labeled/cat/l.png', type: 'symlink' as const, linkname: '/etc/passwd' }],
    ] as const) {
      const a = await hostileTar(entry);
      try {
        await code(uploadArchive(d.client, name, a), status.PERMISSION_DENIED, /outside|link/);
      } finally {
        a.dispose();
      }
    }
  });

  test('DeleteDataset removes it from the list and the catalog', async () => {
    await d.call('deleteDataset', { name: 'up' });
    await code(d.call('getDataset', { name: 'up' }), status.NOT_FOUND);
    await code(d.call('deleteDataset', { name: 'up' }), status.NOT_FOUND);
    await code(
      d.call('startPretext', { config: { method: 'rotation', dataset: 'up', training: { epochs: 1 } } }),
      status.INVALID_ARGUMENT,
    );
    assert.ok(!fs.readdirSync(path.join(d.stateDir, 'datasets')).some((e) => e.includes('up')));
    // uploadFolder is the one-call form the CLI uses.
    const ds = await uploadFolder(d.client, 'again', path.join(root, 'photos'));
    assert.equal(ds.trainPerClass.length, 10);
  });

  test('a backup carries imported datasets; abandoned partial uploads are deleted at start', async () => {
    const out = path.join(tmp, 'backup.tar');
    const s = await backupStateDir(d.stateDir, out);
    assert.equal(s.datasets, 2, 'photos and again');
    const lean = await backupStateDir(d.stateDir, path.join(tmp, 'lean.tar'), { datasets: false });
    assert.equal(lean.datasets, 0);
    assert.ok(lean.bytes < s.bytes);

    const restored = path.join(tmp, 'restored');
    fs.mkdirSync(restored);
    execFileSync('tar', ['-xf', out, '-C', restored]);
    // Two partial uploads: one untouched for longer than UPLOAD.abandonedAfterDays, one fresh.
    const uploads = path.join(restored, 'uploads');
    fs.mkdirSync(uploads, { recursive: true });
    const stale = path.join(uploads, `old-${'a'.repeat(64)}.part`);
    const fresh = path.join(uploads, `new-${'b'.repeat(64)}.part`);
    fs.writeFileSync(stale, 'x');
    fs.writeFileSync(fresh, 'y');
    const longAgo = (Date.now() - (UPLOAD.abandonedAfterDays + 1) * 86_400_000) / 1000;
    fs.utimesSync(stale, longAgo, longAgo);

    const r = await startTestDaemon({ stateDir: restored });
    try {
      const list = await r.call<{ datasets: Dataset[] }>('listDatasets', {});
      const original = await d.call<{ datasets: Dataset[] }>('listDatasets', {});
      assert.deepEqual(
        list.datasets.map((x) => [x.name, x.checksum]),
        original.datasets.map((x) => [x.name, x.checksum]),
      );
      assert.ok(!fs.existsSync(stale), 'the abandoned upload is gone');
      assert.ok(fs.existsSync(fresh), 'a recent one stays, to be resumed');
    } finally {
      await r.stop();
    }
  });
});

/** A tar archive holding one entry of `header` (and content for files). */
async function hostileTar(header: Partial<tar.Header> & { name: string }): Promise<Archive> {
  const dir = fs.mkdtempSync(path.join(tmp, 'hostile-'));
  const file = path.join(dir, 'a.tar');
  const pack = tar.pack();
  const chunks: Buffer[] = [];
  pack.on('data', (c: unknown) => {
    chunks.push(c as Buffer);
  });
  const done = new Promise<void>((r) => pack.on('end', () => r()));
  if (header.type === 'symlink') pack.entry(header as tar.Header);
  else pack.entry(header as tar.Header, 'abc');
  pack.finalize();
  await done;
  const data = Buffer.concat(chunks);
  fs.writeFileSync(file, data);
  return {
    file,
    bytes: data.length,
    sha256: createHash('sha256').update(data).digest('hex'),
    dispose: () => fs.rmSync(dir, { recursive: true, force: true }),
  };
}
