// Keys of the studies list and the study view. Pure, like the rest of ui.ts: the next UI state
// plus at most one effect.
import type { DashState } from './state.js';
import { isStudyFinished, studyStateName } from './studies.js';
import type { KeyInfo, KeyResult, UiState } from './ui.js';

function move(dash: DashState, ui: UiState, delta: number): UiState {
  const ids = dash.studyOrder;
  if (ids.length === 0) return ui;
  const i = ui.studyId ? ids.indexOf(ui.studyId) : -1;
  const j = i < 0 ? 0 : Math.max(0, Math.min(ids.length - 1, i + delta));
  return { ...ui, studyId: ids[j] };
}

export function studyKey(ui: UiState, dash: DashState, input: string, key: KeyInfo): KeyResult {
  // The list's cursor falls back to the newest study; the view keeps the one it was opened on
  // (`--study` may name one the list has not loaded).
  const studyId =
    ui.view === 'study' || (ui.studyId && dash.studies[ui.studyId]) ? ui.studyId : dash.studyOrder[0];
  const here: UiState = { ...ui, studyId };
  if (input === 'q') return { ui, effect: { type: 'quit' } };
  if (input === '?') return { ui: { ...here, overlay: { kind: 'help' } } };
  if (input === 's') return { ui: { ...here, view: 'list' } };
  if (input === 'c') {
    if (!studyId) return { ui: { ...here, notice: { text: 'no study selected', error: true } } };
    const s = dash.studies[studyId]?.study;
    if (s && isStudyFinished(s)) {
      const text = `${studyId} already ended ${studyStateName(s.state)}; nothing to cancel`;
      return { ui: { ...here, notice: { text, error: true } } };
    }
    return { ui: { ...here, overlay: { kind: 'confirm', action: 'cancelStudy', studyId } } };
  }
  if (ui.view === 'studies') {
    if (key.upArrow || input === 'k') return { ui: move(dash, here, -1) };
    if (key.downArrow || input === 'j') return { ui: move(dash, here, 1) };
    if (key.pageUp) return { ui: move(dash, here, -10) };
    if (key.pageDown) return { ui: move(dash, here, 10) };
    if (key.return && studyId) return { ui: { ...here, view: 'study' } };
    if (key.escape || key.backspace || key.delete) return { ui: { ...here, view: 'list' } };
    return { ui: here };
  }
  // Study view.
  if (key.escape || key.backspace || key.delete) return { ui: { ...here, view: 'studies' } };
  if (key.leftArrow || input === '[' || key.upArrow) return { ui: move(dash, here, -1) };
  if (key.rightArrow || input === ']' || key.downArrow) return { ui: move(dash, here, 1) };
  return { ui: here };
}
