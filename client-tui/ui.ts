// What the user is doing: view, selection, overlays and forms; and what each key means.
// Pure: a key yields the next UI state plus at most one effect for the controller hook to run.
import { RunKind, RunState } from '../gen/ts/pretext/v1/run.js';
import type {
  EvaluateRequest,
  StartDownstreamRequest,
  StartPretextRequest,
} from '../gen/ts/pretext/v1/service.js';
import { CliError } from '../clients/ts/exit-codes.js';
import { isTerminal } from '../clients/ts/format.js';
import {
  CONTRASTIVE_FIELDS,
  DOWNSTREAM_FIELDS,
  downstreamRequest,
  EVAL_FIELDS,
  evaluateRequest,
  type FieldSpec,
  PRETEXT_FIELDS,
  parseField,
  pretextRequest,
  TRAINING_FIELDS,
  type Values,
} from '../clients/ts/requests.js';
import { EXPORT_FORMATS } from '../server/shared/contract/models-out.js';
import type { DashState } from './state.js';
import { studyKey } from './studyKeys.js';

export type FormKind = 'pretext' | 'downstream' | 'evaluate' | 'export';

export interface FormState {
  kind: FormKind;
  /** The run the form is about (downstream: the pretext run; evaluate: the target). */
  runId?: string;
  fields: FieldSpec[];
  values: Values;
  focus: number;
  errors: string[];
  /** Names a text field can cycle through (from the daemon's GetServerInfo), by field key. */
  choices?: Record<string, string[]>;
}

export type Overlay =
  | { kind: 'none' }
  | { kind: 'help' }
  | { kind: 'confirm'; action: 'cancel'; runId: string }
  | { kind: 'confirm'; action: 'cancelStudy'; studyId: string }
  | { kind: 'form'; form: FormState };

export type View = 'list' | 'run' | 'studies' | 'study' | 'datasets';
export type ChartMode = 'epoch' | 'step' | 'result';
const NEXT_MODE: Record<ChartMode, ChartMode> = { epoch: 'step', step: 'result', result: 'epoch' };

export interface UiState {
  view: View;
  /** Run under the cursor (list) or shown (run view). */
  runId?: string;
  /** Study under the cursor (studies list) or shown (study view). */
  studyId?: string;
  overlay: Overlay;
  chartMode: ChartMode;
  /** Last message for the status line. */
  notice?: { text: string; error: boolean };
}

export const initialUi: UiState = { view: 'list', overlay: { kind: 'none' }, chartMode: 'epoch' };

export interface KeyInfo {
  upArrow?: boolean;
  downArrow?: boolean;
  leftArrow?: boolean;
  rightArrow?: boolean;
  pageUp?: boolean;
  pageDown?: boolean;
  return?: boolean;
  escape?: boolean;
  ctrl?: boolean;
  meta?: boolean;
  tab?: boolean;
  shift?: boolean;
  backspace?: boolean;
  delete?: boolean;
}

export type Effect =
  | { type: 'quit' }
  | { type: 'startPretext'; req: StartPretextRequest }
  | { type: 'startDownstream'; req: StartDownstreamRequest }
  | { type: 'evaluate'; req: EvaluateRequest }
  | { type: 'cancel'; runId: string }
  | { type: 'resume'; runId: string }
  | { type: 'cancelStudy'; studyId: string }
  | { type: 'export'; runId: string; format: string; checkpoint: string; out: string };

export interface KeyResult {
  ui: UiState;
  effect?: Effect;
}

export const HELP_KEYS: readonly [string, string][] = [
  ['↑/↓ j/k', 'move in the list / between form fields'],
  ['enter', 'open the run / submit the form'],
  ['esc ⌫', 'back to the list / close the form'],
  ['←/→ [ ]', 'previous / next run (run view); change a choice (form)'],
  ['p', 'start a pretext run (form)'],
  ['d', 'start a downstream run (from the selected pretext run, or scratch)'],
  ['e', 'evaluate the selected run (form)'],
  ['c', 'cancel the selected run (asks first)'],
  ['R', 'resume the selected interrupted/failed run'],
  ['x', "export the selected run's network (ONNX or tfjs + metadata) to a local folder (form)"],
  ['m', 'run view: charts per epoch → per step → final results'],
  ['s', 'label-budget studies ↔ runs; enter opens a study'],
  ['D', 'imported datasets (counts per split, import progress) ↔ runs'],
  ['c (study)', 'studies: cancel the selected study and its runs (asks first)'],
  ['?', 'this help'],
  ['q ctrl-c', 'quit'],
];

