// A label-budget study end to end through the daemon (tiny real worker): child runs through the
// queue, live study events, a restart mid-study, the report files, cancel and validation.
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { Metadata, status } from '@grpc/grpc-js';
import { type Run, RunState } from '../../gen/ts/pretext/v1/run.js';
import { type Study, StudyArm, StudyState } from '../../gen/ts/pretext/v1/study.js';
import { collectStudyReportInput } from '../../clients/ts/report/collect.js';
import { writeStudyReport } from '../../clients/ts/report/report.js';
import { startTestDaemon, tinyPretext } from '../helpers/daemon.js';

const studyRequest = (budgets: number[]) => ({
  name: 'tiny study',
  config: {
    pretext: tinyPretext({ epochs: 3, steps: 2 }).config,
    labelBudgets: budgets,
    folds: 1,
    downstream: { training: { epochs: 3, learningRate: 0.01 }, testLimit: 200 },
  },
});

function pngSize(buf: Buffer): { width: number; height: number } {
  assert.deepEqual(
    [...buf.subarray(0, 8)],
    [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a],
    'PNG signature',
  );
  assert.equal(buf.subarray(12, 16).toString('ascii'), 'IHDR');
  return { width: buf.readUInt32BE(16), height: buf.readUInt32BE(20) };
}

test('a study fills its table as children finish, survives a restart, and writes its report', async () => {
  const d = await startTestDaemon();
  try {
    const { study } = await d.call<{ study: Study }>('startStudy', studyRequest([100, 200]));
    assert.equal(study.state, StudyState.STUDY_STATE_RUNNING);
    assert.equal(study.runsTotal, 5); // pretext + 2 budgets × 2 arms
    assert.deepEqual(study.config?.arms, [StudyArm.STUDY_ARM_SL, StudyArm.STUDY_ARM_SSL_FINE_TUNE]);

    // Watch until two children ended, then restart the daemon mid-study.
    await d.stream({ runId: study.id }, (ev) =>
      ev.some((e) => e.payload?.$case === 'study' && (e.payload.study.study?.runsEnded ?? 0) >= 2),
    );
    const before = (await d.call<{ runs: Run[] }>('listRuns', { studyId: study.id })).runs;
    const finishedBefore = before.filter((r) => r.state === RunState.RUN_STATE_SUCCEEDED);
    assert.ok(finishedBefore.length >= 2);
    await d.restart();

    const updates = await d.stream({ runId: study.id });
    const last = updates.at(-1)!;
    assert.equal(last.payload?.$case, 'study');
    const done = await d.call<{ study: Study }>('getStudy', { studyId: study.id });
    const s = done.study;
    assert.equal(s.state, StudyState.STUDY_STATE_SUCCEEDED, s.error);
    assert.equal(s.runsEnded, 5);
    // Children that finished before the restart were not run again.
    for (const r of finishedBefore) {
      const { run } = await d.call<{ run: Run }>('getRun', { runId: r.id });
      assert.equal(run.attempts, 1);
      assert.equal(run.finishedAtUnixMs, r.finishedAtUnixMs);
    }
    // Every cell has its fold, real test figures, and the gain is the difference.
    assert.equal(s.cells.length, 4);
    for (const c of s.cells) {
      assert.equal(c.foldsDone, 1);
      assert.ok(c.testAccuracyMean > 0 && c.testAccuracyMean <= 1);
      assert.ok(c.testLossMean > 0);
      // The default selection holds out 20% of the budget: the cell says what it cost.
      assert.deepEqual(c.labelsUsed, {
        train: c.nLabels * 0.8,
        selection: c.nLabels * 0.2,
        extra: 0,
        total: c.nLabels,
      });
    }
    for (const g of s.gains) {
      const sl = s.cells.find((c) => c.nLabels === g.nLabels && c.arm === StudyArm.STUDY_ARM_SL)!;
      const ssl = s.cells.find((c) => c.nLabels === g.nLabels && c.arm === g.arm)!;
      assert.ok(Math.abs(g.accuracyGainMean - (ssl.testAccuracyMean - sl.testAccuracyMean)) < 1e-12);
    }
    // Paired arms share the labeled subset: the same seed per fold.
    const children = (await d.call<{ runs: Run[] }>('listRuns', { studyId: study.id })).runs;
    const seeds = new Set(children.filter((r) => r.parentRunId !== '' || r.kind === 2).map((r) => r.seed));
    assert.equal(seeds.size, 1);

    const md = new Metadata();
    const input = await collectStudyReportInput(d.client, study.id, md);
    assert.equal(input.pretextEpochs.length, 3);
    const dir = mkdtempSync(path.join(os.tmpdir(), 'pretext-report-'));
    const { files } = await writeStudyReport(input, dir);
    for (const f of [
      'table.csv',
      'report.md',
      'provenance.json',
      'accuracy_vs_labels.svg',
      'accuracy_vs_labels.png',
      'pretext_curves.svg',
      'pretext_curves.png',
    ]) {
      assert.ok(files.includes(f), f);
    }
    const png = pngSize(readFileSync(path.join(dir, 'accuracy_vs_labels.png')));
    assert.ok(png.width > 500 && png.height > 300, JSON.stringify(png));
    const svg = readFileSync(path.join(dir, 'accuracy_vs_labels.svg'), 'utf8');
    assert.match(svg, /^<svg[^>]+width="\d+"[^>]+height="\d+"/);
    assert.ok(svg.includes('SSL+SL') && svg.includes('SL'));
    const curves = pngSize(readFileSync(path.join(dir, 'pretext_curves.png')));
    assert.ok(curves.width > 500);
    const report = readFileSync(path.join(dir, 'report.md'), 'utf8');
    assert.match(report, /\| SL acc % \|/);
    assert.match(report, /\| SSL\+SL loss \|/);
    assert.match(report, /gain SSL\+SL − SL/);
    assert.match(report, /dataset checksum \(SHA-256\): [0-9a-f]{64}/);
    const csv = readFileSync(path.join(dir, 'table.csv'), 'utf8').trim().split('\n');
    assert.equal(
      csv[0],
      'row,n_labels,mean,std,folds_done,folds_total,labels_train,labels_selection,labels_used',
    );
    assert.equal(csv.length, 1 + 2 * 2 * 2 + 2);
    assert.ok(
      csv.slice(1).every((l) => /,(80,20,100|160,40,200)$/.test(l)),
      csv.join('\n'),
    );
    assert.match(report, /\| train \+ selection labels \| 80 \+ 20 \| 160 \+ 40 \|/);
    assert.match(report, /held-out 20% of each label budget/);
    const prov = JSON.parse(readFileSync(path.join(dir, 'provenance.json'), 'utf8'));
    assert.equal(prov.runs.length, 4);
    assert.equal(prov.selection, 'within_budget');
    for (const r of prov.runs) assert.equal(r.labels_used.total, r.config.nLabels);
    assert.deepEqual(prov.backends, ['cpu']);
    rmSync(dir, { recursive: true, force: true });
  } finally {
    await d.stop();
  }
});

