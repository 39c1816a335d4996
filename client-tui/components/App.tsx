// The whole screen, from props only: header, body (runs or studies list, run or study view, or
// an overlay), footer, and
// the selected run's log lines in <Static> (printed once, kept in the scrollback).
import { Agents, MAX_AGENT_ROWS } from './Agents.js';
import { Box, Static, Text } from 'ink';
import type { ReactNode } from 'react';
import { RunState } from '../../gen/ts/pretext/v1/run.js';
import { LogLevel } from '../../gen/ts/pretext/v1/event.js';
import type { Run } from '../../gen/ts/pretext/v1/run.js';
import type { Study } from '../../gen/ts/pretext/v1/study.js';
import type { DashState } from '../state.js';
import { HELP_KEYS, type UiState } from '../ui.js';
import { Footer } from './Footer.js';
import { FormView } from './FormView.js';
import { Header } from './Header.js';
import { Confirm, Help } from './Overlays.js';
import { RunsList } from './RunsList.js';
import { RunView } from './RunView.js';
import { DatasetsList } from './DatasetsList.js';
import { StudiesList } from './StudiesList.js';
import { StudyView } from './StudyView.js';

export interface AppProps {
  dash: DashState;
  ui: UiState;
  addr: string;
  width: number;
  height: number;
}

const LIST_HINTS =
  '↑↓ select · enter open · s studies · D datasets · p pretext · d downstream · e eval · x export · c cancel · R resume · ? help · q quit';
const RUN_HINTS =
  'esc list · ←→ prev/next run · m charts/results · e eval · x export · d downstream · c cancel · s studies · ? help · q quit';
const STUDIES_HINTS = '↑↓ select · enter open · c cancel study · esc/s runs · ? help · q quit';
const DATASETS_HINTS = 'esc/D runs · ? help · q quit (add one: pretext dataset add NAME ./folder)';
const STUDY_HINTS = 'esc studies · ←→ prev/next study · c cancel study · s runs · ? help · q quit';

const LEVEL = { [LogLevel.LOG_LEVEL_WARN]: 'warn', [LogLevel.LOG_LEVEL_ERROR]: 'error' } as Record<
  number,
  string
>;

export function App({ dash, ui, addr, width, height }: AppProps) {
  const runs = dash.order.map((id) => dash.runs[id]).filter((r): r is Run => r !== undefined);
  const running = runs.filter((r) => r.state === RunState.RUN_STATE_RUNNING).length;
  const queued = runs.filter((r) => r.state === RunState.RUN_STATE_QUEUED).length;
  const selectedId = ui.runId && dash.runs[ui.runId] ? ui.runId : runs[0]?.id;
  const footerRows = ui.notice ? 2 : 1;
  // Why the link is down (refused, token, TLS), right under the header while it is.
  const problem = dash.link.state !== 'live' ? dash.link.message : undefined;
  // Staying below the terminal height lets Ink redraw in place instead of clearing the screen.
  const problemRows = problem ? Math.min(3, Math.ceil(problem.length / Math.max(20, width))) : 0;
  const agentRows = Math.min(MAX_AGENT_ROWS, dash.agents?.length ?? 0);
  const bodyH = Math.max(3, height - 1 - footerRows - 1 - problemRows - agentRows);
  const o = ui.overlay;
  const shown = ui.view === 'run' && selectedId ? dash.runs[selectedId] : undefined;
  const detail = shown && dash.detail?.runId === shown.id ? dash.detail : undefined;
  let body: ReactNode;
  if (o.kind === 'form') body = <FormView form={o.form} width={width} height={bodyH} />;
  else if (o.kind === 'help') body = <Help keys={HELP_KEYS} width={width} />;
  else if (o.kind === 'confirm') {
    const message =
      o.action === 'cancel' ? `Cancel run ${o.runId}?` : `Cancel study ${o.studyId} and its unfinished runs?`;
    body = <Confirm message={message} width={width} />;
  } else if (ui.view === 'study' && ui.studyId) {
    body = (
      <StudyView
        studyId={ui.studyId}
        study={dash.studies[ui.studyId]?.study}
        link={dash.studyLink}
        runs={dash.runs}
        width={width}
        height={bodyH}
      />
    );
  } else if (ui.view === 'datasets') {
    body = (
      <DatasetsList
        datasets={dash.datasets}
        imports={dash.imports}
        error={dash.datasetsError}
        width={width}
        height={bodyH}
      />
    );
  } else if (ui.view === 'studies') {
    const studies = dash.studyOrder
      .map((id) => dash.studies[id]?.study)
      .filter((s): s is Study => s !== undefined);
    body = (
      <StudiesList
        studies={studies}
        selectedId={ui.studyId}
        error={dash.studiesError}
        width={width}
        height={bodyH}
      />
    );
  } else if (shown) {
    body = (
      <RunView
        run={shown}
        detail={detail}
        detailLink={dash.detailLink}
        chartMode={ui.chartMode}
        width={width}
        height={bodyH}
      />
    );
  } else body = <RunsList runs={runs} selectedId={selectedId} width={width} height={bodyH} />;
  const hints =
    ui.view === 'datasets'
      ? DATASETS_HINTS
      : ui.view === 'study'
        ? STUDY_HINTS
        : ui.view === 'studies'
          ? STUDIES_HINTS
          : shown
            ? RUN_HINTS
            : LIST_HINTS;
  return (
    <>
      {detail ? (
        <Static key={detail.runId} items={detail.logs}>
          {(l) => (
            <Text key={l.seq} color={l.level >= LogLevel.LOG_LEVEL_WARN ? 'yellow' : undefined}>
              {`${new Date(l.timeUnixMs).toISOString().slice(11, 19)} ${detail.runId} ${LEVEL[l.level] ? `[${LEVEL[l.level]}] ` : ''}${l.message}`}
            </Text>
          )}
        </Static>
      ) : null}
      <Box flexDirection="column" width={width}>
        <Header
          addr={addr}
          link={dash.link}
          total={runs.length}
          running={running}
          queued={queued}
          width={width}
          warning={dash.daemonWarning}
        />
        {agentRows ? <Agents agents={dash.agents ?? []} rows={agentRows} width={width} /> : null}
        {problem ? (
          <Box height={problemRows} overflow="hidden">
            <Text color="red">{problem}</Text>
          </Box>
        ) : null}
        <Box height={bodyH} flexDirection="column" overflow="hidden">
          {body}
        </Box>
        <Footer hints={hints} notice={ui.notice} width={width} />
      </Box>
    </>
  );
}
