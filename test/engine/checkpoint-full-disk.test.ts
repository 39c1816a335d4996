// A checkpoint write that hits a full disk (ENOSPC) leaves the previous checkpoint whole and no
// partial file. The disk is a real 512 KiB tmpfs when this process may mount one (root with
// CAP_SYS_ADMIN, as on the dev box); elsewhere the write goes to /dev/full, which fails every
// write with ENOSPC, and only the single-file path is exercised (the test says which ran).
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, rmSync, statfsSync, symlinkSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, test } from 'node:test';
import * as tf from '@tensorflow/tfjs';
import {
  disposeCheckpoint,
  loadCheckpoint,
  saveCheckpoint,
  writeFileAtomic,
} from '../../server/worker/engine/checkpoint.js';

let root: string;
let mounted = false;

before(async () => {
  await tf.setBackend('cpu');
  root = mkdtempSync(path.join(os.tmpdir(), 'pretext-full-'));
  try {
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=512k', 'tmpfs', root], { stdio: 'ignore' });
    mounted = true;
  } catch {
    mounted = false;
  }
});

after(() => {
  if (mounted) execFileSync('umount', [root]);
  rmSync(root, { recursive: true, force: true });
});

function dense(inputs: number, units: number): tf.LayersModel {
  return tf.sequential({ layers: [tf.layers.dense({ inputShape: [inputs], units, useBias: false })] });
}

test('a checkpoint that does not fit leaves the previous one whole and nothing partial (tmpfs)', async (t) => {
  if (!mounted) {
    t.skip('mount -t tmpfs is not permitted here; the /dev/full test below covers the file write');
    return;
  }
  const tensorsBefore = tf.memory().numTensors;
  const dir = path.join(root, 'checkpoints', 'last');
  const small = dense(4, 4);
  await saveCheckpoint(dir, small, { state: { epoch: 1 }, optimizer: [], arrays: {} });
  const freeBefore = statfsSync(root).bfree;
  // 256×1024 float32 weights = 1 MiB: twice the whole disk.
  const big = dense(256, 1024);
  await assert.rejects(
    saveCheckpoint(dir, big, { state: { epoch: 2 }, optimizer: [], arrays: {} }),
    (err: NodeJS.ErrnoException) => err.code === 'ENOSPC',
  );
  assert.deepEqual(readdirSync(path.join(root, 'checkpoints')), ['last'], 'a staging folder was left behind');
  assert.deepEqual(readdirSync(dir).sort(), ['model.json', 'state.bin', 'state.json', 'weights.bin']);
  assert.equal(statfsSync(root).bfree, freeBefore, 'the failed write still holds disk space');
  const loaded = await loadCheckpoint<{ epoch: number }>(dir);
  assert.equal(loaded.dir, dir);
  assert.equal(loaded.state.epoch, 1);
  const want = small.getWeights()[0]!;
  assert.deepEqual(await loaded.weights[0]!.data(), await want.data());
  disposeCheckpoint(loaded);
  // Once space is back, the next checkpoint goes through.
  const mid = dense(16, 64);
  await saveCheckpoint(dir, mid, { state: { epoch: 3 }, optimizer: [], arrays: {} });
  const again = await loadCheckpoint<{ epoch: number }>(dir);
  assert.equal(again.state.epoch, 3);
  disposeCheckpoint(again);
  for (const m of [small, big, mid]) m.dispose();
  assert.equal(tf.memory().numTensors, tensorsBefore);
});

test('a file write that fails with ENOSPC leaves neither the file nor its temporary (/dev/full)', async () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'pretext-devfull-'));
  try {
    const file = path.join(dir, 'weights.bin');
    // The temporary name writeFileAtomic uses, pointed at a device whose writes all fail.
    symlinkSync('/dev/full', `${file}.tmp-${process.pid}`);
    await assert.rejects(
      writeFileAtomic(file, new Uint8Array(4096)),
      (err: NodeJS.ErrnoException) => err.code === 'ENOSPC',
    );
    assert.ok(!existsSync(file));
    assert.deepEqual(readdirSync(dir), []);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