test('cancelling a study cancels its unfinished children; bad study configs are rejected', async () => {
  const d = await startTestDaemon();
  try {
    const { study } = await d.call<{ study: Study }>('startStudy', studyRequest([100, 200, 250]));
    const cancelled = await d.call<{ study: Study }>('cancelStudy', { studyId: study.id });
    assert.equal(cancelled.study.state, StudyState.STUDY_STATE_CANCELLED);
    const children = (await d.call<{ runs: Run[] }>('listRuns', { studyId: study.id })).runs;
    for (const r of children)
      await d.waitState(r.id, [RunState.RUN_STATE_CANCELLED, RunState.RUN_STATE_SUCCEEDED]);
    const after = (await d.call<{ runs: Run[] }>('listRuns', { studyId: study.id })).runs;
    assert.ok(after.filter((r) => r.state === RunState.RUN_STATE_CANCELLED).length >= 5);
    await assert.rejects(d.call('cancelStudy', { studyId: study.id }), { code: status.FAILED_PRECONDITION });

    await assert.rejects(d.call('startStudy', { config: { labelBudgets: [100] } }), {
      code: status.INVALID_ARGUMENT,
      details: /exactly one of/,
    });
    await assert.rejects(d.call('startStudy', studyRequest([105])), {
      code: status.INVALID_ARGUMENT,
      details: /config.label_budgets\[0\]: 105 does not divide/,
    });
    await assert.rejects(d.call('getStudy', { studyId: 's-nope' }), { code: status.NOT_FOUND });
    const n = (await d.call<{ runs: Run[] }>('listRuns', {})).runs.length;
    assert.equal(n, 7, 'a rejected study creates no runs');
  } finally {
    await d.stop();
  }
});
