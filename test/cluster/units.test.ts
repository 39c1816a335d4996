// The --queue address parser and the checkpoint bundle, without Redis.
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { pack, packCheckpoint, unpack, unpackCheckpoint } from '../../server/daemon/cluster/bundle.js';
import { jobId, parseQueueUrl } from '../../server/daemon/cluster/queue-url.js';

test('queue addresses: redis, rediss with user and password, unix sockets; the password never shows', () => {
  const plain = parseQueueUrl('redis://redis.lab:6380/2');
  assert.equal(plain.options.host, 'redis.lab');
  assert.equal(plain.options.port, 6380);
  assert.equal(plain.options.db, 2);
  assert.equal(plain.options.tls, undefined);
  const tls = parseQueueUrl('rediss://pretext:s3cr%40t@redis.lab', 'CA PEM');
  assert.equal(tls.options.username, 'pretext');
  assert.equal(tls.options.password, 's3cr@t');
  assert.equal(tls.options.port, 6379);
  assert.deepEqual(tls.options.tls, { ca: 'CA PEM', servername: 'redis.lab' });
  assert.doesNotMatch(tls.display, /s3cr/);
  assert.match(tls.display, /\*\*\*/);
  assert.equal(parseQueueUrl('unix:///run/redis/redis.sock').options.path, '/run/redis/redis.sock');
  assert.throws(() => parseQueueUrl('http://x'), /not supported/);
  assert.throws(() => parseQueueUrl('not a url'), /not a URL/);
  assert.throws(() => parseQueueUrl('redis://x', 'CA'), /needs a rediss/);
  assert.throws(() => parseQueueUrl('redis://x/99'), /0\.\.15/);
  assert.equal(jobId('r-1', 3), 'r-1.3');
});

test('a checkpoint bundle is deterministic, round-trips, and never writes outside its directory', () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'pretext-bundle-'));
  try {
    const src = path.join(dir, 'last');
    mkdirSync(src);
    writeFileSync(path.join(src, 'weights.bin'), Buffer.from([1, 2, 3, 4]));
    writeFileSync(path.join(src, 'model.json'), '{}');
    writeFileSync(path.join(src, 'state.json'), '{"epoch":2}');
    const a = packCheckpoint(src)!;
    const b = packCheckpoint(src)!;
    assert.equal(a.sha256, b.sha256);
    const dest = path.join(dir, 'copy', 'last');
    mkdirSync(path.dirname(dest));
    unpackCheckpoint(a.bytes, dest);
    assert.deepEqual(readFileSync(path.join(dest, 'weights.bin')), Buffer.from([1, 2, 3, 4]));
    assert.equal(readFileSync(path.join(dest, 'state.json'), 'utf8'), '{"epoch":2}');
    // Swapped in again over an existing checkpoint.
    writeFileSync(path.join(src, 'state.json'), '{"epoch":3}');
    unpackCheckpoint(packCheckpoint(src)!.bytes, dest);
    assert.equal(readFileSync(path.join(dest, 'state.json'), 'utf8'), '{"epoch":3}');
    assert.equal(packCheckpoint(path.join(dir, 'absent')), undefined);
    const evil = pack(['../escape'], [Buffer.from('x')]);
    assert.throws(() => unpack(evil.bytes), /outside its directory/);
    const cut = a.bytes.subarray(0, a.bytes.length - 2);
    assert.throws(() => unpack(cut), /truncated/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
