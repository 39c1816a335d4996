// The dashboard's data: run and study summaries patched by the all-runs stream, the detail of
// the selected run built from its own stream, and the open study's stream position. A pure
// reducer; the hooks batch events so one dispatch carries many of them (one copy per batch,
// not per event).
import type { Dataset, DatasetImportProgress } from '../gen/ts/pretext/v1/datasets.js';
import type { AgentInfo } from '../gen/ts/pretext/v1/cluster.js';
import {
  type DownloadProgress,
  type EpochMetrics,
  LogLevel,
  type RunEvent,
  type StepMetrics,
} from '../gen/ts/pretext/v1/event.js';
import { type Artifact, type Run, type RunResult, RunState } from '../gen/ts/pretext/v1/run.js';
import type { Study } from '../gen/ts/pretext/v1/study.js';
import type { LinkState } from '../clients/ts/follow.js';
import { appendPoint, cloneSeries, emptySeries, type Series } from './series.js';
import { applyStudyEvents, putStudy, type StudyMap, studyOrder } from './studies.js';

export interface Link {
  state: LinkState;
  attempt: number;
  message?: string;
  retryInMs?: number;
}

export interface LogEntry {
  seq: number;
  timeUnixMs: number;
  level: LogLevel;
  message: string;
}

export interface RunDetail {
  runId: string;
  lastSeq: number;
  epochs: EpochMetrics[];
  steps: Series;
  lastStep?: StepMetrics;
  logs: LogEntry[];
  result?: RunResult;
  download?: DownloadProgress;
  checkpoints: Artifact[];
  state: RunState;
  stateMessage: string;
}

export interface DashState {
  link: Link;
  detailLink: Link;
  runs: Record<string, Run>;
  /** Run ids, newest first. */
  order: string[];
  /** Seq of the newest event applied to the summaries. */
  summarySeq: number;
  /** Events named runs the list does not have yet: the hook then reloads the list. */
  unknownRuns: boolean;
  detail?: RunDetail;
  /** Study snapshots by id (list replies and study events). */
  studies: StudyMap;
  /** Study ids, newest first. */
  studyOrder: string[];
  /** Why the studies could not be listed. */
  studiesError?: string;
  /** The open study's own stream; the study itself is in `studies`. */
  studyView?: { studyId: string; lastSeq: number };
  studyLink: Link;
  /** Names the daemon offers for form fields ("method" → its pretext methods, "dataset" → its datasets). */
  choices: Record<string, string[]>;
  /** The daemon's own warning (low disk space: no run starts), from GetServerInfo. */
  daemonWarning?: string;
  /** Imported datasets (ListDatasets, while the datasets view is open). */
  datasets: Dataset[];
  datasetsError?: string;
  /** The latest import progress of each dataset name, from the all-runs stream. */
  imports: Record<string, DatasetImportProgress>;
  /** A coordinator's training agents, from GetServerInfo (empty on a single host). */
  agents?: AgentInfo[];
}

export const STEP_METRICS = ['loss', 'accuracy'] as const;

export type Action =
  | { type: 'runs'; runs: Run[] }
  | { type: 'run'; run: Run }
  | { type: 'events'; events: RunEvent[] }
  | { type: 'detailOpen'; runId: string }
  | { type: 'detailClose' }
  | { type: 'detailEvents'; runId: string; events: RunEvent[] }
  | { type: 'studies'; studies: Study[] }
  | { type: 'studiesError'; message: string }
  | { type: 'study'; study: Study }
  | { type: 'studyOpen'; studyId: string }
  | { type: 'studyClose' }
  | { type: 'studyEvents'; studyId: string; events: RunEvent[] }
  | { type: 'link'; which: 'all' | 'detail' | 'study'; link: Link }
  | { type: 'choices'; choices: Record<string, string[]> }
  | { type: 'serverInfo'; warning: string; agents?: AgentInfo[] }
  | { type: 'datasets'; datasets: Dataset[] }
  | { type: 'datasetsError'; message: string };

export const initialState: DashState = {
  link: { state: 'connecting', attempt: 0 },
  detailLink: { state: 'ended', attempt: 0 },
  runs: {},
  order: [],
  summarySeq: 0,
  unknownRuns: false,
  studies: {},
  studyOrder: [],
  studyLink: { state: 'ended', attempt: 0 },
  choices: {},
  datasets: [],
  imports: {},
};

function withStudies(state: DashState, studies: StudyMap): DashState {
  if (studies === state.studies) return state;
  return { ...state, studies, studyOrder: studyOrder(studies) };
}

function sortOrder(runs: Record<string, Run>): string[] {
  return Object.values(runs)
    .sort((a, b) => b.createdAtUnixMs - a.createdAtUnixMs || (a.id < b.id ? 1 : -1))
    .map((r) => r.id);
}

