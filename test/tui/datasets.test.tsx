// The datasets view: 'D' opens it, counts per split are shown, import progress from the
// all-runs stream appears while an import runs and goes when it is done.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { render } from 'ink-testing-library';
import { Dataset } from '../../gen/ts/pretext/v1/datasets.js';
import type { RunEvent } from '../../gen/ts/pretext/v1/event.js';
import { App } from '../../client-tui/components/App.js';
import { initialState, reduce } from '../../client-tui/state.js';
import { handleKey, initialUi } from '../../client-tui/ui.js';

// biome-ignore lint/suspicious/noControlCharactersInRegex: ANSI escapes
const strip = (s: string) => s.replace(/\u001b\[[0-9;]*m/g, '');

const progress = (seq: number, phase: string, done: number, total: number): RunEvent => ({
  seq,
  runId: 'd-photos',
  timeUnixMs: 0,
  payload: { $case: 'datasetImport', datasetImport: { name: 'photos', phase, done, total, error: '' } },
});

describe('TUI datasets view', () => {
  it('D toggles the view; counts and import progress are shown', () => {
    const ui = handleKey(initialUi, initialState, 'D', {}).ui;
    assert.equal(ui.view, 'datasets');
    assert.equal(handleKey(ui, initialState, '', { escape: true }).ui.view, 'list');

    let s = reduce(initialState, { type: 'events', events: [progress(1, 'decoding', 40, 200)] });
    assert.equal(s.unknownRuns, false, 'import events name no run');
    let frame = strip(render(<App dash={s} ui={ui} addr="x:1" width={100} height={20} />).lastFrame() ?? '');
    assert.match(frame, /No imported datasets/);
    assert.match(frame, /photos: decoding .* 40\/200/);

    const d = Dataset.fromPartial({
      name: 'photos',
      side: 32,
      classNames: ['a', 'b'],
      trainPerClass: [80, 70],
      testPerClass: [20, 18],
      unlabeled: 5,
      skippedCount: 2,
      bytes: 500_000,
    });
    s = reduce(s, { type: 'events', events: [progress(2, 'done', 1, 1)] });
    s = reduce(s, { type: 'datasets', datasets: [d] });
    frame = strip(render(<App dash={s} ui={ui} addr="x:1" width={100} height={20} />).lastFrame() ?? '');
    assert.match(frame, /photos\s+2\s+150\s+38\s+5\s+32\s+2/);
    assert.doesNotMatch(frame, /decoding/);
  });
});
