// `pretext export`, `pretext embed` and `pretext predict` against a real daemon: a short real
// downstream run, its ONNX and tfjs exports unpacked on disk, embeddings as .npy files (read back
// by a minimal .npy reader), a plot, predictions of PNG files, and the exit codes of bad input.
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { bufferIo } from '../../cli/io.js';
import { main } from '../../cli/main.js';
import { ExitCode } from '../../clients/ts/exit-codes.js';
import { testPngs } from '../models-out/helpers.js';
import { startTestDaemon, type TestDaemon, waitFor } from './helpers.js';

async function cli(addr: string, ...args: string[]) {
  const io = bufferIo({});
  const code = await main(['--addr', addr, ...args], io);
  return { code, out: io.stdout(), err: io.stderr() };
}

/** The header and data of a little-endian .npy file (format 1.0). */
function readNpy(file: string): { descr: string; shape: number[]; data: Buffer } {
  const b = readFileSync(file);
  assert.equal(b.subarray(0, 6).toString('latin1'), '\x93NUMPY');
  const len = b.readUInt16LE(8);
  const header = b.subarray(10, 10 + len).toString('latin1');
  const descr = /'descr': '([^']+)'/.exec(header)![1]!;
  const shape = /'shape': \(([^)]*)\)/
    .exec(header)![1]!
    .split(',')
    .filter((s) => s.trim())
    .map(Number);
  assert.equal((10 + len) % 64, 0, 'header padded to 64 bytes');
  return { descr, shape, data: b.subarray(10 + len) };
}

