// Study snapshots. Every study event carries the whole study, so applying one means replacing
// it. Two kinds of source feed them: events (the all-runs stream and the open study's own
// stream, both ordered by the global seq) and unary replies (ListStudies, CancelStudy), which
// carry no seq and are judged by how far along they are.
import type { RunEvent } from '../gen/ts/pretext/v1/event.js';
import { type Study, StudyState } from '../gen/ts/pretext/v1/study.js';

export interface StudyEntry {
  study: Study;
  /** Seq of the newest study event applied (0 = only unary replies so far). */
  seq: number;
}

export type StudyMap = Record<string, StudyEntry>;

export const isStudyFinished = (s: Study): boolean => s.finishedAtUnixMs > 0;

export function studyStateName(s: StudyState): string {
  return (StudyState[s] ?? 'UNKNOWN').replace('STUDY_STATE_', '').toLowerCase();
}

/** Progress of a snapshot without a seq: children ended, then the study's own end. */
function rank(s: Study): number {
  return s.runsEnded * 2 + (isStudyFinished(s) ? 1 : 0);
}

/** A unary reply: taken unless a snapshot already applied is further along. */
export function putStudy(map: StudyMap, study: Study): StudyMap {
  const mine = map[study.id];
  if (mine && rank(mine.study) > rank(study)) return map;
  return { ...map, [study.id]: { study, seq: mine?.seq ?? 0 } };
}

/** Study events (any others are ignored); an event older than the snapshot held is a replay. */
export function applyStudyEvents(map: StudyMap, events: readonly RunEvent[]): StudyMap {
  let out: StudyMap | null = null;
  for (const ev of events) {
    const p = ev.payload;
    if (p?.$case !== 'study' || !p.study.study) continue;
    const cur = (out ?? map)[ev.runId];
    if (cur && ev.seq <= cur.seq) continue;
    out ??= { ...map };
    out[ev.runId] = { study: p.study.study, seq: ev.seq };
  }
  return out ?? map;
}

/** Study ids, newest first. */
export function studyOrder(map: StudyMap): string[] {
  return Object.values(map)
    .map((e) => e.study)
    .sort((a, b) => b.createdAtUnixMs - a.createdAtUnixMs || (a.id < b.id ? 1 : -1))
    .map((s) => s.id);
}
