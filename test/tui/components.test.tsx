// Props-only components rendered with ink-testing-library: layout at 80×24, a big dashboard
// (50 runs, 10,000 step points) stays within the screen and renders quickly.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { render } from 'ink-testing-library';
import type { RunEvent } from '../../gen/ts/pretext/v1/event.js';
import { type RunResult, RunKind, RunState } from '../../gen/ts/pretext/v1/run.js';
import { App } from '../../client-tui/components/App.js';
import { type DashState, initialState, reduce } from '../../client-tui/state.js';
import { initialUi, type UiState } from '../../client-tui/ui.js';
import { mkRun } from './fixtures.js';

// biome-ignore lint/suspicious/noControlCharactersInRegex: ANSI escapes
const strip = (s: string) => s.replace(/\u001b\[[0-9;]*m/g, '');
const lines = (frame: string | undefined) => strip(frame ?? '').split('\n');

function bigDash(): DashState {
  const runs = Array.from({ length: 50 }, (_, i) =>
    mkRun(`r-20261128-${String(i).padStart(6, '0')}`, 1_000 + i, {
      state: i % 5 === 0 ? RunState.RUN_STATE_SUCCEEDED : RunState.RUN_STATE_RUNNING,
      progress: {
        epoch: 3,
        epochs: 200,
        step: 300,
        totalSteps: 20_000,
        fraction: 0.015,
        etaSeconds: 40_000,
        imagesPerSecond: 900,
      },
      name: `run number ${i}`,
    }),
  );
  let s = reduce(initialState, { type: 'runs', runs });
  s = reduce(s, { type: 'link', which: 'all', link: { state: 'live', attempt: 0 } });
  return s;
}

function withDetail(s: DashState, runId: string, points: number): DashState {
  let d = reduce(s, { type: 'detailOpen', runId });
  const evs: RunEvent[] = [];
  let seq = 0;
  for (let e = 1; e <= 200; e++) {
    evs.push({
      seq: ++seq,
      runId,
      timeUnixMs: seq,
      payload: {
        $case: 'epoch',
        epoch: {
          epoch: e,
          epochs: 200,
          trainLoss: 2 / e,
          trainAccuracy: 1 - 1 / e,
          valLoss: 2.2 / e,
          valAccuracy: 0.9 - 1 / e,
          learningRate: 1e-3,
          seconds: 60,
          extra: {},
        },
      },
    });
  }
  for (let i = 1; i <= points; i++) {
    evs.push({
      seq: ++seq,
      runId,
      timeUnixMs: seq,
      payload: {
        $case: 'step',
        step: {
          epoch: 1,
          step: i,
          totalSteps: points,
          loss: 2 + Math.sin(i / 300),
          accuracy: 0.5,
          learningRate: 1e-3,
          imagesPerSecond: 900,
          etaSeconds: 100,
          extra: {},
        },
      },
    });
  }
  d = reduce(d, { type: 'detailEvents', runId, events: evs });
  return d;
}

describe('dashboard components', () => {
  it('lists 50 runs within 80×24 with the selection visible', () => {
    const dash = bigDash();
    const ui: UiState = { ...initialUi, runId: dash.order[30] };
    const { lastFrame, unmount } = render(
      <App dash={dash} ui={ui} addr="127.0.0.1:50051" width={80} height={24} />,
    );
    const l = lines(lastFrame());
    assert.ok(l.length <= 23, `${l.length} lines`);
    for (const x of l) assert.ok(x.length <= 80, `too wide: ${x}`);
    assert.match(l[0] ?? '', /● connected/);
    assert.ok(l.some((x) => x.startsWith('▸ ') && x.includes(dash.order[30] as string)));
    assert.match(l.join('\n'), /of 50/);
    unmount();
  });

  it('draws a run with 10,000 step points and 200 epochs quickly, in 80×24, in both chart modes', () => {
    const dash = bigDash();
    const id = dash.order[0] as string;
    const withD = withDetail(dash, id, 10_000);
    const t0 = performance.now();
    const ui: UiState = { ...initialUi, view: 'run', runId: id };
    const { lastFrame, rerender, unmount } = render(
      <App dash={withD} ui={ui} addr="a:1" width={80} height={24} />,
    );
    for (let i = 0; i < 20; i++) {
      rerender(
        <App
          dash={withD}
          ui={{ ...ui, chartMode: i % 2 ? 'step' : 'epoch' }}
          addr="a:1"
          width={80}
          height={24}
        />,
      );
    }
    const ms = performance.now() - t0;
    assert.ok(ms < 5000, `21 renders took ${ms.toFixed(0)} ms`);
    rerender(<App dash={withD} ui={{ ...ui, chartMode: 'step' }} addr="a:1" width={80} height={24} />);
    const l = lines(lastFrame());
    assert.ok(l.length <= 23, `${l.length} lines`);
    for (const x of l) assert.ok(x.length <= 80, `too wide: ${x}`);
    assert.match(l.join('\n'), /loss\/step \(\d+ steps\/pt\)/);
    rerender(<App dash={withD} ui={ui} addr="a:1" width={80} height={24} />);
    assert.match(lines(lastFrame()).join('\n'), /loss\/epoch • train • val/);
    unmount();
  });

  it('shows final results with per-class accuracy and the confusion matrix', () => {
    const names = ['airplane', 'automobile', 'bird'];
    const result: RunResult = {
      test: {
        split: 'test',
        numExamples: 30,
        loss: 0.9,
        accuracy: 0.7,
        numClasses: 3,
        classNames: names,
        perClassAccuracy: [0.8, 0.7, 0.6],
        confusionMatrix: [8, 1, 1, 2, 7, 1, 3, 1, 6],
        checkpoint: 'best',
        task: 'classification',
      },
      validation: undefined,
      bestEpoch: 4,
      bestValAccuracy: 0.72,
      epochsTrained: 5,
      trainSeconds: 100,
      extra: {},
    };
    const run = mkRun('r-eval', 1, {
      kind: RunKind.RUN_KIND_EVALUATE,
      method: 'evaluate',
      state: RunState.RUN_STATE_SUCCEEDED,
      result,
    });
    const dash = reduce(initialState, { type: 'runs', runs: [run] });
    const { lastFrame, unmount } = render(
      <App
        dash={dash}
        ui={{ ...initialUi, view: 'run', runId: 'r-eval' }}
        addr="a:1"
        width={80}
        height={24}
      />,
    );
    const text = lines(lastFrame()).join('\n');
    assert.match(text, /test \(classification\): accuracy 70\.00%/);
    assert.match(text, /airplane\s+█{8}░░\s+80\.0%/);
    assert.match(text, /true\\pred/);
    assert.match(text, /automobile\s+2\s+7\s+1/);
    unmount();
  });

  it('keeps the connection state on screen while reconnecting, even in a form', () => {
    let dash = bigDash();
    dash = reduce(dash, {
      type: 'link',
      which: 'all',
      link: {
        state: 'reconnecting',
        attempt: 3,
        retryInMs: 2000,
        message: 'cannot reach pretextd at a:1: connection refused',
      },
    });
    const { lastFrame, unmount } = render(
      <App dash={dash} ui={{ ...initialUi, overlay: { kind: 'help' } }} addr="a:1" width={80} height={24} />,
    );
    assert.match(lines(lastFrame())[0] ?? '', /reconnecting \(attempt 3, next in 2\.0s\)/);
    assert.match(lines(lastFrame())[1] ?? '', /connection refused/);
    assert.ok(lines(lastFrame()).length <= 23);
    unmount();
  });
});
