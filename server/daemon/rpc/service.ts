// PretextService handlers. They validate, touch the registry and the scheduler, and never
// train: all training happens in worker processes.
import os from 'node:os';
import type { AgentInfo } from '../../../gen/ts/pretext/v1/cluster.js';
import { type ServerUnaryCall, type ServerWritableStream, type sendUnaryData, status } from '@grpc/grpc-js';
import { type Run, RunKind, RunState } from '../../../gen/ts/pretext/v1/run.js';
import type {
  CancelStudyRequest,
  CancelStudyResponse,
  GetStudyRequest,
  GetStudyResponse,
  ListStudiesRequest,
  ListStudiesResponse,
  StartStudyRequest,
  StartStudyResponse,
  CancelRunRequest,
  CancelRunResponse,
  CollectGarbageRequest,
  CollectGarbageResponse,
  EvaluateRequest,
  EvaluateResponse,
  GetRunRequest,
  GetRunResponse,
  GetServerInfoRequest,
  GetServerInfoResponse,
  ListRunsRequest,
  ListRunsResponse,
  PretextServiceServer,
  ResumeRunRequest,
  ResumeRunResponse,
  StartDownstreamRequest,
  StartDownstreamResponse,
  StartPretextRequest,
  StartPretextResponse,
  StreamMetricsRequest,
  StreamMetricsResponse,
} from '../../../gen/ts/pretext/v1/service.js';
import type { DiskGuard } from '../disk/guard.js';
import type { Retention } from '../disk/retention.js';
import type { Logger } from '../log.js';
import type { EventLog } from '../runs/event-log.js';
import { type RunRegistry, stateName, TERMINAL_STATES } from '../runs/registry.js';
import type { Scheduler } from '../runs/scheduler.js';
import { VERSION, codeRevision } from '../../shared/version.js';
import { architectureNames, datasetNames } from '../../shared/contract/catalog.js';
import { methodNames } from '../../shared/contract/methods.js';
import { presetNames } from '../../shared/contract/presets.js';
import { asRpcError, failedPrecondition, invalidArgument, RpcError, serviceErrorOf } from './errors.js';
import { isStudyId, type Studies } from '../studies/studies.js';
import { serveStream } from './stream.js';
import type { InferenceRunner } from '../inference/runner.js';
import { modelsOutHandlers } from './models-out.js';
import { datasetHandlers } from './datasets.js';
import { type Datasets, isDatasetEventId } from '../datasets/datasets.js';
import { boundDetails } from './guard.js';
import { IdExhaustedError } from '../runs/ids.js';
import {
  checkId,
  mustGetRun,
  prepareDownstream,
  prepareEvaluate,
  preparePretext,
  requireHostSupport,
  previewRun,
} from './submit.js';

export interface ServiceDeps {
  registry: RunRegistry;
  studies: Studies;
  events: EventLog;
  scheduler: Scheduler;
  log: Logger;
  dataDir: string;
  stateDir: string;
  disk: DiskGuard;
  retention: Retention;
  backend: string;
  maxConcurrentRuns: number;
  startedAt: number;
  probeBackends(): Promise<Array<{ name: string; available: boolean; reason: string; detail: string }>>;
  datasetStatus(name: string): { present: boolean; path: string; hint: string };
  /** Registers an open stream so shutdown can end it. */
  trackStream(end: () => void): () => void;
  /** Export, Embed and Predict run through this (inference workers in a slot of their own). */
  inference: InferenceRunner;
  allowDownload: boolean;
  /** See ModelsOutDeps.stalledStreamMs. */
  stalledStreamMs?: number;
  /** Imported datasets (ImportDataset, UploadDataset, …). */
  datasets: Datasets;
  /** A coordinator's agents and queue address (pretextd --queue). */
  cluster?: { agents(): AgentInfo[]; display: string };
}

function unary<Req, Res>(
  log: Logger,
  name: string,
  fn: (req: Req, call: ServerUnaryCall<Req, Res>) => Promise<Res> | Res,
) {
  return (call: ServerUnaryCall<Req, Res>, callback: sendUnaryData<Res>) => {
    Promise.resolve()
      .then(() => fn(call.request, call))
      .then(
        (res) => callback(null, res),
        (err: unknown) => callback(toServiceError(log, name, err)),
      );
  };
}

export function toServiceError(log: Logger, name: string, err: unknown) {
  const known = asRpcError(err);
  if (known) {
    const e = serviceErrorOf(known);
    return { ...e, details: boundDetails(e.details) };
  }
  if (err instanceof IdExhaustedError) {
    log.error('id allocation failed', { rpc: name, error: err.message });
    return { code: status.ABORTED, details: `${err.message}; nothing was created, try again` };
  }
  log.error('internal error', {
    rpc: name,
    error: err instanceof Error ? (err.stack ?? err.message) : String(err),
  });
  return {
    code: status.INTERNAL,
    details: boundDetails(`internal error in ${name}: ${err instanceof Error ? err.message : String(err)}`),
  };
}

