// `pretext study start|list|show|watch|cancel|report`: label-budget studies.
import path from 'node:path';
import { type Study, StudyArm, Study as StudyMsg, StudyState } from '../../gen/ts/pretext/v1/study.js';
import { StartStudyRequest } from '../../gen/ts/pretext/v1/service.js';
import { collectStudyReportInput } from '../../clients/ts/report/collect.js';
import { STUDY_PRESETS } from '../../server/shared/contract/presets.js';
import { markdownTable, tableRows, writeStudyReport } from '../../clients/ts/report/report.js';
import type { Connection } from '../../clients/ts/connection.js';
import { CliError, ExitCode } from '../../clients/ts/exit-codes.js';
import { follow } from '../../clients/ts/follow.js';
import { formatTime } from '../../clients/ts/format.js';
import type { Io } from '../io.js';
import { json } from './read.js';

const ARMS: Record<string, StudyArm> = {
  sl: StudyArm.STUDY_ARM_SL,
  'ssl-fine-tune': StudyArm.STUDY_ARM_SSL_FINE_TUNE,
  'ssl-linear-probe': StudyArm.STUDY_ARM_SSL_LINEAR_PROBE,
};

export interface StudyStartOptions {
  preset?: string;
  from?: string;
  budgets?: string[];
  folds?: string;
  arms?: string[];
  epochs?: string;
  pretextEpochs?: string;
  testLimit?: string;
  name?: string;
  json?: boolean;
  dryRun?: boolean;
}

const bad = (msg: string) => new CliError(msg, ExitCode.INVALID_ARGUMENT);

function positiveInt(value: string, flag: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n <= 0) throw bad(`${flag} "${value}" must be a positive integer`);
  return n;
}

/** Builds the StartStudy request from a preset plus overrides; validates before sending. */
export function studyRequest(opts: StudyStartOptions): StartStudyRequest {
  const presetName = opts.preset ?? 'cpu-quick';
  const preset = STUDY_PRESETS[presetName];
  if (!preset)
    throw bad(`--preset "${presetName}" is unknown; use one of: ${Object.keys(STUDY_PRESETS).join(', ')}`);
  const config = structuredClone(preset);
  if (opts.from) {
    config.pretextRunId = opts.from;
    config.pretext = undefined;
  }
  if (opts.budgets) config.labelBudgets = opts.budgets.map((b) => positiveInt(b, '--budgets'));
  if (opts.folds) config.folds = positiveInt(opts.folds, '--folds');
  if (opts.arms) {
    config.arms = opts.arms.map((a) => {
      const arm = ARMS[a];
      if (arm === undefined) throw bad(`--arms "${a}" is unknown; use: ${Object.keys(ARMS).join(', ')}`);
      return arm;
    });
  }
  if (opts.epochs && config.downstream?.training)
    config.downstream.training.epochs = positiveInt(opts.epochs, '--epochs');
  if (opts.pretextEpochs) {
    if (!config.pretext?.training) throw bad('--pretext-epochs needs a pretext run to start (not --from)');
    config.pretext.training.epochs = positiveInt(opts.pretextEpochs, '--pretext-epochs');
  }
  if (opts.testLimit !== undefined && config.downstream) {
    const n = Number(opts.testLimit);
    if (!Number.isInteger(n) || n < 0) throw bad(`--test-limit "${opts.testLimit}" must be an integer >= 0`);
    config.downstream.testLimit = n;
  }
  return StartStudyRequest.fromPartial({ config, name: opts.name ?? '' });
}

const armName = (a: StudyArm) => StudyArm[a].replace('STUDY_ARM_', '');
const stateName = (s: StudyState) => StudyState[s].replace('STUDY_STATE_', '');

function describe(study: Study): string {
  const { header, rows } = tableRows(study);
  return [
    `study ${study.id}${study.name ? ` (${study.name})` : ''}: ${stateName(study.state)}, ${study.runsEnded}/${study.runsTotal} runs ended`,
    `pretext run ${study.pretextRunId}; arms ${(study.config?.arms ?? []).map(armName).join(', ')}; started ${formatTime(study.createdAtUnixMs)}`,
    '',
    markdownTable(header, rows),
    ...(study.error ? ['', study.error] : []),
  ].join('\n');
}

