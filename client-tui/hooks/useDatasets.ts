// The imported datasets while their view is on screen: ListDatasets now and every few seconds
// (an import that finishes shows up within one poll; its progress comes on the all-runs stream).
import { useEffect } from 'react';
import { type Connection, describeError } from '../../clients/ts/connection.js';
import type { Action } from '../state.js';

const POLL_MS = 3_000;

export function useDatasets(conn: Connection, dispatch: (a: Action) => void, shown: boolean): void {
  useEffect(() => {
    if (!shown) return;
    const load = async () => {
      try {
        const { datasets } = await conn.call(conn.client.listDatasets, {});
        dispatch({ type: 'datasets', datasets });
      } catch (err) {
        dispatch({ type: 'datasetsError', message: describeError(err, conn.opts).message });
      }
    };
    load();
    const t = setInterval(load, POLL_MS);
    return () => clearInterval(t);
  }, [conn, dispatch, shown]);
}
