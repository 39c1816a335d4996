// `pretext study start|list|show|watch|cancel|report|compare`: label-budget studies.
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { type Study, StudyArm, Study as StudyMsg, StudyState } from '../../gen/ts/pretext/v1/study.js';
import type { StartStudyRequest } from '../../gen/ts/pretext/v1/service.js';
import { collectStudyReportInput } from '../../clients/ts/report/collect.js';
import { compareStudies } from '../../clients/ts/report/compare.js';
import { markdownTable, tableRows, writeStudyReport } from '../../clients/ts/report/report.js';
import type { Connection } from '../../clients/ts/connection.js';
import { CliError, ExitCode } from '../../clients/ts/exit-codes.js';
import { follow } from '../../clients/ts/follow.js';
import { formatTime } from '../../clients/ts/format.js';
import type { Io } from '../io.js';
import { json } from './read.js';

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
  conn: Connection,
  io: Io,
  req: StartStudyRequest,
  opts: { json?: boolean },
): Promise<number> {
  const { study } = await conn.call(conn.client.startStudy, req, 60_000);
  if (!study) throw new CliError('the daemon returned no study', ExitCode.FAILURE);
  if (req.validateOnly) {
    // --dry-run: the daemon's verdict, and the study as it would store it (preset expanded).
    io.out(json({ valid: true, study: StudyMsg.toJSON(study) }));
    return ExitCode.OK;
  }
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

export async function studyCompare(
  conn: Connection,
  io: Io,
  ids: string[],
  opts: { out?: string },
): Promise<number> {
  const studies: Study[] = [];
  for (const id of ids) {
    const { study } = await conn.call(conn.client.getStudy, { studyId: id });
    if (!study) throw new CliError(`study ${id} not returned`, ExitCode.FAILURE);
    studies.push(study);
  }
  const { header, rows, csv } = compareStudies(studies);
  const table = markdownTable(header, rows);
  io.out(`${table}\n`);
  if (opts.out) {
    const dir = path.resolve(opts.out);
    mkdirSync(dir, { recursive: true });
    writeFileSync(path.join(dir, 'comparison.md'), `${table}\n`);
    writeFileSync(path.join(dir, 'comparison.csv'), `${csv.map((r) => r.join(',')).join('\n')}\n`);
    io.err(`wrote comparison.md, comparison.csv to ${dir}\n`);
  }
  return ExitCode.OK;
}
