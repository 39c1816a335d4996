// The study view's pure parts: study events → snapshots in the store, a snapshot → the
// reference-shaped table (figures, ± std, pending/running/failed cells, gains), the keys of the
// studies screens, and the props-only view at 80×24.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { render } from 'ink-testing-library';
import type { RunEvent } from '../../gen/ts/pretext/v1/event.js';
import { RunState } from '../../gen/ts/pretext/v1/run.js';
import { type Study, StudyArm, type StudyCell, StudyState } from '../../gen/ts/pretext/v1/study.js';
import { ExitCode } from '../../clients/ts/exit-codes.js';
import { bufferIo } from '../../cli/io.js';
import { main } from '../../cli/main.js';
import { App } from '../../client-tui/components/App.js';
import { type DashState, initialState, reduce } from '../../client-tui/state.js';
import { cellText, studyTable } from '../../client-tui/studyTable.js';
import { handleKey, initialUi, type KeyInfo, type UiState } from '../../client-tui/ui.js';
import { mkRun } from './fixtures.js';

// biome-ignore lint/suspicious/noControlCharactersInRegex: ANSI escapes
const strip = (s: string) => s.replace(/\u001b\[[0-9;]*m/g, '');
const SL = StudyArm.STUDY_ARM_SL;
const FT = StudyArm.STUDY_ARM_SSL_FINE_TUNE;

const cell = (nLabels: number, arm: StudyArm, over: Partial<StudyCell> = {}): StudyCell => ({
  nLabels,
  arm,
  foldsDone: 0,
  foldsTotal: 2,
  foldsFailed: 0,
  testAccuracyMean: 0,
  testAccuracyStd: 0,
  testLossMean: 0,
  testLossStd: 0,
  runIds: [`r-${nLabels}-${arm}-0`, `r-${nLabels}-${arm}-1`],
  labelsUsed: undefined,
  ...over,
});

/** Budgets 100 and 250, 2 folds, SL vs SSL+SL: at 100 every fold is in, at 250 one SSL+SL fold. */
function mkStudy(over: Partial<Study> = {}): Study {
  return {
    id: 's-20261128-aaaaaa',
    name: 'unit',
    state: StudyState.STUDY_STATE_RUNNING,
    config: {
      pretextRunId: 'r-pre',
      pretext: undefined,
      labelBudgets: [100, 250],
      folds: 2,
      arms: [SL, FT],
      downstream: undefined,
      preset: 'cpu-quick',
    },
    pretextRunId: 'r-pre',
    cells: [
      cell(100, SL, {
        foldsDone: 2,
        testAccuracyMean: 0.247,
        testAccuracyStd: 0.0123,
        testLossMean: 2.0514,
        testLossStd: 0.0311,
      }),
      cell(100, FT, {
        foldsDone: 2,
        testAccuracyMean: 0.281,
        testAccuracyStd: 0.0101,
        testLossMean: 1.9,
        testLossStd: 0.02,
      }),
      cell(250, SL),
      cell(250, FT, { foldsDone: 1, testAccuracyMean: 0.398, testLossMean: 1.7 }),
    ],
    gains: [
      {
        nLabels: 100,
        arm: FT,
        accuracyGainMean: 0.034,
        accuracyGainStd: 0.005,
        lossGainMean: -0.15,
        pairedFolds: 2,
      },
      { nLabels: 250, arm: FT, accuracyGainMean: 0, accuracyGainStd: 0, lossGainMean: 0, pairedFolds: 0 },
    ],
    createdAtUnixMs: 1_000,
    finishedAtUnixMs: 0,
    error: '',
    runsTotal: 9,
    runsEnded: 6,
    codeRevision: 'abc',
    ...over,
  };
}

const studyEvent = (seq: number, study: Study): RunEvent => ({
  seq,
  runId: study.id,
  timeUnixMs: seq,
  payload: { $case: 'study', study: { study } },
});

/** The table as text rows: label then each cell's text (wide cells). */
function textRows(study: Study, running: string[] = []): string[][] {
  const t = studyTable(study, (id) => (running.includes(id) ? RunState.RUN_STATE_RUNNING : undefined));
  return t.rows.map((r) => [r.label, ...r.cells.map((c) => cellText(c, 20))]);
}

describe('study table', () => {
  it('has the reference shape: loss and accuracy per arm, then the gain, by budget', () => {
    const s = mkStudy();
    assert.deepEqual(studyTable(s).budgets, [100, 250]);
    assert.deepEqual(textRows(s), [
      ['SL loss', '2.051 ± 0.031', '·'],
      ['SL acc %', '24.70 ± 1.23', '·'],
      ['SSL+SL loss', '1.900 ± 0.020', '1.700'],
      ['SSL+SL acc %', '28.10 ± 1.01', '39.80'],
      ['gain SSL+SL−SL', '+3.40 ± 0.50', '·'],
    ]);
    const t = studyTable(s);
    assert.deepEqual(
      t.rows.map((r) => r.cells.map((c) => c.mark)),
      [
        ['done', 'pending'],
        ['done', 'pending'],
        ['done', 'partial'],
        ['done', 'partial'],
        ['done', 'pending'],
      ],
    );
    assert.equal(t.rows[4]?.cells[0]?.sign, 1);
  });

  it('marks cells whose folds are training, and a figure with folds still training', () => {
    const rows = textRows(mkStudy(), ['r-250-1-0', 'r-250-2-1']);
    assert.deepEqual(rows[1], ['SL acc %', '24.70 ± 1.23', '…']);
    assert.deepEqual(rows[3], ['SSL+SL acc %', '28.10 ± 1.01', '39.80…']);
    // The gain waits on the SL cell, which is training.
    assert.deepEqual(rows[4], ['gain SSL+SL−SL', '+3.40 ± 0.50', '…']);
  });

  it('one fold: no ± std; negative gains keep their sign', () => {
    const s = mkStudy({
      config: { ...mkStudy().config!, folds: 1, labelBudgets: [100] },
      cells: [
        cell(100, SL, { foldsDone: 1, foldsTotal: 1, testAccuracyMean: 0.3, testLossMean: 2 }),
        cell(100, FT, { foldsDone: 1, foldsTotal: 1, testAccuracyMean: 0.25, testLossMean: 2.1 }),
      ],
      gains: [
        {
          nLabels: 100,
          arm: FT,
          accuracyGainMean: -0.05,
          accuracyGainStd: 0,
          lossGainMean: 0.1,
          pairedFolds: 1,
        },
      ],
    });
    assert.deepEqual(textRows(s), [
      ['SL loss', '2.000'],
      ['SL acc %', '30.00'],
      ['SSL+SL loss', '2.100'],
      ['SSL+SL acc %', '25.00'],
      ['gain SSL+SL−SL', '-5.00'],
    ]);
    assert.equal(studyTable(s).rows[4]?.cells[0]?.sign, -1);
  });

  it('failed and cancelled studies: ✕ where every fold failed, — where none will come', () => {
    const failed = mkStudy({
      state: StudyState.STUDY_STATE_FAILED,
      cells: mkStudy().cells.map((c) => (c.nLabels === 250 && c.arm === SL ? { ...c, foldsFailed: 2 } : c)),
    });
    const rows = textRows(failed);
    assert.deepEqual(
      rows.map((r) => r[2]),
      ['✕', '✕', '1.700', '39.80', '✕'],
    );
    const cancelled = mkStudy({ state: StudyState.STUDY_STATE_CANCELLED, finishedAtUnixMs: 5_000 });
    assert.deepEqual(
      textRows(cancelled).map((r) => r[2]),
      ['—', '—', '1.700', '39.80', '—'],
    );
  });

  it('fits narrow cells: mean±std, then the mean alone', () => {
    const c = studyTable(mkStudy()).rows[1]?.cells[0];
    assert.ok(c);
    assert.equal(cellText(c, 12), '24.70 ± 1.23');
    assert.equal(cellText(c, 11), '24.70±1.23');
    assert.equal(cellText(c, 8), '24.70');
  });
});

describe('reducer: studies', () => {
  it('patches study snapshots from the all-runs stream without taking them for unknown runs', () => {
    const a = mkStudy({ runsEnded: 1 });
    let s = reduce(initialState, { type: 'events', events: [studyEvent(5, a)] });
    assert.equal(s.unknownRuns, false);
    assert.equal(s.summarySeq, 5);
    assert.deepEqual(s.studyOrder, [a.id]);
    assert.equal(s.studies[a.id]?.study.runsEnded, 1);
    s = reduce(s, { type: 'events', events: [studyEvent(7, { ...a, runsEnded: 2 })] });
    assert.equal(s.studies[a.id]?.study.runsEnded, 2);
  });

  it("follows the open study's stream: replays older than the snapshot held change nothing", () => {
    const a = mkStudy();
    let s = reduce(initialState, { type: 'studyOpen', studyId: a.id });
    assert.deepEqual(s.studyView, { studyId: a.id, lastSeq: 0 });
    s = reduce(s, {
      type: 'studyEvents',
      studyId: a.id,
      events: [studyEvent(3, { ...a, runsEnded: 1 }), studyEvent(9, { ...a, runsEnded: 4 })],
    });
    assert.equal(s.studyView?.lastSeq, 9);
    assert.equal(s.studies[a.id]?.study.runsEnded, 4);
    // The all-runs stream already delivered seq 9: the same event again is a no-op.
    const same = reduce(s, { type: 'events', events: [studyEvent(9, { ...a, runsEnded: 4 })] });
    assert.equal(same.studies, s.studies);
    // Events of another study on this stream are ignored.
    const other = reduce(s, { type: 'studyEvents', studyId: 's-other', events: [studyEvent(10, a)] });
    assert.equal(other, s);
    s = reduce(s, { type: 'studyClose' });
    assert.equal(s.studyView, undefined);
    assert.equal(s.studies[a.id]?.study.runsEnded, 4, 'the snapshot stays for the list');
  });

  it('takes a list or cancel reply unless a snapshot further along is already held', () => {
    const a = mkStudy({ runsEnded: 5 });
    let s = reduce(initialState, { type: 'studyEvents', studyId: a.id, events: [] });
    s = reduce(s, { type: 'events', events: [studyEvent(20, a)] });
    s = reduce(s, { type: 'studies', studies: [{ ...a, runsEnded: 3 }] });
    assert.equal(s.studies[a.id]?.study.runsEnded, 5, 'an older list reply does not roll back');
    const cancelled = { ...a, state: StudyState.STUDY_STATE_CANCELLED, finishedAtUnixMs: 9 };
    s = reduce(s, { type: 'study', study: cancelled });
    assert.equal(s.studies[a.id]?.study.state, StudyState.STUDY_STATE_CANCELLED);
    s = reduce(s, { type: 'studiesError', message: 'boom' });
    assert.equal(s.studiesError, 'boom');
    s = reduce(s, { type: 'studies', studies: [] });
    assert.equal(s.studiesError, undefined);
  });
});

describe('keys: studies', () => {
  const a = mkStudy();
  const b = mkStudy({ id: 's-20261128-bbbbbb', createdAtUnixMs: 2_000 });
  const done = mkStudy({
    id: 's-20261128-cccccc',
    createdAtUnixMs: 500,
    state: StudyState.STUDY_STATE_SUCCEEDED,
    finishedAtUnixMs: 900,
  });
  let dash: DashState = reduce(initialState, { type: 'runs', runs: [mkRun('r-1', 1)] });
  dash = reduce(dash, { type: 'studies', studies: [a, b, done] });
  const press = (ui: UiState, ...keys: (string | KeyInfo)[]) => {
    let r = { ui } as ReturnType<typeof handleKey>;
    for (const k of keys) {
      const next = typeof k === 'string' ? handleKey(r.ui, dash, k, {}) : handleKey(r.ui, dash, '', k);
      r = next;
    }
    return r;
  };

  it('s switches to the studies list; enter opens the selected study; esc goes back', () => {
    let r = press(initialUi, 's');
    assert.equal(r.ui.view, 'studies');
    r = press(r.ui, 'j', { return: true });
    assert.equal(r.ui.view, 'study');
    assert.equal(r.ui.studyId, a.id); // newest first: b, a, done
    r = press(r.ui, ']');
    assert.equal(r.ui.studyId, done.id);
    r = press(r.ui, { escape: true });
    assert.equal(r.ui.view, 'studies');
    r = press(r.ui, { escape: true });
    assert.equal(r.ui.view, 'list');
    assert.equal(press(initialUi, 's', 's').ui.view, 'list');
  });

  it('c cancels the study after confirmation; an ended study has nothing to cancel', () => {
    const view: UiState = { ...initialUi, view: 'study', studyId: a.id };
    let r = press(view, 'c');
    assert.deepEqual(r.ui.overlay, { kind: 'confirm', action: 'cancelStudy', studyId: a.id });
    assert.equal(press(r.ui, 'n').effect, undefined);
    r = press(r.ui, 'y');
    assert.deepEqual(r.effect, { type: 'cancelStudy', studyId: a.id });
    assert.equal(r.ui.overlay.kind, 'none');
    r = press({ ...view, studyId: done.id }, 'c');
    assert.equal(r.ui.overlay.kind, 'none');
    assert.match(r.ui.notice?.text ?? '', /already ended succeeded/);
    // A study opened by id before any list loaded can still be cancelled.
    r = press({ ...initialUi, view: 'study', studyId: 's-unlisted' }, 'c');
    assert.equal(r.ui.overlay.kind === 'confirm' && r.ui.overlay.action, 'cancelStudy');
  });
});

describe('study view (props only)', () => {
  const runs = [mkRun('r-pre', 1, { state: RunState.RUN_STATE_SUCCEEDED }), mkRun('r-250-1-0', 2)];
  const base = () => {
    let d = reduce(initialState, { type: 'runs', runs });
    d = reduce(d, { type: 'link', which: 'all', link: { state: 'live', attempt: 0 } });
    d = reduce(d, { type: 'run', run: { ...runs[1]!, state: RunState.RUN_STATE_RUNNING } });
    return d;
  };

  it('renders the table, progress and pretext run within 80×24', () => {
    const dash = reduce(base(), { type: 'studies', studies: [mkStudy()] });
    const ui: UiState = { ...initialUi, view: 'study', studyId: mkStudy().id };
    const { lastFrame, unmount } = render(<App dash={dash} ui={ui} addr="a:1" width={80} height={24} />);
    const text = strip(lastFrame() ?? '');
    const lines = text.split('\n');
    assert.ok(lines.length <= 23, `${lines.length} lines`);
    assert.ok(
      lines.every((l) => l.length <= 80),
      text,
    );
    assert.match(text, /s-20261128-aaaaaa running · unit · preset cpu-quick · SL vs SSL\+SL · 2 folds/);
    assert.match(text, /pretext succeeded r-pre/);
    assert.match(text, /runs .* 6\/9 ended/);
    assert.match(text, /n_labels\s+100\s+250/);
    assert.match(text, /SL acc %\s+24\.70 ± 1\.23\s+…/);
    assert.match(text, /gain SSL\+SL−SL\s+\+3\.40 ± 0\.50\s+…/);
    assert.match(text, /esc studies/);
    unmount();
  });

  it('shows the final state and the error of a failed study, and a stream that is down', () => {
    let dash = reduce(base(), {
      type: 'studies',
      studies: [
        mkStudy({
          state: StudyState.STUDY_STATE_FAILED,
          finishedAtUnixMs: 61_000,
          error: '1 of 9 runs did not succeed: r-x (FAILED)',
        }),
      ],
    });
    dash = reduce(dash, { type: 'studyOpen', studyId: mkStudy().id });
    dash = reduce(dash, {
      type: 'link',
      which: 'study',
      link: { state: 'reconnecting', attempt: 2, retryInMs: 500, message: 'connection refused' },
    });
    const ui: UiState = { ...initialUi, view: 'study', studyId: mkStudy().id };
    const { lastFrame, unmount } = render(<App dash={dash} ui={ui} addr="a:1" width={80} height={24} />);
    const text = strip(lastFrame() ?? '');
    assert.match(text, /final: failed after 1m/);
    assert.match(text, /1 of 9 runs did not succeed/);
    assert.match(text, /reconnecting \(attempt 2.*connection refused/);
    unmount();
  });

  it('lists studies with state and progress; an unknown study shows why', () => {
    const dash = reduce(base(), { type: 'studies', studies: [mkStudy()] });
    const list = render(
      <App dash={dash} ui={{ ...initialUi, view: 'studies' }} addr="a:1" width={100} height={24} />,
    );
    assert.match(
      strip(list.lastFrame() ?? ''),
      /▸ s-20261128-aaaaaa running\s+\S+ 6\/9\s+cpu-quick\s+100,250 × 2\s+unit/,
    );
    list.unmount();
    const missing = reduce(base(), {
      type: 'link',
      which: 'study',
      link: { state: 'failed', attempt: 0, message: 'study s-nope does not exist' },
    });
    const view = render(
      <App
        dash={missing}
        ui={{ ...initialUi, view: 'study', studyId: 's-nope' }}
        addr="a:1"
        width={80}
        height={24}
      />,
    );
    assert.match(strip(view.lastFrame() ?? ''), /study s-nope\n.*disconnected.*does not exist/);
    view.unmount();
  });
});

describe('pretext tui --study', () => {
  it('is documented and rejects what is not a study id before connecting', async () => {
    const help = bufferIo();
    assert.equal(await main(['tui', '--help'], help), ExitCode.OK);
    assert.match(help.stdout(), /--study <id>/);
    const io = bufferIo();
    assert.equal(await main(['tui', '--study', 'r-20261128-0a1b2c'], io), ExitCode.INVALID_ARGUMENT);
    assert.match(io.stderr(), /--study "r-20261128-0a1b2c" is not a study id \(s-\.\.\.\)/);
  });
});
