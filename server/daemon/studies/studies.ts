// Label-budget studies. A study is a set of ordinary runs (an optional pretext run, then one
// downstream run per budget × fold × arm) that go through the normal queue; the study itself
// only stores its config and derives everything else from its children, so it survives daemon
// restarts exactly as its runs do. Whenever a child changes state the study's aggregate is
// recomputed and published as a `study` event under the study's id.
import { type DownstreamConfig, Protocol, type Run, RunState } from '../../../gen/ts/pretext/v1/run.js';
import { type Study, StudyArm, StudyConfig, StudyState } from '../../../gen/ts/pretext/v1/study.js';
import type { Logger } from '../log.js';
import { type ResolvedStudy, resolveStudy } from '../../shared/contract/resolve.js';
import { failedPrecondition, invalidArgument, notFound } from '../rpc/errors.js';
import {
  checkId,
  checkName,
  downstreamRunSpec,
  mustGetRun,
  parentFactsOf,
  pretextRunSpec,
} from '../rpc/submit.js';
import type { Db } from '../runs/db.js';
import type { EventLog } from '../runs/event-log.js';
import { insertWithFreshId } from '../runs/ids.js';
import { FINAL_STATES, type RunConfig, type RunRegistry } from '../runs/registry.js';
import type { Scheduler } from '../runs/scheduler.js';
import { codeRevision } from '../../shared/version.js';
import { aggregate, type ChildOutcome } from './aggregate.js';

const FINAL_STUDY_STATES = new Set([
  StudyState.STUDY_STATE_SUCCEEDED,
  StudyState.STUDY_STATE_FAILED,
  StudyState.STUDY_STATE_CANCELLED,
]);

interface StudyRow {
  id: string;
  name: string;
  state: number;
  config_json: string;
  pretext_run_id: string;
  created_ms: number;
  finished_ms: number;
  error: string;
  code_revision: string;
}

export function armOf(config: DownstreamConfig): StudyArm {
  if (!config.pretextRunId) return StudyArm.STUDY_ARM_SL;
  return config.protocol === Protocol.PROTOCOL_LINEAR_PROBE
    ? StudyArm.STUDY_ARM_SSL_LINEAR_PROBE
    : StudyArm.STUDY_ARM_SSL_FINE_TUNE;
}

export function isStudyId(id: string): boolean {
  return id.startsWith('s-');
}

export class Studies {
  constructor(
    private readonly db: Db,
    private readonly registry: RunRegistry,
    private readonly events: EventLog,
    private readonly scheduler: Scheduler,
    private readonly log: Logger,
    /** Throws for a resolved run this host cannot train (bf16 here without hardware support). */
    private readonly requireHostSupport: (config: RunConfig) => void = () => {},
  ) {
    // Children changing state move their study along. Deferred: appending an event from inside
    // a publish would reach later listeners before the event being published.
    events.subscribe((e) => {
      if (e.payload?.$case !== 'state') return;
      const run = registry.get(e.runId);
      if (run?.studyId) this.refreshSoon(run.studyId);
    });
  }

  /** Brings every unfinished study up to date (after a restart). */
  reconcile(): void {
    const rows = this.db
      .prepare('SELECT id FROM studies WHERE state = ?')
      .all(StudyState.STUDY_STATE_RUNNING) as Array<{
      id: string;
    }>;
    for (const r of rows) this.refresh(r.id);
  }

  /**
   * Resolves the whole study (every arm × budget × fold) through the contract, then creates its
   * pretext run, its children and its row in one transaction. With `validateOnly` it answers
   * with the study as it would be stored and creates nothing.
   */
  start(rawConfig: StudyConfig | undefined, rawName: string, validateOnly = false): Study {
    const name = checkName(rawName);
    const existing = rawConfig?.pretextRunId
      ? mustGetRun(this.registry, rawConfig.pretextRunId, 'config.pretext_run_id')
      : undefined;
    const resolved = resolveStudy(
      rawConfig,
      existing ? parentFactsOf(existing, 'config.pretext_run_id') : undefined,
    );
    // Checked on what would be stored, before anything exists.
    if (resolved.pretext) this.requireHostSupport({ $case: 'pretext', pretext: resolved.pretext });
    for (const c of resolved.children) this.requireHostSupport({ $case: 'downstream', downstream: c.config });
    if (validateOnly) return this.preview(resolved, name);

    // One transaction: the study row, its pretext run and every child, or nothing at all.
    const { id, pretextRunId } = this.registry.atomically(() => {
      const id = insertWithFreshId(this.registry.ids, 's', (id) => {
        this.db
          .prepare(
            `INSERT INTO studies (id, name, state, config_json, pretext_run_id, created_ms, code_revision)
             VALUES (?, ?, ?, '{}', '', ?, ?)`,
          )
          .run(id, name, StudyState.STUDY_STATE_RUNNING, Date.now(), codeRevision());
        return id;
      });
      const label = name || id;
      const pretext = resolved.pretext
        ? this.registry.create(pretextRunSpec(resolved.pretext, `${label} pretext`, id))
        : (existing as Run);
      for (const c of resolved.children) {
        const config = c.arm === StudyArm.STUDY_ARM_SL ? c.config : { ...c.config, pretextRunId: pretext.id };
        this.registry.create(
          downstreamRunSpec(config, `${label} n=${c.nLabels} fold=${c.fold} ${StudyArm[c.arm]}`, id),
        );
      }
      this.db
        .prepare('UPDATE studies SET config_json = ?, pretext_run_id = ? WHERE id = ?')
        .run(
          JSON.stringify(StudyConfig.toJSON({ ...resolved.config, pretextRunId: pretext.id })),
          pretext.id,
          id,
        );
      return { id, pretextRunId: pretext.id };
    });
    this.log.info('study started', { study: id, children: resolved.children.length, pretext: pretextRunId });
    this.scheduler.kick();
    return this.refresh(id)!;
  }