/** Fields shown for a form given its current values (contrastive options only for those methods). */
export function visibleFields(form: FormState): FieldSpec[] {
  if (form.kind !== 'pretext') return form.fields;
  const method = String(form.values.method || 'rotation');
  return form.fields.filter((f) => {
    if (CONTRASTIVE_FIELDS.includes(f)) return method !== 'rotation';
    if (f.key === 'rotationsPerImage') return method === 'rotation';
    return true;
  });
}

// Forms start empty: an empty field is left to the daemon, which fills the same defaults as for
// every other client (submitting asks for its verdict).
const empty = (specs: readonly FieldSpec[]): Values => Object.fromEntries(specs.map((s) => [s.key, '']));

export function newForm(
  kind: FormKind,
  runId?: string,
  choices?: Record<string, string[]>,
  checkpoint?: string,
): FormState {
  const name: FieldSpec = {
    key: 'name',
    flag: 'name',
    field: '',
    label: 'Name',
    help: 'a human label',
    type: 'text',
  };
  if (kind === 'pretext') {
    const fields = [...PRETEXT_FIELDS, ...TRAINING_FIELDS, ...CONTRASTIVE_FIELDS, name];
    return { kind, fields, values: empty(fields), focus: 0, errors: [], choices };
  }
  if (kind === 'downstream') {
    const from: FieldSpec = {
      key: 'from',
      flag: 'from',
      field: 'pretext_run_id',
      label: 'From run',
      help: 'pretext run id (empty = SL from scratch)',
      type: 'text',
    };
    const fields = [from, ...DOWNSTREAM_FIELDS, ...TRAINING_FIELDS, name];
    const values = { ...empty(fields), from: runId ?? '' };
    return { kind, runId, fields, values, focus: 0, errors: [], choices };
  }
  if (kind === 'export') {
    const fields: FieldSpec[] = [
      {
        key: 'format',
        flag: 'format',
        field: '',
        label: 'Format',
        help: EXPORT_FORMATS.join(' or '),
        type: 'text',
      },
      {
        key: 'checkpoint',
        flag: 'checkpoint',
        field: '',
        label: 'Checkpoint',
        help: 'best, or last for a run still training',
        type: 'text',
      },
      {
        key: 'out',
        flag: 'out',
        field: '',
        label: 'Folder',
        help: 'local folder (empty = ./<run>-<format>)',
        type: 'text',
      },
    ];
    const values = { format: EXPORT_FORMATS[0] ?? '', checkpoint: checkpoint ?? 'best', out: '' };
    const offered = { format: [...EXPORT_FORMATS], checkpoint: ['best', 'last'] };
    return { kind, runId, fields, values, focus: 0, errors: [], choices: offered };
  }
  const fields = [...EVAL_FIELDS, name];
  return { kind, runId, fields, values: empty(fields), focus: 0, errors: [] };
}

/** The form as a request (typing mistakes are caught here; the daemon judges the settings). */
export function submitForm(form: FormState): { effect?: Effect; errors: string[] } {
  const shown = new Set(visibleFields(form).map((f) => f.key));
  const values: Values = {};
  for (const [k, v] of Object.entries(form.values)) if (shown.has(k) && v !== '') values[k] = v;
  try {
    if (form.kind === 'export') {
      const errors: string[] = [];
      for (const f of form.fields) {
        const p = parseField(f, values[f.key]);
        if (p.error) errors.push(p.error);
      }
      if (errors.length) return { errors };
      const format = String(values.format ?? 'onnx');
      const out = String(values.out ?? '').trim() || `${form.runId}-${format}`;
      const checkpoint = String(values.checkpoint ?? 'best');
      return { effect: { type: 'export', runId: form.runId ?? '', format, checkpoint, out }, errors: [] };
    }
    if (form.kind === 'pretext')
      return { effect: { type: 'startPretext', req: pretextRequest(values) }, errors: [] };
    if (form.kind === 'downstream') {
      const from = typeof values.from === 'string' && values.from.trim() ? values.from.trim() : undefined;
      const v: Values & { from?: string; scratch?: boolean } = {
        ...values,
        from,
        scratch: from === undefined,
      };
      // With a pretext run the backbone is its own; the form's scratch-only fields do not apply.
      if (from) {
        delete v.architecture;
        delete v.depth;
      } else {
        delete v.checkpoint;
      }
      return { effect: { type: 'startDownstream', req: downstreamRequest(v) }, errors: [] };
    }
    return { effect: { type: 'evaluate', req: evaluateRequest(form.runId ?? '', values) }, errors: [] };
  } catch (err) {
    if (err instanceof CliError) return { errors: err.message.split('\n') };
    throw err;
  }
}

