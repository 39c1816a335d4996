// The studies' subscriptions: the list while it is on screen, and the open study's own event
// stream (its history, then each update as a child run ends, until the final one). Snapshots
// land in the dashboard's store through `dispatch`; the all-runs stream patches them too.
import { useCallback, useEffect } from 'react';
import { type Connection, describeError } from '../../clients/ts/connection.js';
import { follow } from '../../clients/ts/follow.js';
import type { Action } from '../state.js';
import { toLink } from './useDaemon.js';

export function useStudies(
  conn: Connection,
  dispatch: (a: Action) => void,
  listShown: boolean,
  studyId: string | undefined,
): void {
  const load = useCallback(async () => {
    try {
      const { studies } = await conn.call(conn.client.listStudies, { limit: 200 });
      dispatch({ type: 'studies', studies });
    } catch (err) {
      dispatch({ type: 'studiesError', message: describeError(err, conn.opts).message });
    }
  }, [conn, dispatch]);

  // Study events on the all-runs stream keep the list current; the reload catches studies
  // started while the link was down.
  useEffect(() => {
    if (!listShown) return;
    load();
    const t = setInterval(load, 10_000);
    return () => clearInterval(t);
  }, [listShown, load]);

  useEffect(() => {
    if (!studyId) {
      dispatch({ type: 'studyClose' });
      return;
    }
    dispatch({ type: 'studyOpen', studyId });
    // From the start each time: a study's history is one event per child state change, and
    // every event is a whole snapshot, so a replay costs little and repairs anything missed.
    const f = follow(conn, {
      runId: studyId,
      fromSeq: 0,
      onEvent: (ev) => dispatch({ type: 'studyEvents', studyId, events: [ev] }),
      onStatus: (s) => dispatch({ type: 'link', which: 'study', link: toLink(s) }),
      stopAfter: (ev) => ev.payload?.$case === 'study' && (ev.payload.study.study?.finishedAtUnixMs ?? 0) > 0,
    });
    return () => f.close();
  }, [conn, dispatch, studyId]);
}
