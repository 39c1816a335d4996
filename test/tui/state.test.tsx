// The pure parts of the dashboard: stream → state reducer, bounded series, charts, keys.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { LogLevel, type RunEvent } from '../../gen/ts/pretext/v1/event.js';
import { RunState } from '../../gen/ts/pretext/v1/run.js';
import { renderChart, resample } from '../../client-tui/chart.js';
import { appendPoint, cloneSeries, emptySeries, seriesPoints } from '../../client-tui/series.js';
import { type DashState, initialState, reduce } from '../../client-tui/state.js';
import { handleKey, initialUi, type UiState, visibleFields } from '../../client-tui/ui.js';
import { mkRun } from './fixtures.js';

let seq = 0;
const ev = (runId: string, payload: RunEvent['payload'], s = ++seq): RunEvent => ({
  seq: s,
  runId,
  timeUnixMs: 1_000 + s,
  payload,
});
const state = (runId: string, from: RunState, to: RunState, message = '') =>
  ev(runId, { $case: 'state', state: { from, to, message } });
const step = (runId: string, n: number, loss: number) =>
  ev(runId, {
    $case: 'step',
    step: {
      epoch: 1,
      step: n,
      totalSteps: 20_000,
      loss,
      accuracy: 0.5,
      learningRate: 1e-3,
      imagesPerSecond: 100,
      etaSeconds: 60,
      extra: {},
    },
  });
const epoch = (runId: string, e: number, val: number) =>
  ev(runId, {
    $case: 'epoch',
    epoch: {
      epoch: e,
      epochs: 10,
      trainLoss: 1,
      trainAccuracy: 0.5,
      valLoss: 1,
      valAccuracy: val,
      learningRate: 1e-3,
      seconds: 3,
      extra: {},
    },
  });

describe('reducer: run summaries', () => {
  it('orders runs newest first and patches them from events', () => {
    let s = reduce(initialState, { type: 'runs', runs: [mkRun('a', 1), mkRun('b', 2)] });
    assert.deepEqual(s.order, ['b', 'a']);
    s = reduce(s, {
      type: 'events',
      events: [state('a', RunState.RUN_STATE_QUEUED, RunState.RUN_STATE_RUNNING), step('a', 10, 2.0)],
    });
    assert.equal(s.runs.a?.state, RunState.RUN_STATE_RUNNING);
    assert.equal(s.runs.a?.progress?.step, 10);
    assert.equal(s.runs.a?.progress?.fraction, 10 / 20_000);
    assert.equal(s.summarySeq, seq);
  });
  it('drops replayed events (same seq) and returns the same state object', () => {
    const s1 = reduce(initialState, { type: 'runs', runs: [mkRun('a', 1)] });
    const e = [state('a', RunState.RUN_STATE_QUEUED, RunState.RUN_STATE_RUNNING)];
    const s2 = reduce(s1, { type: 'events', events: e });
    assert.equal(reduce(s2, { type: 'events', events: e }), s2);
  });
  it('flags events of runs it does not know, so the list is reloaded', () => {
    const s = reduce(initialState, { type: 'events', events: [state('new', 0, RunState.RUN_STATE_QUEUED)] });
    assert.equal(s.unknownRuns, true);
    assert.equal(reduce(s, { type: 'runs', runs: [mkRun('new', 5)] }).unknownRuns, false);
  });
  it('does not let an older list roll back newer events', () => {
    let s = reduce(initialState, { type: 'runs', runs: [mkRun('a', 1)] });
    s = reduce(s, {
      type: 'events',
      events: [state('a', RunState.RUN_STATE_QUEUED, RunState.RUN_STATE_RUNNING)],
    });
    s = reduce(s, { type: 'runs', runs: [mkRun('a', 1, { lastSeq: 0 })] });
    assert.equal(s.runs.a?.state, RunState.RUN_STATE_RUNNING);
  });
});