/** Repeated enum filters at most this long; each value may appear once anyway. */
export const MAX_FILTER_VALUES = 64;

/** Validates a repeated enum filter and returns its distinct values. */
export function enumSet<E extends number>(
  values: readonly E[],
  enumObj: Record<number, string>,
  field: string,
  what: string,
): E[] {
  if (values.length > MAX_FILTER_VALUES) {
    throw invalidArgument(
      `${field} has ${values.length} entries; give each ${what} once (at most ${MAX_FILTER_VALUES} entries)`,
    );
  }
  const distinct = [...new Set(values)];
  for (const v of distinct) if (!(v in enumObj) || v <= 0) throw invalidArgument(`unknown ${what} ${v}`);
  return distinct;
}

export function createService(deps: ServiceDeps): PretextServiceServer {
  const { registry, scheduler, log } = deps;

  const mustGet = (id: string, field = 'run_id'): Run => mustGetRun(registry, id, field);

  /** Resolves once the run reaches a terminal state (or the call ends). */
  const waitTerminal = (runId: string, call: ServerUnaryCall<unknown, unknown>): Promise<Run> =>
    new Promise((resolve, reject) => {
      const check = () => {
        const run = registry.get(runId);
        if (run && TERMINAL_STATES.has(run.state)) {
          cleanup();
          resolve(run);
        }
      };
      const unsubscribe = deps.events.subscribe((e) => {
        if (e.runId === runId && e.payload?.$case === 'state') check();
      });
      const onCancel = () => {
        cleanup();
        reject(new RpcError(status.CANCELLED, 'the client cancelled the call'));
      };
      const untrack = deps.trackStream(() => {
        cleanup();
        reject(
          new RpcError(
            status.UNAVAILABLE,
            'the daemon is shutting down; the evaluation run continues after restart',
          ),
        );
      });
      const cleanup = () => {
        unsubscribe();
        untrack();
        call.off('cancelled', onCancel);
      };
      call.on('cancelled', onCancel);
      check();
    });

  return {
    ...modelsOutHandlers({ ...deps, toServiceError: (name, err) => toServiceError(log, name, err) }),
    ...datasetHandlers({ ...deps, toServiceError: (name, err) => toServiceError(log, name, err) }),
    getServerInfo: unary<GetServerInfoRequest, GetServerInfoResponse>(log, 'GetServerInfo', async () => ({
      version: VERSION,
      codeRevision: codeRevision(),
      hostname: os.hostname(),
      backends: await deps.probeBackends(),
      backend: deps.backend,
      maxConcurrentRuns: deps.maxConcurrentRuns,
      runningRuns: registry.countByState(RunState.RUN_STATE_RUNNING),
      queuedRuns: scheduler.queuedCount,
      datasets: datasetNames().map((n) => ({ name: n, ...deps.datasetStatus(n) })),
      pretextMethods: methodNames('pretext'),
      studyPresets: presetNames(),
      architectures: architectureNames(),
      startedAtUnixMs: deps.startedAt,
      lastSeq: deps.events.lastSeq(),
      nodeVersion: process.version,
      dataDir: deps.dataDir,
      disk: deps.disk.check(),
      stateDir: deps.stateDir,
      retention: deps.retention.policy,
      agents: deps.cluster?.agents() ?? [],
      queue: deps.cluster?.display ?? '',
    })),

    startPretext: unary<StartPretextRequest, StartPretextResponse>(log, 'StartPretext', (req) => {
      const spec = preparePretext(req.config, req.name);
      requireHostSupport(deps.backend, spec.config);
      if (req.validateOnly) return { run: previewRun(spec) };
      deps.disk.assertCanStart();
      const run = registry.create(spec);
      scheduler.kick();
      return { run: registry.get(run.id)! };
    }),

    startDownstream: unary<StartDownstreamRequest, StartDownstreamResponse>(log, 'StartDownstream', (req) => {
      const spec = prepareDownstream(registry, req.config, req.name);
      requireHostSupport(deps.backend, spec.config);
      if (req.validateOnly) return { run: previewRun(spec) };
      deps.disk.assertCanStart();
      const run = registry.create(spec);
      scheduler.kick();
      return { run: registry.get(run.id)! };
    }),

    evaluate: unary<EvaluateRequest, EvaluateResponse>(log, 'Evaluate', async (req, call) => {
      const spec = prepareEvaluate(registry, req.config, req.name);
      if (req.validateOnly) return { run: previewRun(spec), result: undefined };
      deps.disk.assertCanStart();
      const created = registry.create(spec);
      scheduler.kick();
      if (!req.wait) return { run: registry.get(created.id)!, result: undefined };
      const run = await waitTerminal(created.id, call as ServerUnaryCall<unknown, unknown>);
      return { run, result: run.result?.test ?? run.result?.validation };
    }),

    streamMetrics: (call: ServerWritableStream<StreamMetricsRequest, StreamMetricsResponse>) => {
      const req = call.request;
      try {
        if (req.runId && isStudyId(req.runId)) deps.studies.get(req.runId);
        else if (req.runId && isDatasetEventId(req.runId)) deps.datasets.checkEventId(req.runId);
        else if (req.runId) mustGet(req.runId);
        if (!Number.isSafeInteger(req.fromSeq) || req.fromSeq < 0)
          throw invalidArgument('from_seq must be >= 0');
      } catch (err) {
        call.emit('error', toServiceError(log, 'StreamMetrics', err));
        return;
      }
      serveStream(call, req, {
        events: deps.events,
        isTerminal: (id) => {
          if (isStudyId(id)) return deps.studies.get(id).finishedAtUnixMs > 0;
          // An import's events end with "done" or "failed"; a stream of one not running ends.
          if (isDatasetEventId(id)) return !deps.datasets.importing(id);
          const run = registry.get(id);
          return run !== undefined && TERMINAL_STATES.has(run.state);
        },
        lastStateSeq: (id) => registry.lastStateSeqOf(id),
        track: deps.trackStream,
      }).catch((err: unknown) => {
        log.error('stream failed', { error: String(err) });
        call.emit('error', toServiceError(log, 'StreamMetrics', err));
      });
    },

    getRun: unary<GetRunRequest, GetRunResponse>(log, 'GetRun', (req) => ({ run: mustGet(req.runId) })),

    listRuns: unary<ListRunsRequest, ListRunsResponse>(log, 'ListRuns', (req) => {
      if (req.limit > 1000) throw invalidArgument('limit must be at most 1000');
      const states = enumSet(req.states, RunState, 'states', 'state');
      const kinds = enumSet(req.kinds, RunKind, 'kinds', 'kind');
      if (req.parentRunId) checkId(req.parentRunId, 'parent_run_id');
      if (req.studyId) checkId(req.studyId, 'study_id', 'study');
      return {
        runs: registry.list({
          states,
          kinds,
          parentRunId: req.parentRunId,
          studyId: req.studyId,
          limit: req.limit || 100,
        }),
      };
    }),

    cancelRun: unary<CancelRunRequest, CancelRunResponse>(log, 'CancelRun', (req) => {
      const run = mustGet(req.runId);
      if (TERMINAL_STATES.has(run.state) && run.state !== RunState.RUN_STATE_INTERRUPTED) {
        throw failedPrecondition(
          `run ${run.id} already ended ${stateName(run.state)}; there is nothing to cancel`,
        );
      }
      if (run.state === RunState.RUN_STATE_INTERRUPTED) {
        registry.transition(run.id, RunState.RUN_STATE_CANCELLED, {
          from: [RunState.RUN_STATE_INTERRUPTED],
          message: 'cancelled while interrupted',
        });
      } else if (!scheduler.cancel(run.id)) {
        throw failedPrecondition(`run ${run.id} changed state while cancelling; look at it again`);
      }
      return { run: registry.get(run.id)! };
    }),

    startStudy: unary<StartStudyRequest, StartStudyResponse>(log, 'StartStudy', (req) => {
      // A dry run creates nothing, so a full disk does not stop it.
      if (!req.validateOnly) deps.disk.assertCanStart();
      return { study: deps.studies.start(req.config, req.name, req.validateOnly) };
    }),

    getStudy: unary<GetStudyRequest, GetStudyResponse>(log, 'GetStudy', (req) => ({
      study: deps.studies.get(req.studyId),
    })),

    listStudies: unary<ListStudiesRequest, ListStudiesResponse>(log, 'ListStudies', (req) => ({
      studies: deps.studies.list(req.limit),
    })),

    cancelStudy: unary<CancelStudyRequest, CancelStudyResponse>(log, 'CancelStudy', (req) => ({
      study: deps.studies.cancel(req.studyId),
    })),

    collectGarbage: unary<CollectGarbageRequest, CollectGarbageResponse>(log, 'CollectGarbage', (req) => {
      const p = req.policy;
      if (p && (p.lastCheckpointDays > 36_500 || p.stepEventsPerRun > 100_000_000)) {
        throw invalidArgument(
          'policy out of range: last_checkpoint_days ≤ 36500, step_events_per_run ≤ 100000000',
        );
      }
      return deps.retention.collect(req.dryRun, p);
    }),

    resumeRun: unary<ResumeRunRequest, ResumeRunResponse>(log, 'ResumeRun', (req) => {
      const run = mustGet(req.runId);
      if (run.state !== RunState.RUN_STATE_INTERRUPTED && run.state !== RunState.RUN_STATE_FAILED) {
        throw failedPrecondition(
          `run ${run.id} is ${stateName(run.state)}; only INTERRUPTED or FAILED runs can be resumed`,
        );
      }
      deps.disk.assertCanStart();
      registry.transition(run.id, RunState.RUN_STATE_QUEUED, {
        from: [RunState.RUN_STATE_INTERRUPTED, RunState.RUN_STATE_FAILED],
        message: 'queued to resume from its last checkpoint',
      });
      scheduler.kick();
      return { run: registry.get(run.id)! };
    }),
  };
}