export function reduce(state: DashState, action: Action): DashState {
  switch (action.type) {
    case 'runs': {
      const runs: Record<string, Run> = {};
      for (const r of action.runs) {
        // A list fetched before some live events must not roll those events back.
        const mine = state.runs[r.id];
        runs[r.id] = mine && mine.lastSeq > r.lastSeq ? mine : r;
      }
      // Keep runs the stream already told us about that the (limited) list left out.
      for (const [id, r] of Object.entries(state.runs)) if (!runs[id]) runs[id] = r;
      return { ...state, runs, order: sortOrder(runs), unknownRuns: false };
    }
    case 'run': {
      const mine = state.runs[action.run.id];
      if (mine && mine.lastSeq > action.run.lastSeq) return state;
      const runs = { ...state.runs, [action.run.id]: action.run };
      return { ...state, runs, order: mine ? state.order : sortOrder(runs) };
    }
    case 'events':
      return applySummaryEvents(state, action.events);
    case 'detailOpen':
      if (state.detail?.runId === action.runId) return state;
      return { ...state, detail: emptyDetail(action.runId, state.runs[action.runId]) };
    case 'detailClose': {
      const { detail: _drop, ...rest } = state;
      return { ...rest, detailLink: { state: 'ended', attempt: 0 } };
    }
    case 'detailEvents': {
      if (!state.detail || state.detail.runId !== action.runId) return state;
      const detail = applyDetailEvents(state.detail, action.events);
      return detail === state.detail ? state : { ...state, detail };
    }
    case 'studies': {
      let studies = state.studies;
      for (const s of action.studies) studies = putStudy(studies, s);
      const { studiesError: _drop, ...rest } = withStudies(state, studies);
      return rest;
    }
    case 'datasets':
      return { ...state, datasets: action.datasets, datasetsError: undefined };
    case 'datasetsError':
      return { ...state, datasetsError: action.message };
    case 'studiesError':
      return { ...state, studiesError: action.message };
    case 'study':
      return withStudies(state, putStudy(state.studies, action.study));
    case 'studyOpen':
      if (state.studyView?.studyId === action.studyId) return state;
      return { ...state, studyView: { studyId: action.studyId, lastSeq: 0 } };
    case 'studyClose': {
      if (!state.studyView) return state;
      const { studyView: _drop, ...rest } = state;
      return { ...rest, studyLink: { state: 'ended', attempt: 0 } };
    }
    case 'studyEvents': {
      const v = state.studyView;
      if (!v || v.studyId !== action.studyId) return state;
      const events = action.events.filter((e) => e.seq > v.lastSeq && e.runId === v.studyId);
      const last = events[events.length - 1];
      if (!last) return state;
      const next = withStudies(state, applyStudyEvents(state.studies, events));
      return { ...next, studyView: { ...v, lastSeq: last.seq } };
    }
    case 'choices':
      return { ...state, choices: action.choices };
    case 'serverInfo': {
      const agents = action.agents?.length ? action.agents : undefined;
      if (
        (state.daemonWarning ?? '') === action.warning &&
        JSON.stringify(state.agents) === JSON.stringify(agents)
      )
        return state;
      return { ...state, daemonWarning: action.warning || undefined, agents };
    }
    case 'link':
      if (action.which === 'all') return { ...state, link: action.link };
      return action.which === 'detail'
        ? { ...state, detailLink: action.link }
        : { ...state, studyLink: action.link };
  }
}

export function emptyDetail(runId: string, run?: Run): RunDetail {
  return {
    runId,
    lastSeq: 0,
    epochs: [],
    steps: emptySeries(STEP_METRICS),
    logs: [],
    checkpoints: [],
    state: run?.state ?? RunState.RUN_STATE_UNSPECIFIED,
    stateMessage: '',
  };
}

function applySummaryEvents(state: DashState, events: RunEvent[]): DashState {
  let runs: Record<string, Run> | null = null;
  let unknown = state.unknownRuns;
  let seq = state.summarySeq;
  let reorder = false;
  let studies = state.studies;
  let imports = state.imports;
  for (const ev of events) {
    if (ev.seq <= seq) continue; // a replay overlapping what we have
    seq = ev.seq;
    // Import progress is under "d-<name>": no run to patch.
    if (ev.payload?.$case === 'datasetImport') {
      const p = ev.payload.datasetImport;
      imports = { ...imports, [p.name]: p };
      continue;
    }
    // Study events are under the study's id and carry the whole study: no run to patch.
    if (ev.payload?.$case === 'study') {
      studies = applyStudyEvents(studies, [ev]);
      continue;
    }
    const cur = (runs ?? state.runs)[ev.runId];
    if (!cur) {
      unknown = true;
      continue;
    }
    const next = patchRun(cur, ev);
    if (next !== cur) {
      runs ??= { ...state.runs };
      runs[ev.runId] = next;
      if (next.createdAtUnixMs !== cur.createdAtUnixMs) reorder = true;
    }
  }
  if (
    !runs &&
    seq === state.summarySeq &&
    unknown === state.unknownRuns &&
    studies === state.studies &&
    imports === state.imports
  )
    return state;
  const r = runs ?? state.runs;
  return {
    ...withStudies(state, studies),
    runs: r,
    imports,
    order: reorder ? sortOrder(r) : state.order,
    summarySeq: seq,
    unknownRuns: unknown,
  };
}