describe('reducer: run detail', () => {
  it('collects epochs, steps, logs and the result; ignores other runs and duplicates', () => {
    let s: DashState = reduce(initialState, { type: 'detailOpen', runId: 'a' });
    const evs = [
      state('a', RunState.RUN_STATE_QUEUED, RunState.RUN_STATE_RUNNING, 'started'),
      step('a', 1, 2.0),
      ev('a', { $case: 'log', log: { level: LogLevel.LOG_LEVEL_WARN, message: 'slow' } }),
      epoch('a', 1, 0.3),
      epoch('b', 1, 0.9),
    ];
    s = reduce(s, { type: 'detailEvents', runId: 'a', events: evs });
    const again = reduce(s, { type: 'detailEvents', runId: 'a', events: evs });
    assert.equal(again, s);
    const d = s.detail!;
    assert.deepEqual(
      d.epochs.map((e) => e.valAccuracy),
      [0.3],
    );
    assert.equal(d.lastStep?.loss, 2.0);
    assert.deepEqual(
      d.logs.map((l) => l.message),
      ['state -> running: started', 'slow'],
    );
    assert.equal(d.state, RunState.RUN_STATE_RUNNING);
    // Events for another detail are ignored.
    assert.equal(reduce(s, { type: 'detailEvents', runId: 'b', events: [epoch('b', 2, 1)] }), s);
  });
  it('keeps the newest copy of an epoch repeated after a resume', () => {
    let s = reduce(initialState, { type: 'detailOpen', runId: 'a' });
    s = reduce(s, { type: 'detailEvents', runId: 'a', events: [epoch('a', 1, 0.1), epoch('a', 2, 0.2)] });
    s = reduce(s, { type: 'detailEvents', runId: 'a', events: [epoch('a', 2, 0.25), epoch('a', 3, 0.3)] });
    assert.deepEqual(
      s.detail?.epochs.map((e) => e.valAccuracy),
      [0.1, 0.25, 0.3],
    );
  });
  it('bounds 10,000 step points and keeps their mean', () => {
    let s = reduce(initialState, { type: 'detailOpen', runId: 'a' });
    const evs: RunEvent[] = [];
    let sum = 0;
    for (let i = 1; i <= 10_000; i++) {
      const loss = 3 - i / 5000;
      sum += loss;
      evs.push(step('a', i, loss));
    }
    // Batches, as the hook delivers them.
    for (let i = 0; i < evs.length; i += 700)
      s = reduce(s, { type: 'detailEvents', runId: 'a', events: evs.slice(i, i + 700) });
    const steps = s.detail!.steps;
    const pts = seriesPoints(steps, 'loss');
    assert.ok(pts.y.length <= steps.cap, `${pts.y.length} points`);
    assert.ok(steps.bucket >= 16);
    assert.equal(pts.x[pts.x.length - 1], 10_000);
    const stored = steps.y.loss!.reduce((a, b) => a + b, 0) * steps.bucket + steps.pendingSum.loss!;
    assert.ok(Math.abs(stored - sum) < 1e-6 * sum);
  });
});

