// `pretext study …` against a real daemon (the tiny test worker keeps the runs short).
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { bufferIo } from '../../cli/io.js';
import { main } from '../../cli/main.js';
import { startTestDaemon, type TestDaemon } from '../helpers/daemon.js';

let d: TestDaemon;
before(async () => {
  d = await startTestDaemon();
});
after(async () => {
  await d.stop();
});

async function cli(...args: string[]) {
  const io = bufferIo({});
  const code = await main(['--addr', d.daemon.address, ...args], io);
  return { code, out: io.stdout(), err: io.stderr() };
}

test('study start, watch, show, list and report', async () => {
  const start = await cli(
    'study',
    'start',
    '--preset',
    'demo',
    '--budgets',
    '100',
    '200',
    '--folds',
    '1',
    '--epochs',
    '2',
    '--pretext-epochs',
    '2',
    '--test-limit',
    '100',
    '--name',
    'cli study',
  );
  assert.equal(start.code, 0, start.err);
  const id = start.out.trim();
  assert.match(id, /^s-\d{8}-[0-9a-hjkmnp-tv-z]{20}$/);

  const watch = await cli('study', 'watch', id);
  assert.equal(watch.code, 0, watch.err);
  assert.match(watch.out, /SUCCEEDED, 5\/5 runs ended/);
  assert.match(watch.out, /\| SL acc % \|/);

  const show = await cli('study', 'show', id, '--json');
  assert.equal(show.code, 0);
  const study = JSON.parse(show.out);
  assert.equal(study.state, 'STUDY_STATE_SUCCEEDED');
  assert.equal(study.cells.length, 4);

  const list = await cli('study', 'list');
  assert.ok(list.out.includes(id));

  const dir = mkdtempSync(path.join(os.tmpdir(), 'pretext-cli-report-'));
  const report = await cli('study', 'report', id, '--out', dir);
  assert.equal(report.code, 0, report.err);
  for (const f of [
    'report.md',
    'table.csv',
    'accuracy_vs_labels.svg',
    'accuracy_vs_labels.png',
    'provenance.json',
  ]) {
    assert.ok(existsSync(path.join(dir, f)), f);
  }
  rmSync(dir, { recursive: true, force: true });
});

test('study errors have distinct exit codes', async () => {
  const badArm = await cli('study', 'start', '--arms', 'sl', 'magic', '--dry-run');
  assert.equal(badArm.code, 2);
  assert.match(badArm.err, /--arms "magic": use sl, ssl-fine-tune, ssl-linear-probe/);
  // --dry-run asks the daemon: the preset expanded, the overrides applied, nothing created.
  const dry = await cli('study', 'start', '--preset', 'cpu-quick', '--budgets', '100', '--dry-run');
  assert.equal(dry.code, 0, dry.err);
  const preview = JSON.parse(dry.out).study;
  assert.deepEqual(preview.config.labelBudgets, [100]);
  assert.equal(preview.config.pretext.architecture, 'small_conv_64');
  assert.equal(preview.id ?? '', '');
  const missing = await cli('study', 'show', 's-20260101-000000');
  assert.equal(missing.code, 5);
  const invalid = await cli('study', 'start', '--budgets', '105');
  assert.equal(invalid.code, 2);
  assert.match(invalid.err, /config\.label_budgets\[0\] \(--budgets\): 105 does not divide/);
});
