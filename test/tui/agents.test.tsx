// A coordinator's agents under the dashboard's header (host, busy/slots, backends, last seen),
// within the screen's height and width; the run view names the agent of each attempt.
import assert from 'node:assert/strict';
import { it } from 'node:test';
import { render } from 'ink-testing-library';
import { App } from '../../client-tui/components/App.js';
import { initialState, reduce } from '../../client-tui/state.js';
import { initialUi } from '../../client-tui/ui.js';
import { mkRun } from './fixtures.js';

const agent = (id: string, busy: number, online = true) => ({
  id,
  host: `host-${id}`,
  slots: 2,
  backends: ['native'],
  busy,
  lastSeenUnixMs: Date.now() - 3_000,
  version: '0.1.0',
  codeRevision: 'abc',
  online,
});

it('lists agents under the header and keeps the screen within its size', () => {
  let dash = reduce(initialState, { type: 'runs', runs: [mkRun('r-1', 1)] });
  dash = reduce(dash, {
    type: 'serverInfo',
    warning: '',
    agents: [agent('a1', 1), agent('a2', 0), agent('a3', 2, false), agent('a4', 0), agent('a5', 0)],
  });
  const { lastFrame, unmount } = render(<App dash={dash} ui={initialUi} addr="c:1" width={80} height={24} />);
  const text = lastFrame() ?? '';
  assert.match(text, /agent a1 {2}host-a1 {2}1\/2 busy {2}native {2}online, seen \d s ago/);
  assert.match(text, /agent a3 .*OFFLINE/);
  assert.match(text, /… 2 more agents/);
  const lines = text.split('\n');
  assert.ok(lines.length <= 24, `${lines.length} lines`);
  for (const l of lines) assert.ok(l.length <= 80, `too wide: ${l}`);
  unmount();
});

it('a single host shows no agent lines', () => {
  const dash = reduce(reduce(initialState, { type: 'runs', runs: [mkRun('r-1', 1)] }), {
    type: 'serverInfo',
    warning: '',
    agents: [],
  });
  const { lastFrame, unmount } = render(<App dash={dash} ui={initialUi} addr="c:1" width={80} height={24} />);
  assert.doesNotMatch(lastFrame() ?? '', /agent /);
  unmount();
});