describe('pretext export / embed / predict', () => {
  let d: TestDaemon;
  let runId = '';
  const tmp = mkdtempSync(path.join(os.tmpdir(), 'pretext-cli-models-'));
  const run = (...args: string[]) => cli(d.addr, ...args);

  before(async () => {
    d = await startTestDaemon();
    const r = await run(
      'downstream',
      'start',
      '--scratch',
      '--architecture',
      'small_conv_16',
      '--n-labels',
      '500',
      '--test-limit',
      '100',
      '--epochs',
      '1',
      '--batch-size',
      '32',
      '--max-steps-per-epoch',
      '3',
      '--validation-limit',
      '100',
    );
    assert.equal(r.code, ExitCode.OK, r.err);
    runId = r.out.split('\t')[0]!;
    await waitFor(
      async () => {
        const s = await run('show', runId, '--json');
        const state = JSON.parse(s.out).state as string;
        if (state === 'RUN_STATE_FAILED') throw new Error(`the run failed: ${s.out}`);
        return state === 'RUN_STATE_SUCCEEDED' ? true : undefined;
      },
      300_000,
      'the downstream run',
    );
    const pngs = await testPngs(3);
    for (const [i, p] of pngs.entries()) writeFileSync(path.join(tmp, `img${i}.png`), p);
    writeFileSync(path.join(tmp, 'notes.txt'), 'not an image');
  });
  after(async () => {
    await d.close();
    rmSync(tmp, { recursive: true, force: true });
  });

  it('export --format onnx and tfjs unpack the model files and metadata.json', async () => {
    const onnxDir = path.join(tmp, 'onnx');
    const r = await run('export', runId, '--format', 'onnx', '--out', onnxDir, '--json');
    assert.equal(r.code, ExitCode.OK, r.err);
    const out = JSON.parse(r.out);
    assert.deepEqual(out.files, ['model.onnx', 'metadata.json']);
    assert.equal(out.checkpoint, 'best');
    const meta = JSON.parse(readFileSync(path.join(onnxDir, 'metadata.json'), 'utf8'));
    assert.equal(meta.run_id, runId);
    assert.equal(meta.format, 'onnx');
    assert.ok(meta.code_revision && meta.data_checksum, 'provenance recorded');
    assert.ok(!existsSync(path.join(onnxDir, `.${runId}-onnx.tar`)), 'the archive is removed once unpacked');

    const tfjsDir = path.join(tmp, 'tfjs');
    const t = await run('export', runId, '--format', 'tfjs', '--out', tfjsDir);
    assert.equal(t.code, ExitCode.OK, t.err);
    assert.equal(t.out.trim(), tfjsDir);
    const model = JSON.parse(readFileSync(path.join(tfjsDir, 'model.json'), 'utf8'));
    assert.deepEqual(model.weightsManifest[0].paths, ['group1-shard1of1.bin']);
    assert.ok(existsSync(path.join(tfjsDir, 'group1-shard1of1.bin')));
  });

  it('export resumes a partial download left by an earlier attempt', async () => {
    const dir = path.join(tmp, 'resume');
    const first = await run('export', runId, '--format', 'onnx', '--out', path.join(tmp, 'whole'), '--json');
    const whole = readFileSync(path.join(tmp, 'whole', 'model.onnx'));
    const sha = JSON.parse(first.out).sha256 as string;
    // Simulate a transfer that broke after 1000 bytes: the .part file and its sha256 sidecar.
    const { downloadExport } = await import('../../clients/ts/models-out.js');
    const { Connection } = await import('../../clients/ts/connection.js');
    const conn = new Connection({ addr: d.addr });
    try {
      const archive = path.join(dir, 'a.tar');
      const full = await downloadExport(conn, { runId, format: 'onnx', checkpoint: 1 }, archive);
      const bytes = readFileSync(full.file);
      rmSync(archive);
      writeFileSync(`${archive}.part`, bytes.subarray(0, 1000));
      writeFileSync(`${archive}.part.sha256`, sha);
      const again = await downloadExport(conn, { runId, format: 'onnx', checkpoint: 1 }, archive);
      assert.ok(readFileSync(again.file).equals(bytes));
      assert.equal(again.info.sha256, sha);
    } finally {
      conn.close();
    }
    assert.ok(whole.byteLength > 1000);
  });

  it('embed --split test writes embeddings, labels and indices as .npy, and --plot draws them', async () => {
    const out = path.join(tmp, 'emb.npy');
    const r = await run(
      'embed',
      runId,
      '--dataset',
      'cifar10',
      '--split',
      'test',
      '--limit',
      '200',
      '--out',
      out,
      '--plot',
      '--projection',
      'pca',
      '--json',
    );
    assert.equal(r.code, ExitCode.OK, r.err);
    const emb = readNpy(out);
    assert.equal(emb.descr, '<f4');
    assert.deepEqual(emb.shape, [200, 16]);
    assert.equal(emb.data.byteLength, 200 * 16 * 4);
    const labels = readNpy(path.join(tmp, 'emb.labels.npy'));
    assert.equal(labels.descr, '<i4');
    assert.deepEqual(labels.shape, [200]);
    const idx = readNpy(path.join(tmp, 'emb.indices.npy'));
    assert.equal(idx.data.readInt32LE(199 * 4), 199);
    assert.match(readFileSync(path.join(tmp, 'emb.svg'), 'utf8'), /<svg/);
    assert.equal(readFileSync(path.join(tmp, 'emb.png')).subarray(1, 4).toString(), 'PNG');
  });

  it('embed --image and predict take PNG files', async () => {
    const imgs = [0, 1, 2].map((i) => path.join(tmp, `img${i}.png`));
    const e = await run('embed', runId, '--image', ...imgs, '--out', path.join(tmp, 'mine.npy'));
    assert.equal(e.code, ExitCode.OK, e.err);
    assert.deepEqual(readNpy(path.join(tmp, 'mine.npy')).shape, [3, 16]);
    const p = await run('predict', runId, ...imgs, '--top-k', '2');
    assert.equal(p.code, ExitCode.OK, p.err);
    const lines = p.out.trim().split('\n');
    assert.equal(lines.length, 3);
    assert.match(lines[0]!, /img0\.png\t\w+ \d+\.\d%, \w+ \d+\.\d%/);
    const j = await run('predict', runId, imgs[0]!, '--json');
    assert.equal(JSON.parse(j.out).predictions[0].top.length, 5);
  });

  it('bad input: unknown format, non-image file, missing file, no checkpoint, bad split', async () => {
    const f = await run('export', runId, '--format', 'keras', '--out', path.join(tmp, 'x'));
    assert.equal(f.code, ExitCode.INVALID_ARGUMENT);
    assert.match(f.err, /--format must be one of onnx, tfjs/);
    const n = await run('predict', runId, path.join(tmp, 'notes.txt'));
    assert.equal(n.code, ExitCode.INVALID_ARGUMENT, n.err);
    assert.match(n.err, /not an image/);
    const m = await run('predict', runId, path.join(tmp, 'missing.png'));
    assert.equal(m.code, ExitCode.INVALID_ARGUMENT);
    const s = await run('embed', runId, '--split', 'valid', '--out', path.join(tmp, 'x.npy'));
    assert.equal(s.code, ExitCode.INVALID_ARGUMENT);
    const u = await run('export', 'r-unknown', '--out', path.join(tmp, 'y'));
    assert.equal(u.code, ExitCode.NOT_FOUND, u.err);
    // A queued-then-cancelled run never wrote a checkpoint: exit 8 (conflict with the run's state).
    const q = await run(
      'pretext',
      'start',
      '--method',
      'rotation',
      '--unlabeled-limit',
      '64',
      '--epochs',
      '1',
    );
    const qid = q.out.split('\t')[0]!;
    await run('cancel', qid);
    await waitFor(async () => {
      const s = JSON.parse((await run('show', qid, '--json')).out).state;
      return s === 'RUN_STATE_CANCELLED' || s === 'RUN_STATE_FAILED' ? true : undefined;
    });
    const c = await run('export', qid, '--out', path.join(tmp, 'z'));
    assert.equal(c.code, ExitCode.CONFLICT, c.err);
    assert.match(c.err, /no best checkpoint/);
  });
});