export async function studyStart(
  conn: Connection | null,
  io: Io,
  req: StartStudyRequest,
  opts: StudyStartOptions,
): Promise<number> {
  if (!conn) {
    io.out(json(StartStudyRequest.toJSON(req)));
    return ExitCode.OK;
  }
  const { study } = await conn.call(conn.client.startStudy, req, 60_000);
  if (!study) throw new CliError('the daemon returned no study', ExitCode.FAILURE);
  io.out(opts.json ? json(StudyMsg.toJSON(study)) : `${study.id}\n`);
  return ExitCode.OK;
}

export async function studyList(conn: Connection, io: Io, opts: { json?: boolean }): Promise<number> {
  const { studies } = await conn.call(conn.client.listStudies, { limit: 100 });
  if (opts.json) {
    io.out(json(studies.map((s) => StudyMsg.toJSON(s))));
    return ExitCode.OK;
  }
  for (const s of studies) {
    io.out(
      `${s.id}  ${stateName(s.state).padEnd(9)}  ${s.runsEnded}/${s.runsTotal} runs  ${formatTime(s.createdAtUnixMs)}  ${s.name}\n`,
    );
  }
  return ExitCode.OK;
}

export async function studyShow(
  conn: Connection,
  io: Io,
  id: string,
  opts: { json?: boolean },
): Promise<number> {
  const { study } = await conn.call(conn.client.getStudy, { studyId: id });
  if (!study) throw new CliError(`study ${id} not returned`, ExitCode.FAILURE);
  io.out(opts.json ? json(StudyMsg.toJSON(study)) : `${describe(study)}\n`);
  return ExitCode.OK;
}

/** Follows a study: prints the table each time a cell changes; exits with the study's outcome. */
export async function studyWatch(
  conn: Connection,
  io: Io,
  id: string,
  opts: { json?: boolean },
): Promise<number> {
  let last: Study | undefined;
  let shown = -1;
  const follower = follow(conn, {
    runId: id,
    onEvent: (e) => {
      if (e.payload?.$case !== 'study' || !e.payload.study.study) return;
      last = e.payload.study.study;
      if (opts.json) io.out(`${JSON.stringify(StudyMsg.toJSON(last))}\n`);
      else if (last.runsEnded !== shown) {
        shown = last.runsEnded;
        io.out(`\n${describe(last)}\n`);
      }
    },
    stopAfter: (e) => e.payload?.$case === 'study' && (e.payload.study.study?.finishedAtUnixMs ?? 0) > 0,
  });
  await follower.done;
  if (!last) return ExitCode.FAILURE;
  if (last.state === StudyState.STUDY_STATE_SUCCEEDED) return ExitCode.OK;
  return last.state === StudyState.STUDY_STATE_CANCELLED ? ExitCode.CANCELLED : ExitCode.FAILURE;
}

export async function studyCancel(
  conn: Connection,
  io: Io,
  id: string,
  opts: { json?: boolean },
): Promise<number> {
  const { study } = await conn.call(conn.client.cancelStudy, { studyId: id });
  if (!study) throw new CliError(`study ${id} not returned`, ExitCode.FAILURE);
  io.out(opts.json ? json(StudyMsg.toJSON(study)) : `${study.id} ${stateName(study.state)}\n`);
  return ExitCode.OK;
}

export async function studyReport(
  conn: Connection,
  io: Io,
  id: string,
  opts: { out?: string },
): Promise<number> {
  const dir = path.resolve(opts.out ?? `study-${id}`);
  const input = await collectStudyReportInput(conn.client, id, conn.metadata());
  const { files } = await writeStudyReport(input, dir);
  io.out(`${path.join(dir, 'report.md')}\n`);
  io.err(`wrote ${files.join(', ')} to ${dir}\n`);
  return ExitCode.OK;
}
