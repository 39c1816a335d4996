// The container: hooks for data and terminal size, keys turned into UI changes and effects.
// Everything it renders is the props-only <App>.
import { useApp, useInput } from 'ink';
import { useCallback, useRef, useState } from 'react';
import { rm } from 'node:fs/promises';
import path from 'node:path';
import { type Connection, explainError } from '../clients/ts/connection.js';
import { checkpointChoice, downloadExport, extractArchive } from '../clients/ts/models-out.js';
import { App } from './components/App.js';
import { useDaemon } from './hooks/useDaemon.js';
import { useDatasets } from './hooks/useDatasets.js';
import { useStudies } from './hooks/useStudies.js';
import { useTerminalSize } from './hooks/useTerminalSize.js';
import { type Effect, handleKey, initialUi, type UiState } from './ui.js';

export interface DashboardProps {
  conn: Connection;
  /** Throttle of renders driven by events (ms). */
  throttleMs?: number;
  /** Open this study's view first (`pretext tui --study ID`). */
  studyId?: string;
}

export function Dashboard({ conn, throttleMs, studyId }: DashboardProps) {
  const [ui, setUi] = useState<UiState>(() =>
    studyId ? { ...initialUi, view: 'study', studyId } : initialUi,
  );
  const detailRunId = ui.view === 'run' ? ui.runId : undefined;
  const { dash, dispatch } = useDaemon(conn, detailRunId, throttleMs);
  useStudies(conn, dispatch, ui.view === 'studies', ui.view === 'study' ? ui.studyId : undefined);
  useDatasets(conn, dispatch, ui.view === 'datasets');
  const { columns, rows } = useTerminalSize();
  const { exit } = useApp();

  const notify = useCallback(
    (text: string, error = false) => setUi((u) => ({ ...u, notice: { text, error } })),
    [],
  );

  const run = useCallback(
    async (effect: Effect) => {
      try {
        switch (effect.type) {
          case 'quit':
            exit();
            return;
          case 'startPretext': {
            const { run } = await conn.call(conn.client.startPretext, effect.req);
            if (run) {
              dispatch({ type: 'run', run });
              setUi((u) => ({
                ...u,
                runId: run.id,
                notice: { text: `started pretext run ${run.id}`, error: false },
              }));
            }
            return;
          }
          case 'startDownstream': {
            const { run } = await conn.call(conn.client.startDownstream, effect.req);
            if (run) {
              dispatch({ type: 'run', run });
              setUi((u) => ({
                ...u,
                runId: run.id,
                notice: { text: `started downstream run ${run.id}`, error: false },
              }));
            }
            return;
          }
          case 'evaluate': {
            const { run } = await conn.call(conn.client.evaluate, effect.req);
            if (run) {
              dispatch({ type: 'run', run });
              notify(`evaluation ${run.id} of ${effect.req.config?.targetRunId} queued`);
            }
            return;
          }
          case 'cancel': {
            const { run } = await conn.call(conn.client.cancelRun, { runId: effect.runId });
            if (run) dispatch({ type: 'run', run });
            notify(`cancelling ${effect.runId}`);
            return;
          }
          case 'cancelStudy': {
            const { study } = await conn.call(conn.client.cancelStudy, { studyId: effect.studyId });
            if (study) dispatch({ type: 'study', study });
            notify(`cancelling study ${effect.studyId} and its unfinished runs`);
            return;
          }
          case 'export': {
            notify(`exporting ${effect.runId} (${effect.format}, ${effect.checkpoint}) to ${effect.out} …`);
            const dir = path.resolve(effect.out);
            const archive = path.join(dir, `.${effect.runId}-${effect.format}.tar`);
            const res = await downloadExport(
              conn,
              { runId: effect.runId, format: effect.format, checkpoint: checkpointChoice(effect.checkpoint) },
              archive,
            );
            const files = await extractArchive(archive, dir);
            await rm(archive, { force: true });
            notify(
              `exported ${effect.runId} (${res.info.checkpoint}, epoch ${res.info.epoch}${res.info.inProgress ? ', in progress' : ''}) to ${dir}: ${files.join(', ')}`,
            );
            return;
          }
          case 'resume': {
            const { run } = await conn.call(conn.client.resumeRun, { runId: effect.runId });
            if (run) dispatch({ type: 'run', run });
            notify(`resumed ${effect.runId}`);
            return;
          }
        }
      } catch (err) {
        notify((await explainError(err, conn.opts)).message, true);
      }
    },
    [conn, dispatch, exit, notify],
  );

  // Keys can arrive faster than renders (typing, pasting): each one must see the state the
  // previous one left, not the one of the last render.
  const uiRef = useRef(ui);
  uiRef.current = ui;
  const dashRef = useRef(dash);
  dashRef.current = dash;
  useInput((input, key) => {
    const res = handleKey({ ...uiRef.current, notice: undefined }, dashRef.current, input, key);
    uiRef.current = res.ui;
    setUi(res.ui);
    if (res.effect) run(res.effect);
  });

  return <App dash={dash} ui={ui} addr={conn.opts.addr} width={columns} height={rows} />;
}
