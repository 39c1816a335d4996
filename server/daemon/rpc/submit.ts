// Creating runs from requests: shared by the Start* RPCs and by studies, so a study's child
// runs are validated exactly like runs a user starts by hand.
import {
  type DownstreamConfig,
  type PretextConfig,
  type Run,
  RunKind,
  RunState,
} from '../../../gen/ts/pretext/v1/run.js';
import { FINAL_STATES, type RunRegistry, stateName } from '../runs/registry.js';
import { codeRevision } from '../../shared/version.js';
import { completeDownstream, completePretext, type ParentFacts, PRETEXT_METHODS } from './defaults.js';
import { failedPrecondition, invalidArgument, notFound } from './errors.js';

const RUN_ID = /^[A-Za-z0-9._-]{1,64}$/;

export function checkId(id: string, field: string, what = 'run'): string {
  if (!id) throw invalidArgument(`${field} is required`);
  if (!RUN_ID.test(id)) throw invalidArgument(`${field} "${id.slice(0, 80)}" is not a valid ${what} id`);
  return id;
}

export function checkName(n: string): string {
  if (n.length > 200) throw invalidArgument('name is longer than 200 characters');
  return n;
}

export function mustGetRun(registry: RunRegistry, id: string, field = 'run_id'): Run {
  const run = registry.get(checkId(id, field));
  if (!run) throw notFound(`run ${id} does not exist (ListRuns shows the runs this daemon knows)`);
  return run;
}

export function pretextFacts(run: Run): ParentFacts {
  if (run.config?.$case !== 'pretext') {
    throw invalidArgument(`run ${run.id} is not a pretext run (it is a ${run.method} run)`);
  }
  const c: PretextConfig = run.config.pretext;
  return { dataset: c.dataset, architecture: c.architecture, depth: c.depth };
}

/** Validates a pretext config (filling defaults) without creating anything. */
export function preparePretext(config: PretextConfig | undefined): PretextConfig {
  return completePretext(config, PRETEXT_METHODS);
}

export function submitPretext(registry: RunRegistry, config: PretextConfig, name: string, studyId = ''): Run {
  return registry.create({
    kind: RunKind.RUN_KIND_PRETEXT,
    method: config.method,
    name: checkName(name),
    config: { $case: 'pretext', pretext: config },
    dataset: config.dataset,
    parentRunId: '',
    studyId,
    seed: config.training!.seed,
    codeRevision: codeRevision(),
  });
}

/** Validates a downstream config against its pretext run (if any); returns it completed. */
export function prepareDownstream(
  registry: RunRegistry,
  config: DownstreamConfig | undefined,
): { config: DownstreamConfig; parent?: Run } {
  let parent: Run | undefined;
  if (config?.pretextRunId) {
    parent = mustGetRun(registry, config.pretextRunId, 'config.pretext_run_id');
    if (FINAL_STATES.has(parent.state) && parent.state !== RunState.RUN_STATE_SUCCEEDED) {
      throw failedPrecondition(
        `pretext run ${parent.id} ended ${stateName(parent.state)}; start from a SUCCEEDED pretext run (or resume this one first)`,
      );
    }
  }
  return { config: completeDownstream(config, parent ? pretextFacts(parent) : undefined), parent };
}

export function submitDownstream(
  registry: RunRegistry,
  config: DownstreamConfig,
  parent: Run | undefined,
  name: string,
  studyId = '',
): Run {
  return registry.create({
    kind: RunKind.RUN_KIND_DOWNSTREAM,
    method: 'supervised',
    name: checkName(name),
    config: { $case: 'downstream', downstream: config },
    dataset: config.dataset,
    parentRunId: parent?.id ?? '',
    studyId,
    seed: config.training!.seed,
    codeRevision: codeRevision(),
  });
}