  /** The study a validate_only StartStudy would create: resolved config, planned runs, no id. */
  private preview(resolved: ResolvedStudy, name: string): Study {
    const config = resolved.config;
    const { cells, gains } = aggregate([], config.labelBudgets, config.arms, config.folds);
    return {
      id: '',
      name,
      state: StudyState.STUDY_STATE_UNSPECIFIED,
      config,
      pretextRunId: config.pretextRunId,
      cells,
      gains,
      createdAtUnixMs: 0,
      finishedAtUnixMs: 0,
      error: '',
      runsTotal: resolved.children.length + (resolved.pretext ? 1 : 0),
      runsEnded: 0,
      codeRevision: codeRevision(),
    };
  }

  get(id: string): Study {
    const row = this.row(checkId(id, 'study_id', 'study'));
    if (!row) throw notFound(`study ${id} does not exist (ListStudies shows the studies this daemon knows)`);
    return this.toStudy(row);
  }

  list(limit: number): Study[] {
    if (limit > 1000) throw invalidArgument('limit must be at most 1000');
    const rows = this.db
      .prepare('SELECT * FROM studies ORDER BY created_ms DESC, rowid DESC LIMIT ?')
      .all(limit || 100) as StudyRow[];
    return rows.map((r) => this.toStudy(r));
  }

  cancel(id: string): Study {
    const study = this.get(id);
    if (FINAL_STUDY_STATES.has(study.state)) {
      throw failedPrecondition(
        `study ${id} already ended ${StudyState[study.state].replace('STUDY_STATE_', '')}`,
      );
    }
    this.setState(id, StudyState.STUDY_STATE_CANCELLED, 'cancelled');
    for (const run of this.children(id)) {
      if (FINAL_STATES.has(run.state)) continue;
      if (run.state === RunState.RUN_STATE_INTERRUPTED) {
        this.registry.transition(run.id, RunState.RUN_STATE_CANCELLED, {
          from: [RunState.RUN_STATE_INTERRUPTED],
          message: 'study cancelled',
        });
      } else {
        this.scheduler.cancel(run.id);
      }
    }
    return this.refresh(id)!;
  }

  private row(id: string): StudyRow | undefined {
    return this.db.prepare('SELECT * FROM studies WHERE id = ?').get(id) as StudyRow | undefined;
  }

  private children(id: string): Run[] {
    return this.registry.list({ studyId: id, limit: 100_000 });
  }

  private setState(id: string, state: StudyState, error: string): void {
    this.db
      .prepare('UPDATE studies SET state = ?, error = ?, finished_ms = ? WHERE id = ?')
      .run(state, error, FINAL_STUDY_STATES.has(state) ? Date.now() : 0, id);
  }

  private readonly pending = new Set<string>();

  private refreshSoon(id: string): void {
    if (this.pending.has(id)) return;
    this.pending.add(id);
    setImmediate(() => {
      this.pending.delete(id);
      if (this.db.open) this.refresh(id);
    });
  }

  /** Recomputes a study from its children, finishes it when they all ended, publishes it. */
  refresh(id: string): Study | undefined {
    const row = this.row(id);
    if (!row) return undefined;
    let study = this.toStudy(row);
    if (study.state === StudyState.STUDY_STATE_RUNNING && study.runsEnded === study.runsTotal) {
      const failed = this.children(id).filter((r) => r.state !== RunState.RUN_STATE_SUCCEEDED);
      if (failed.length === 0) this.setState(id, StudyState.STUDY_STATE_SUCCEEDED, '');
      else {
        this.setState(
          id,
          StudyState.STUDY_STATE_FAILED,
          `${failed.length} of ${study.runsTotal} runs did not succeed: ${failed
            .slice(0, 5)
            .map((r) => `${r.id} (${RunState[r.state].replace('RUN_STATE_', '')})`)
            .join(', ')}`,
        );
      }
      study = this.toStudy(this.row(id)!);
    }
    const event = this.db.transaction(() => this.events.append(id, { $case: 'study', study: { study } }))();
    this.events.publish(event);
    return study;
  }

  private toStudy(row: StudyRow): Study {
    const config = StudyConfig.fromJSON(JSON.parse(row.config_json));
    const children = this.children(row.id);
    const outcomes: ChildOutcome[] = [];
    for (const run of children) {
      if (run.config?.$case !== 'downstream') continue;
      const c = run.config.downstream;
      outcomes.push({
        runId: run.id,
        nLabels: c.nLabels,
        fold: c.fold,
        arm: armOf(c),
        status:
          run.state === RunState.RUN_STATE_SUCCEEDED
            ? 'succeeded'
            : FINAL_STATES.has(run.state)
              ? 'failed'
              : 'pending',
        testAccuracy: run.result?.test?.accuracy,
        testLoss: run.result?.test?.loss,
        labelsUsed: run.labelsUsed,
      });
    }
    const { cells, gains } = aggregate(outcomes, config.labelBudgets, config.arms, config.folds);
    return {
      id: row.id,
      name: row.name,
      state: row.state as StudyState,
      config,
      pretextRunId: row.pretext_run_id,
      cells,
      gains,
      createdAtUnixMs: row.created_ms,
      finishedAtUnixMs: row.finished_ms,
      error: row.error,
      runsTotal: children.length,
      runsEnded: children.filter((r) => FINAL_STATES.has(r.state)).length,
      codeRevision: row.code_revision,
    };
  }
}