function formKey(ui: UiState, form: FormState, input: string, key: KeyInfo): KeyResult {
  const fields = visibleFields(form);
  const focus = Math.min(form.focus, fields.length - 1);
  const field = fields[focus];
  const set = (f: Partial<FormState>): KeyResult => ({
    ui: { ...ui, overlay: { kind: 'form', form: { ...form, ...f } } },
  });
  if (key.escape)
    return { ui: { ...ui, overlay: { kind: 'none' }, notice: { text: 'form closed', error: false } } };
  if (key.return) {
    const { effect, errors } = submitForm(form);
    if (!effect) return set({ errors });
    return { ui: { ...ui, overlay: { kind: 'none' } }, effect };
  }
  if (key.upArrow || (key.tab && key.shift))
    return set({ focus: (focus - 1 + fields.length) % fields.length });
  if (key.downArrow || key.tab) return set({ focus: (focus + 1) % fields.length });
  if (!field) return { ui };
  const cur = form.values[field.key];
  const setValue = (v: string | boolean): KeyResult => {
    const values = { ...form.values, [field.key]: v };
    const p = parseField(field, v);
    // Show this field's problem as soon as it is typed; the rest are checked on submit.
    return set({ values, errors: p.error ? [p.error] : [] });
  };
  const offered = form.choices?.[field.key];
  if (offered?.length && (key.leftArrow || key.rightArrow)) {
    // A name the daemon offers: ←/→ cycle through them ('' = its default); typing still works.
    const options = ['', ...offered];
    const i = Math.max(0, options.indexOf(String(cur ?? '')));
    return setValue(options[(i + (key.leftArrow ? options.length - 1 : 1)) % options.length] as string);
  }
  if (field.type === 'enum' || field.type === 'bool') {
    // '' = unset: the daemon's default.
    const options = field.type === 'bool' ? ['', 'yes', 'no'] : ['', ...Object.keys(field.names ?? {})];
    const i = Math.max(0, options.indexOf(String(cur ?? '')));
    if (key.leftArrow) return setValue(options[(i - 1 + options.length) % options.length] as string);
    if (key.rightArrow || input === ' ') return setValue(options[(i + 1) % options.length] as string);
    return { ui };
  }
  if (key.backspace || key.delete) return setValue(String(cur ?? '').slice(0, -1));
  if (!input || key.ctrl || key.meta || key.leftArrow || key.rightArrow) return { ui };
  // Fast typing and pastes arrive as one chunk, erases included: apply it character by character.
  let v = String(cur ?? '');
  let enter = false;
  for (const ch of input) {
    if (ch === '\x7f' || ch === '\b') v = v.slice(0, -1);
    else if (ch === '\r' || ch === '\n') enter = true;
    else if (ch >= ' ' && ch <= '~') v += ch;
  }
  if (enter)
    return formKey(ui, { ...form, values: { ...form.values, [field.key]: v } }, '', { return: true });
  return v === String(cur ?? '') ? { ui } : setValue(v);
}

/** Run ids in list order. */
function order(dash: DashState): string[] {
  return dash.order;
}

function move(dash: DashState, ui: UiState, delta: number): UiState {
  const ids = order(dash);
  if (ids.length === 0) return ui;
  const i = ui.runId ? ids.indexOf(ui.runId) : -1;
  const j = i < 0 ? 0 : Math.max(0, Math.min(ids.length - 1, i + delta));
  return { ...ui, runId: ids[j] };
}

