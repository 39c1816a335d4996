// Retention: what may go from finished runs, and removing it. Best and last checkpoints stay
// by default; the policy can drop `last` of runs that ended long ago (their `best` stays) and
// thin the step events of finished runs (epoch, state, checkpoint, result and log events stay
// forever). `planGc` only looks; `applyGc` removes exactly what a plan lists.
import { existsSync, readdirSync, rmSync, statSync } from 'node:fs';
import path from 'node:path';
import { RunState } from '../../../gen/ts/pretext/v1/run.js';
import type { GarbageItem, RetentionPolicy } from '../../../gen/ts/pretext/v1/service.js';
import type { Db } from '../runs/db.js';
import { runDir } from '../runs/scheduler.js';

const DAY_MS = 86_400_000;

/** Runs whose `last` checkpoint may go: they can never train again. */
const DONE_FOR_GOOD = [RunState.RUN_STATE_SUCCEEDED, RunState.RUN_STATE_CANCELLED];
/** Runs whose step events may be thinned: they ended (a resumed FAILED run is thinned again later). */
const FINISHED = [RunState.RUN_STATE_SUCCEEDED, RunState.RUN_STATE_FAILED, RunState.RUN_STATE_CANCELLED];
/** Children in these states may still read their parent's checkpoints. */
const MAY_READ_PARENT = [
  RunState.RUN_STATE_QUEUED,
  RunState.RUN_STATE_RUNNING,
  RunState.RUN_STATE_INTERRUPTED,
];

export interface GcPlanItem extends GarbageItem {
  /** Checkpoint: the directories to delete. */
  paths?: string[];
  /** Step events: the sequence numbers to delete. */
  seqs?: number[];
  /** Step events: when the run finished (recorded in runs.events_compacted_ms). */
  finishedMs?: number;
}

/** Total size of the files under `p`. */
export function diskUsage(p: string): number {
  let st: ReturnType<typeof statSync>;
  try {
    st = statSync(p);
  } catch {
    return 0;
  }
  if (!st.isDirectory()) return st.size;
  let total = 0;
  for (const name of readdirSync(p)) total += diskUsage(path.join(p, name));
  return total;
}

/** `n` evenly spaced indices of 0..count-1, first and last included. */
export function evenlySpaced(count: number, n: number): number[] {
  if (n >= count) return Array.from({ length: count }, (_, i) => i);
  if (n <= 1) return [count - 1];
  const out = new Set<number>();
  for (let i = 0; i < n; i++) out.add(Math.round((i * (count - 1)) / (n - 1)));
  return [...out];
}

export function planGc(db: Db, stateDir: string, policy: RetentionPolicy, now = Date.now()): GcPlanItem[] {
  const items: GcPlanItem[] = [];
  const marks = (states: RunState[]) => states.map(() => '?').join(',');
  if (policy.lastCheckpointDays > 0) {
    const rows = db
      .prepare(
        `SELECT id FROM runs r WHERE state IN (${marks(DONE_FOR_GOOD)}) AND finished_ms > 0 AND finished_ms <= ?
           AND NOT EXISTS (SELECT 1 FROM runs c WHERE c.parent_run_id = r.id AND c.state IN (${marks(MAY_READ_PARENT)}))
         ORDER BY finished_ms`,
      )
      .all(...DONE_FOR_GOOD, now - policy.lastCheckpointDays * DAY_MS, ...MAY_READ_PARENT) as Array<{
      id: string;
    }>;
    for (const { id } of rows) {
      const dir = path.join(runDir(stateDir, id), 'checkpoints');
      const best = path.join(dir, 'best');
      // Never remove a run's only model.
      if (!existsSync(path.join(best, 'state.json')) && !existsSync(path.join(`${best}.old`, 'state.json')))
        continue;
      const paths = ['last', 'last.old', 'last.tmp']
        .map((n) => path.join(dir, n))
        .filter((p) => existsSync(p));
      if (!paths.length) continue;
      const bytes = paths.reduce((sum, p) => sum + diskUsage(p), 0);
      items.push({ runId: id, kind: 'checkpoint', detail: path.join(dir, 'last'), bytes, paths });
    }
  }
  if (policy.stepEventsPerRun > 0) {
    const runs = db
      .prepare(`SELECT id, finished_ms FROM runs WHERE state IN (${marks(FINISHED)}) ORDER BY finished_ms`)
      .all(...FINISHED) as Array<{ id: string; finished_ms: number }>;
    // Counted through the (run_id, kind, seq) index: cheap per run, and a smaller cap set
    // later still applies to runs thinned before.
    const count = db.prepare("SELECT COUNT(*) AS n FROM events WHERE run_id = ? AND kind = 'step'");
    const steps = db.prepare(
      "SELECT seq, length(data) AS size FROM events WHERE run_id = ? AND kind = 'step' ORDER BY seq",
    );
    for (const run of runs) {
      if ((count.get(run.id) as { n: number }).n <= policy.stepEventsPerRun) continue;
      const rows = steps.all(run.id) as Array<{ seq: number; size: number }>;
      if (rows.length <= policy.stepEventsPerRun) continue;
      const keep = new Set(evenlySpaced(rows.length, policy.stepEventsPerRun));
      const drop = rows.filter((_, i) => !keep.has(i));
      items.push({
        runId: run.id,
        kind: 'step_events',
        detail: `${drop.length} of ${rows.length} step events (keeping ${keep.size}, evenly spaced)`,
        bytes: drop.reduce((sum, r) => sum + r.size, 0),
        seqs: drop.map((r) => r.seq),
        finishedMs: run.finished_ms,
      });
    }
  }
  return items;
}

/** Removes what `planGc` listed: checkpoint folders (and their artifact rows), step events. */
export function applyGc(db: Db, items: GcPlanItem[]): void {
  const dropArtifact = db.prepare("DELETE FROM artifacts WHERE run_id = ? AND name = 'last'");
  const dropEvent = db.prepare("DELETE FROM events WHERE seq = ? AND kind = 'step'");
  const compacted = db.prepare('UPDATE runs SET events_compacted_ms = ? WHERE id = ?');
  for (const item of items) {
    if (item.kind === 'checkpoint' && item.paths) {
      // The row goes first: a crash in between leaves files nobody lists (removed next time),
      // never a listed checkpoint without files.
      dropArtifact.run(item.runId);
      for (const p of item.paths) rmSync(p, { recursive: true, force: true });
    } else if (item.kind === 'step_events' && item.seqs) {
      const seqs = item.seqs;
      db.transaction(() => {
        for (const seq of seqs) dropEvent.run(seq);
        compacted.run(item.finishedMs ?? Date.now(), item.runId);
      })();
    }
  }
}

/** The plan without its internals, for the RPC. */
export function publicItem(item: GcPlanItem): GarbageItem {
  return { runId: item.runId, kind: item.kind, detail: item.detail, bytes: item.bytes };
}