describe('series and charts', () => {
  it('clones before appending so earlier states are untouched', () => {
    const a = emptySeries(['loss'], 8);
    const b = cloneSeries(a);
    appendPoint(b, 1, { loss: 1 });
    assert.equal(a.x.length, 0);
    assert.equal(b.x.length, 1);
  });
  it('resamples: interpolates few points, averages many', () => {
    const few = resample([0, 10], [1, 2], 11);
    assert.deepEqual(few.v, [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
    assert.deepEqual(few.exact.filter(Boolean).length, 2);
    const many = resample([1, 3, 5, 7], undefined, 2);
    assert.deepEqual(many.v, [2, 6]);
  });
  it('draws within the given size with min and max labels', () => {
    const g = renderChart([{ name: 'a', y: [1, 2, 3] }], 40, 6);
    assert.equal(g.rows.length, 6);
    for (const r of g.rows) assert.equal(r.map((c) => c.ch).join('').length, 40);
    assert.match(g.rows[0]!.map((c) => c.ch).join(''), /^\s+3(\.0)?│/);
    assert.match(g.rows[5]!.map((c) => c.ch).join(''), /^\s+1(\.0)?│•/);
  });
});

describe('keys', () => {
  const dash = reduce(
    reduce(initialState, {
      type: 'runs',
      runs: [
        mkRun('a', 1, { state: RunState.RUN_STATE_RUNNING }),
        mkRun('b', 2, { state: RunState.RUN_STATE_SUCCEEDED }),
      ],
    }),
    {
      type: 'choices',
      choices: { method: ['rotation', 'simclr', 'simsiam', 'nnclr'], dataset: ['cifar10', 'stl10'] },
    },
  );
  const press = (ui: UiState, ...keys: (string | Record<string, boolean>)[]) => {
    let u = ui;
    let effect: ReturnType<typeof handleKey>['effect'];
    for (const k of keys) {
      const r = typeof k === 'string' ? handleKey(u, dash, k, {}) : handleKey(u, dash, '', k);
      u = r.ui;
      effect = r.effect ?? effect;
    }
    return { ui: u, effect };
  };
  it('moves through the list and opens a run', () => {
    const r = press(initialUi, { downArrow: true }, { return: true });
    assert.equal(r.ui.runId, 'a');
    assert.equal(r.ui.view, 'run');
    assert.equal(press(r.ui, { escape: true }).ui.view, 'list');
  });
  it('asks before cancelling, and only a y cancels', () => {
    const sel = press(initialUi, { downArrow: true }).ui;
    const asked = press(sel, 'c');
    assert.equal(asked.ui.overlay.kind, 'confirm');
    assert.deepEqual(press(asked.ui, 'y').effect, { type: 'cancel', runId: 'a' });
    assert.equal(press(asked.ui, 'n').effect, undefined);
    // A finished run has nothing to cancel.
    assert.equal(press(initialUi, 'c').ui.notice?.error, true);
  });
  it('validates the pretext form and submits a request with its values', () => {
    let r = press(initialUi, 'p');
    assert.equal(r.ui.overlay.kind, 'form');
    const form = () => (r.ui.overlay.kind === 'form' ? r.ui.overlay.form : assert.fail('no form'));
    const epochsAt = visibleFields(form()).findIndex((f) => f.key === 'epochs');
    for (let i = 0; i < epochsAt; i++) r = press(r.ui, { downArrow: true });
    // The form catches what is not a number; the daemon judges the rest.
    r = press(r.ui, 'x');
    assert.match(form().errors[0] ?? '', /--epochs "x": not a number/);
    r = press(r.ui, { return: true });
    assert.equal(r.effect, undefined);
    // A chunk with erases and the Enter in it, as fast typing or a paste delivers it.
    r = press(r.ui, '\x7f\x7f3\r');
    assert.equal(r.effect?.type, 'startPretext');
    if (r.effect?.type !== 'startPretext') return;
    assert.equal(r.effect.req.config?.training?.epochs, 3);
    // Empty fields are left to the daemon's defaults, as from every other client.
    assert.equal(r.effect.req.config?.depth, 0);
    assert.equal(r.effect.req.config?.training?.augment, undefined);
    assert.equal(r.ui.overlay.kind, 'none');
  });
  it('shows contrastive options only for contrastive methods', () => {
    // ←/→ cycle through the methods the daemon offers ('' first: its default).
    const r = press(initialUi, 'p', { rightArrow: true }, { rightArrow: true });
    const f = r.ui.overlay.kind === 'form' ? r.ui.overlay.form : assert.fail();
    assert.equal(f.values.method, 'simclr');
    assert.ok(visibleFields(f).some((x) => x.key === 'temperature'));
    assert.ok(!visibleFields(f).some((x) => x.key === 'rotationsPerImage'));
  });
  it('submits the downstream form from the selected run or from scratch, empty fields left to the daemon', () => {
    const fromRun = press(initialUi, 'd', { return: true });
    assert.equal(fromRun.effect?.type, 'startDownstream');
    if (fromRun.effect?.type !== 'startDownstream') return;
    const c = fromRun.effect.req.config;
    assert.equal(c?.pretextRunId, 'b');
    assert.equal(c?.nLabels, 0);
    assert.equal(c?.training?.batchSize, 0);
    // Clearing "From run" makes it SL from scratch.
    const scratch = press(initialUi, 'd', '\x7f'.repeat(5), { return: true });
    assert.equal(scratch.effect?.type === 'startDownstream' && scratch.effect.req.config?.pretextRunId, '');
  });
  it('opens a downstream form from the selected pretext run, help, and quits', () => {
    const r = press(initialUi, 'd');
    const f = r.ui.overlay.kind === 'form' ? r.ui.overlay.form : assert.fail();
    assert.equal(f.values.from, 'b');
    assert.equal(press(initialUi, '?').ui.overlay.kind, 'help');
    assert.deepEqual(press(initialUi, 'q').effect, { type: 'quit' });
    // A chunk of keys acts like the keys one by one.
    assert.equal(press(initialUi, 'mm').ui.chartMode, 'result');
  });
});
