// Creating runs from requests: shared by the Start* RPCs and by studies, so a study's child
// runs are resolved exactly like runs a user starts by hand. Registry facts (does the parent
// exist, did it succeed) are checked here; every setting is resolved by the contract.
import {
  type CheckpointChoice,
  type DownstreamConfig,
  type EvaluateConfig,
  type PretextConfig,
  type Run,
  RunKind,
  RunState,
} from '../../../gen/ts/pretext/v1/run.js';
import { CHECKPOINTS, LIMITS } from '../../shared/contract/catalog.js';
import { DOWNSTREAM_METHOD } from '../../shared/contract/methods.js';
import {
  type PretextFacts,
  pretextFacts,
  resolveDownstream,
  resolveEvaluate,
  resolvePretext,
} from '../../shared/contract/resolve.js';
import { quote } from '../../shared/contract/verdict.js';
import { labelsUsedOf } from '../../shared/contract/selection.js';
import { precisionUnavailable } from '../../shared/backends/precision.js';
import { codeRevision } from '../../shared/version.js';
import { FINAL_STATES, type NewRun, type RunConfig, type RunRegistry, stateName } from '../runs/registry.js';
import { failedPrecondition, invalidArgument, notFound } from './errors.js';

const RUN_ID = /^[A-Za-z0-9._-]{1,64}$/;

export function checkId(id: string, field: string, what = 'run'): string {
  if (!id) throw invalidArgument(`${field} is required`);
  if (!RUN_ID.test(id)) throw invalidArgument(`${field} ${quote(id)} is not a valid ${what} id`);
  return id;
}

export function checkName(n: string): string {
  if (n.length > LIMITS.name.maxLength) {
    throw invalidArgument(`name is longer than ${LIMITS.name.maxLength} characters`);
  }
  return n;
}

export function mustGetRun(registry: RunRegistry, id: string, field = 'run_id'): Run {
  const run = registry.get(checkId(id, field));
  if (!run) throw notFound(`run ${id} does not exist (ListRuns shows the runs this daemon knows)`);
  return run;
}

/** The facts a downstream run takes from its pretext run; refuses anything else. */
export function parentFactsOf(run: Run, field: string): PretextFacts {
  if (run.config?.$case !== 'pretext') {
    throw invalidArgument(`${field}: run ${run.id} is not a pretext run (it is a ${run.method} run)`);
  }
  if (FINAL_STATES.has(run.state) && run.state !== RunState.RUN_STATE_SUCCEEDED) {
    throw failedPrecondition(
      `pretext run ${run.id} ended ${stateName(run.state)}; start from a SUCCEEDED pretext run (or resume this one first)`,
    );
  }
  return pretextFacts(run.config.pretext);
}

/** A finished run must still hold the checkpoint asked for (retention may have removed `last`). */
function requireCheckpoint(run: Run, choice: CheckpointChoice): void {
  if (!FINAL_STATES.has(run.state)) return; // it is still writing its checkpoints
  const name = CHECKPOINTS.get(choice);
  if (name && !run.artifacts.some((a) => a.name === name)) {
    throw failedPrecondition(
      `run ${run.id} has no '${name}' checkpoint any more (retention removes 'last' of finished runs); use checkpoint best`,
    );
  }
}

/** A run as the registry will store it (what validate_only answers with). */
export function previewRun(run: NewRun): Run {
  return {
    id: '',
    name: run.name,
    kind: run.kind,
    method: run.method,
    state: RunState.RUN_STATE_UNSPECIFIED,
    config: run.config,
    createdAtUnixMs: 0,
    startedAtUnixMs: 0,
    finishedAtUnixMs: 0,
    error: '',
    parentRunId: run.parentRunId,
    backend: '',
    backendDetail: '',
    seed: run.seed,
    dataChecksum: '',
    codeRevision: run.codeRevision,
    progress: undefined,
    result: undefined,
    artifacts: [],
    attempts: 0,
    lastSeq: 0,
    dataset: run.dataset,
    studyId: run.studyId ?? '',
    labelsUsed: labelsUsedOf(run.config),
    attemptHistory: [],
  };
}

export function pretextRunSpec(config: PretextConfig, name: string, studyId = ''): NewRun {
  return {
    kind: RunKind.RUN_KIND_PRETEXT,
    method: config.method,
    name: checkName(name),
    config: { $case: 'pretext', pretext: config },
    dataset: config.dataset,
    parentRunId: '',
    studyId,
    seed: config.training?.seed ?? 0,
    codeRevision: codeRevision(),
  };
}

export function downstreamRunSpec(config: DownstreamConfig, name: string, studyId = ''): NewRun {
  return {
    kind: RunKind.RUN_KIND_DOWNSTREAM,
    method: DOWNSTREAM_METHOD,
    name: checkName(name),
    config: { $case: 'downstream', downstream: config },
    dataset: config.dataset,
    parentRunId: config.pretextRunId,
    studyId,
    seed: config.training?.seed ?? 0,
    codeRevision: codeRevision(),
  };
}

/** A StartPretext request resolved into the run it creates. */
export function preparePretext(raw: PretextConfig | undefined, name: string): NewRun {
  return pretextRunSpec(resolvePretext(raw), name);
}

/** A StartDownstream request resolved against its pretext run (if any). */
export function prepareDownstream(
  registry: RunRegistry,
  raw: DownstreamConfig | undefined,
  name: string,
): NewRun {
  const parentRun = raw?.pretextRunId
    ? mustGetRun(registry, raw.pretextRunId, 'config.pretext_run_id')
    : undefined;
  const parent = parentRun ? parentFactsOf(parentRun, 'config.pretext_run_id') : undefined;
  const config = resolveDownstream(raw, parent);
  if (parentRun) requireCheckpoint(parentRun, config.checkpoint);
  return downstreamRunSpec(config, name);
}

/** An Evaluate request resolved against its target run. */
export function prepareEvaluate(
  registry: RunRegistry,
  raw: EvaluateConfig | undefined,
  name: string,
): NewRun {
  const target = raw?.targetRunId ? mustGetRun(registry, raw.targetRunId, 'config.target_run_id') : undefined;
  if (!target) throw invalidArgument('config.target_run_id is required');
  const config = resolveEvaluate(raw, {
    method: target.method,
    selection: target.config?.$case === 'downstream' ? target.config.downstream.selection : undefined,
  });
  if (target.kind === RunKind.RUN_KIND_EVALUATE) {
    throw invalidArgument(`run ${target.id} is an evaluation; evaluate a pretext or downstream run`);
  }
  if (
    FINAL_STATES.has(target.state) &&
    target.state !== RunState.RUN_STATE_SUCCEEDED &&
    target.artifacts.length === 0
  ) {
    throw failedPrecondition(
      `run ${target.id} ended ${stateName(target.state)} without writing a checkpoint`,
    );
  }
  return {
    kind: RunKind.RUN_KIND_EVALUATE,
    method: 'evaluate',
    name: checkName(name),
    config: { $case: 'evaluate', evaluate: config },
    dataset: target.dataset,
    parentRunId: target.id,
    seed: 0,
    codeRevision: codeRevision(),
  };
}

/** A resolved config this host cannot run (bf16 without AVX512-BF16/AMX) is FAILED_PRECONDITION. */
export function requireHostSupport(backend: string, config: RunConfig): void {
  const training =
    config.$case === 'evaluate'
      ? undefined
      : (config.$case === 'pretext' ? config.pretext : config.downstream).training;
  const why = precisionUnavailable(training?.precision ?? '', backend);
  if (why) throw failedPrecondition(`config.training.precision: ${why}`);
}
