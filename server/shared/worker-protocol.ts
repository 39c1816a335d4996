// The typed messages between the daemon and a worker process (child_process.fork with
// `serialization: 'advanced'`, so typed arrays and nested objects travel as they are).
// The daemon never trains: it forks one worker per run, sends `start`, and turns every
// `event` into an entry of the run's event log.
import type { RunEvent } from '../../gen/ts/pretext/v1/event.js';
import type {
  DownstreamConfig,
  EvaluateConfig,
  PretextConfig,
  RunResult,
} from '../../gen/ts/pretext/v1/run.js';

/** One event's payload, as in the proto's `RunEvent.payload` oneof (`{ $case: 'epoch', epoch }`). */
export type EventPayload = NonNullable<RunEvent['payload']>;

export type JobKind = 'pretext' | 'downstream' | 'evaluate';

/** The run a job builds on: the pretext run of a downstream run, the target of an evaluation. */
export interface ParentRunSpec {
  runId: string;
  kind: JobKind;
  method: string;
  /** Directory of the parent run (its checkpoints live under `checkpoints/`). */
  runDir: string;
  config: PretextConfig | DownstreamConfig | EvaluateConfig;
}

/** Everything a worker needs to run one job. Configs have defaults filled in by the daemon. */
export interface JobSpec {
  runId: string;
  kind: JobKind;
  /** Method name: a registry key ("rotation", "supervised", "evaluate", ...). */
  method: string;
  config: PretextConfig | DownstreamConfig | EvaluateConfig;
  /** This run's own directory: `<state-dir>/runs/<runId>`; checkpoints under `checkpoints/`. */
  runDir: string;
  /** Where datasets live (the daemon's --data-dir). */
  dataDir: string;
  /** Where imported datasets live (`<state-dir>/datasets`). */
  datasetsDir?: string;
  /** Whether the data layer may download a missing official archive. */
  allowDownload: boolean;
  /** Requested backend: "auto" or a backend name. */
  backend: string;
  /** The seed to use (the daemon picks one when the request said 0). */
  seed: number;
  /** True when this start continues an interrupted run from `checkpoints/last`. */
  resume: boolean;
  /**
   * Epochs whose `epoch` event the run's log already holds. A resumed worker re-sends, from
   * its checkpoint's history, every finished epoch missing here (a daemon killed between the
   * checkpoint and the event); the daemon drops any epoch it already logged. Absent: nothing
   * is re-sent.
   */
  loggedEpochs?: number[];
  parent?: ParentRunSpec;
}

export type ToWorker = { type: 'start'; job: JobSpec } | { type: 'cancel' };

export type FromWorker =
  /** The worker is listening; the daemon sends `start` only after this (no lost message). */
  | { type: 'ready' }
  /** Facts for the run's provenance, sent as soon as they are known. */
  | { type: 'meta'; backend?: string; backendDetail?: string; dataChecksum?: string; threads?: number }
  | { type: 'event'; payload: EventPayload }
  | { type: 'done'; result: RunResult }
  /** `error` is the message a person reads in Run.error; `stack` goes to the daemon's log only. */
  | { type: 'failed'; error: string; stack?: string }
  | { type: 'cancelled' };