/** The run summary after one event (only what list rows show). */
export function patchRun(run: Run, ev: RunEvent): Run {
  if (ev.seq <= run.lastSeq) return run;
  const p = ev.payload;
  const base = { ...run, lastSeq: ev.seq };
  switch (p?.$case) {
    case 'state': {
      const to = p.state.to;
      const next: Run = { ...base, state: to };
      if (to === RunState.RUN_STATE_RUNNING && !run.startedAtUnixMs) next.startedAtUnixMs = ev.timeUnixMs;
      if (to === RunState.RUN_STATE_FAILED || to === RunState.RUN_STATE_INTERRUPTED)
        next.error = p.state.message;
      if (to >= RunState.RUN_STATE_SUCCEEDED) next.finishedAtUnixMs = ev.timeUnixMs;
      return next;
    }
    case 'step': {
      const s = p.step;
      return {
        ...base,
        progress: {
          epoch: s.epoch,
          epochs: run.progress?.epochs ?? 0,
          step: s.step,
          totalSteps: s.totalSteps,
          fraction: s.totalSteps ? s.step / s.totalSteps : 0,
          etaSeconds: s.etaSeconds,
          imagesPerSecond: s.imagesPerSecond,
        },
      };
    }
    case 'epoch': {
      const prog = run.progress ?? {
        epoch: 0,
        epochs: 0,
        step: 0,
        totalSteps: 0,
        fraction: 0,
        etaSeconds: 0,
        imagesPerSecond: 0,
      };
      return { ...base, progress: { ...prog, epoch: p.epoch.epoch, epochs: p.epoch.epochs } };
    }
    case 'result':
      return { ...base, result: p.result };
    case 'checkpoint': {
      const a = p.checkpoint.artifact;
      if (!a) return base;
      return { ...base, artifacts: [...run.artifacts.filter((x) => x.name !== a.name), a] };
    }
    default:
      return base;
  }
}

export function applyDetailEvents(detail: RunDetail, events: RunEvent[]): RunDetail {
  let d: RunDetail | null = null;
  let steps: Series | null = null;
  for (const ev of events) {
    if (ev.seq <= (d ?? detail).lastSeq || ev.runId !== detail.runId) continue;
    // Logs only grow (Ink's <Static> prints by index), so they are not capped here.
    d ??= {
      ...detail,
      epochs: detail.epochs.slice(),
      logs: detail.logs.slice(),
      checkpoints: detail.checkpoints.slice(),
    };
    d.lastSeq = ev.seq;
    const p = ev.payload;
    switch (p?.$case) {
      case 'step':
        steps ??= cloneSeries(detail.steps);
        appendPoint(steps, p.step.step, { loss: p.step.loss, accuracy: p.step.accuracy });
        d.lastStep = p.step;
        break;
      case 'epoch':
        // A resumed run repeats epochs after its last checkpoint: the newer one wins.
        d.epochs = d.epochs.filter((e) => e.epoch < p.epoch.epoch);
        d.epochs.push(p.epoch);
        break;
      case 'log':
        d.logs.push({ seq: ev.seq, timeUnixMs: ev.timeUnixMs, level: p.log.level, message: p.log.message });
        break;
      case 'state':
        d.state = p.state.to;
        d.stateMessage = p.state.message;
        d.logs.push({
          seq: ev.seq,
          timeUnixMs: ev.timeUnixMs,
          level: LogLevel.LOG_LEVEL_INFO,
          message: `state -> ${stateLabel(p.state.to)}${p.state.message ? `: ${p.state.message}` : ''}`,
        });
        break;
      case 'result':
        d.result = p.result;
        break;
      case 'download':
        d.download = p.download;
        break;
      case 'checkpoint':
        if (p.checkpoint.artifact) {
          const a = p.checkpoint.artifact;
          d.checkpoints = [...d.checkpoints.filter((c) => c.name !== a.name), a];
        }
        break;
    }
  }
  if (!d) return detail;
  if (steps) d.steps = steps;
  return d;
}

function stateLabel(s: RunState): string {
  return (RunState[s] ?? 'UNKNOWN').replace('RUN_STATE_', '').toLowerCase();
}