export function handleKey(ui: UiState, dash: DashState, input: string, key: KeyInfo): KeyResult {
  const o = ui.overlay;
  if (key.ctrl && input === 'c') return { ui, effect: { type: 'quit' } };
  if (o.kind === 'form') return formKey(ui, o.form, input, key);
  if (input.length > 1 && !key.ctrl && !key.meta) {
    // Keys typed faster than the terminal is read arrive as one chunk: one at a time, then.
    let r: KeyResult = { ui };
    for (const ch of input) {
      const next = handleKey(r.ui, dash, ch, ch === '\r' ? { return: true } : {});
      r = { ui: next.ui, effect: next.effect ?? r.effect };
      if (r.effect?.type === 'quit') break;
    }
    return r;
  }
  if (o.kind === 'help') {
    return { ui: { ...ui, overlay: { kind: 'none' } } };
  }
  if (o.kind === 'confirm') {
    if (input === 'y' || input === 'Y') {
      const effect: Effect =
        o.action === 'cancel'
          ? { type: 'cancel', runId: o.runId }
          : { type: 'cancelStudy', studyId: o.studyId };
      return { ui: { ...ui, overlay: { kind: 'none' } }, effect };
    }
    return { ui: { ...ui, overlay: { kind: 'none' }, notice: { text: 'not cancelled', error: false } } };
  }
  // The studies screens have their own keys (c cancels the study there, not a run).
  if (ui.view === 'studies' || ui.view === 'study') return studyKey(ui, dash, input, key);
  if (ui.view === 'datasets') {
    if (input === 'q') return { ui, effect: { type: 'quit' } };
    if (input === '?') return { ui: { ...ui, overlay: { kind: 'help' } } };
    if (input === 'D' || input === 's' || key.escape || key.backspace) return { ui: { ...ui, view: 'list' } };
    return { ui };
  }
  const ids = order(dash);
  const runId = ui.runId && dash.runs[ui.runId] ? ui.runId : ids[0];
  const run = runId ? dash.runs[runId] : undefined;
  const here = { ...ui, runId };
  if (input === 'q') return { ui, effect: { type: 'quit' } };
  if (input === '?') return { ui: { ...here, overlay: { kind: 'help' } } };
  if (input === 'p')
    return { ui: { ...here, overlay: { kind: 'form', form: newForm('pretext', undefined, dash.choices) } } };
  if (input === 'd') {
    const from = run && run.kind === RunKind.RUN_KIND_PRETEXT ? run.id : undefined;
    return { ui: { ...here, overlay: { kind: 'form', form: newForm('downstream', from, dash.choices) } } };
  }
  if (input === 's') return { ui: { ...here, view: 'studies' } };
  if (input === 'D') return { ui: { ...here, view: 'datasets' } };
  if (input === 'm') return { ui: { ...here, chartMode: NEXT_MODE[ui.chartMode] } };
  if (input === 'e') {
    if (!run) return { ui: { ...here, notice: { text: 'no run selected', error: true } } };
    return { ui: { ...here, overlay: { kind: 'form', form: newForm('evaluate', run.id) } } };
  }
  if (input === 'c') {
    if (!run) return { ui: { ...here, notice: { text: 'no run selected', error: true } } };
    if (isTerminal(run.state) && run.state !== RunState.RUN_STATE_INTERRUPTED) {
      return { ui: { ...here, notice: { text: `${run.id} already ended; nothing to cancel`, error: true } } };
    }
    return { ui: { ...here, overlay: { kind: 'confirm', action: 'cancel', runId: run.id } } };
  }
  if (input === 'x') {
    if (!run) return { ui: { ...here, notice: { text: 'no run selected', error: true } } };
    if (run.kind === RunKind.RUN_KIND_EVALUATE)
      return {
        ui: { ...here, notice: { text: `${run.id} is an evaluation; export its target run`, error: true } },
      };
    if (run.artifacts.length === 0)
      return { ui: { ...here, notice: { text: `${run.id} has no checkpoint to export yet`, error: true } } };
    const last = !isTerminal(run.state) || run.state === RunState.RUN_STATE_INTERRUPTED;
    return {
      ui: {
        ...here,
        overlay: { kind: 'form', form: newForm('export', run.id, undefined, last ? 'last' : 'best') },
      },
    };
  }
  if (input === 'R') {
    if (!run) return { ui: { ...here, notice: { text: 'no run selected', error: true } } };
    return { ui: here, effect: { type: 'resume', runId: run.id } };
  }
  if (ui.view === 'list') {
    if (key.upArrow || input === 'k') return { ui: move(dash, here, -1) };
    if (key.downArrow || input === 'j') return { ui: move(dash, here, 1) };
    if (key.pageUp) return { ui: move(dash, here, -10) };
    if (key.pageDown) return { ui: move(dash, here, 10) };
    if (key.return && runId) return { ui: { ...here, view: 'run' } };
    return { ui: here };
  }
  // Run view.
  if (key.escape || key.backspace || key.delete) return { ui: { ...here, view: 'list' } };
  if (key.leftArrow || input === '[' || key.upArrow) return { ui: move(dash, here, -1) };
  if (key.rightArrow || input === ']' || key.downArrow) return { ui: move(dash, here, 1) };
  return { ui: here };
}
