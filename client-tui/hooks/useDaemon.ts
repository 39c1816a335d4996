// Owns every subscription of the dashboard: the all-runs event stream (run summaries), the
// selected run's stream (charts, logs, results) and list reloads. Events are buffered and
// applied in one reducer step per throttle tick, so a burst (a 10,000-event replay, 50 busy
// runs) costs a handful of renders, not thousands.
import { useCallback, useEffect, useRef, useState } from 'react';
import type { RunEvent } from '../../gen/ts/pretext/v1/event.js';
import { type Connection, describeError, isTransient } from '../../clients/ts/connection.js';
import { type Follower, follow, type LinkStatus } from '../../clients/ts/follow.js';
import { isTerminal } from '../../clients/ts/format.js';
import { type Action, type DashState, initialState, type Link, reduce } from '../state.js';

export function toLink(s: LinkStatus): Link {
  const l: Link = { state: s.state, attempt: s.attempt };
  if (s.error) l.message = s.error.message;
  if (s.retryInMs !== undefined) l.retryInMs = s.retryInMs;
  return l;
}

export interface DaemonHandle {
  dash: DashState;
  dispatch: (a: Action) => void;
  reloadRuns: () => void;
}

export function useDaemon(conn: Connection, detailRunId: string | undefined, throttleMs = 100): DaemonHandle {
  const store = useRef<DashState>(initialState);
  const [dash, setDash] = useState<DashState>(initialState);
  const timer = useRef<NodeJS.Timeout | null>(null);
  const buf = useRef<{ all: RunEvent[]; detail: RunEvent[]; detailId?: string }>({ all: [], detail: [] });
  const [generation, setGeneration] = useState(0);

  const applyBuffered = useCallback(() => {
    const b = buf.current;
    let s = store.current;
    if (b.all.length) {
      s = reduce(s, { type: 'events', events: b.all });
      b.all = [];
    }
    if (b.detail.length && b.detailId) {
      s = reduce(s, { type: 'detailEvents', runId: b.detailId, events: b.detail });
      b.detail = [];
    }
    store.current = s;
  }, []);

  const schedule = useCallback(() => {
    if (timer.current) return;
    timer.current = setTimeout(() => {
      timer.current = null;
      applyBuffered();
      setDash(store.current);
    }, throttleMs);
  }, [applyBuffered, throttleMs]);

  const dispatch = useCallback(
    (a: Action) => {
      applyBuffered();
      store.current = reduce(store.current, a);
      schedule();
    },
    [applyBuffered, schedule],
  );

  const loadRuns = useCallback(async () => {
    const res = await conn.call(conn.client.listRuns, {
      states: [],
      kinds: [],
      limit: 1000,
      parentRunId: '',
      studyId: '',
    });
    dispatch({ type: 'runs', runs: res.runs });
  }, [conn, dispatch]);

  const reloadRuns = useCallback(() => {
    loadRuns().catch(() => {});
  }, [loadRuns]);

  // The all-runs stream: first a snapshot (info's last seq, then the list), then events after it.
  useEffect(() => {
    let stopped = false;
    let follower: Follower | undefined;
    let retry: NodeJS.Timeout | undefined;
    let attempt = 0;
    const init = async () => {
      try {
        const info = await conn.call(conn.client.getServerInfo, {});
        // The forms cycle through what this daemon knows, not a copy kept here.
        dispatch({
          type: 'choices',
          choices: { method: info.pretextMethods, dataset: info.datasets.map((d) => d.name) },
        });
        dispatch({
          type: 'serverInfo',
          warning: info.disk?.startingPaused ? info.disk.reason : '',
          agents: info.agents,
        });
        await loadRuns();
        if (stopped) return;
        follower = follow(conn, {
          fromSeq: info.lastSeq + 1,
          onEvent: (ev) => {
            buf.current.all.push(ev);
            schedule();
          },
          onStatus: (s) => dispatch({ type: 'link', which: 'all', link: toLink(s) }),
        });
      } catch (err) {
        if (stopped) return;
        const e = describeError(err, conn.opts);
        if (!isTransient(err)) {
          dispatch({ type: 'link', which: 'all', link: { state: 'failed', attempt, message: e.message } });
          return;
        }
        attempt += 1;
        const delay = Math.min(5000, 250 * 2 ** (attempt - 1));
        dispatch({
          type: 'link',
          which: 'all',
          link: { state: 'reconnecting', attempt, message: e.message, retryInMs: delay },
        });
        retry = setTimeout(init, delay);
      }
    };
    init();
    // Belt and braces: the stream keeps summaries current, a slow reload catches anything else.
    const periodic = setInterval(() => {
      reloadRuns();
      // The free-space guard's verdict changes without an event: ask for it with the reload.
      conn.call(conn.client.getServerInfo, {}).then(
        (info) =>
          dispatch({
            type: 'serverInfo',
            warning: info.disk?.startingPaused ? info.disk.reason : '',
            agents: info.agents,
          }),
        () => {},
      );
    }, 15_000);
    return () => {
      stopped = true;
      clearTimeout(retry);
      clearInterval(periodic);
      follower?.close();
    };
  }, [conn, dispatch, loadRuns, reloadRuns, schedule]);

  // Events for runs the list lacks (started elsewhere): reload the list.
  useEffect(() => {
    if (!dash.unknownRuns) return;
    const t = setTimeout(reloadRuns, 200);
    return () => clearTimeout(t);
  }, [dash.unknownRuns, reloadRuns]);

  // The selected run's stream, from its first event (or where we left it, when reopened).
  // biome-ignore lint/correctness/useExhaustiveDependencies: a new generation reopens the stream of a resumed run
  useEffect(() => {
    if (!detailRunId) {
      dispatch({ type: 'detailClose' });
      return;
    }
    dispatch({ type: 'detailOpen', runId: detailRunId });
    const d = store.current.detail;
    const fromSeq = d && d.runId === detailRunId ? d.lastSeq + 1 : 0;
    buf.current.detailId = detailRunId;
    buf.current.detail = [];
    const f = follow(conn, {
      runId: detailRunId,
      fromSeq,
      onEvent: (ev) => {
        if (buf.current.detailId !== detailRunId) return;
        buf.current.detail.push(ev);
        schedule();
      },
      onStatus: (s) => dispatch({ type: 'link', which: 'detail', link: toLink(s) }),
      stopAfter: (ev) => ev.payload?.$case === 'state' && isTerminal(ev.payload.state.to),
    });
    return () => f.close();
  }, [conn, detailRunId, dispatch, schedule, generation]);

  // A run's stream ends with the run; if the run comes back (resumed), follow it again.
  const run = detailRunId ? dash.runs[detailRunId] : undefined;
  const detailEnded = dash.detailLink.state === 'ended' && dash.detail?.runId === detailRunId;
  const runActive = run !== undefined && !isTerminal(run.state) && run.lastSeq > (dash.detail?.lastSeq ?? 0);
  useEffect(() => {
    if (detailEnded && runActive) setGeneration((g) => g + 1);
  }, [detailEnded, runActive]);

  useEffect(
    () => () => {
      if (timer.current) clearTimeout(timer.current);
    },
    [],
  );

  return { dash, dispatch, reloadRuns };
}
