// Constructed runs for the dashboard's unit tests.
import { type Run, RunKind, RunState } from '../../gen/ts/pretext/v1/run.js';

export function mkRun(id: string, created: number, over: Partial<Run> = {}): Run {
  return {
    id,
    name: '',
    kind: RunKind.RUN_KIND_PRETEXT,
    method: 'rotation',
    state: RunState.RUN_STATE_QUEUED,
    config: undefined,
    createdAtUnixMs: created,
    startedAtUnixMs: 0,
    finishedAtUnixMs: 0,
    error: '',
    parentRunId: '',
    backend: '',
    backendDetail: '',
    seed: 1,
    dataChecksum: '',
    codeRevision: '',
    progress: undefined,
    result: undefined,
    artifacts: [],
    attempts: 0,
    lastSeq: 0,
    dataset: 'cifar10',
    studyId: '',
    labelsUsed: undefined,
    attemptHistory: [],
    ...over,
  };
}
