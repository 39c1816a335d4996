// Read-only commands: info, runs, show.
import { type Run, Run as RunMsg, type RunKind, RunState } from '../../gen/ts/pretext/v1/run.js';
import { GetServerInfoResponse } from '../../gen/ts/pretext/v1/service.js';
import type { Connection } from '../../clients/ts/connection.js';
import { CliError, ExitCode } from '../../clients/ts/exit-codes.js';
import {
  bestMetric,
  configSummary,
  evalSummary,
  formatBytes,
  formatDuration,
  formatPercent,
  formatTime,
  isTerminal,
  kindName,
  parseKind,
  parseState,
  progressBar,
  runDescription,
  stateName,
  table,
} from '../../clients/ts/format.js';
import type { Io } from '../io.js';
import { agentLine, attemptLine } from '../../clients/ts/cluster.js';

export const json = (v: unknown): string => `${JSON.stringify(v, null, 2)}\n`;

export async function infoCommand(conn: Connection, io: Io, opts: { json?: boolean }): Promise<number> {
  const info = await conn.call(conn.client.getServerInfo, {});
  if (opts.json) {
    io.out(json(GetServerInfoResponse.toJSON(info)));
    return ExitCode.OK;
  }
  const rows: string[][] = [
    ['daemon', `pretextd ${info.version} (${info.codeRevision || 'unknown revision'}) on ${info.hostname}`],
    ['address', conn.opts.addr + (conn.opts.tlsCa ? ' (TLS)' : '')],
    ['node', info.nodeVersion],
    ['started', formatTime(info.startedAtUnixMs)],
    ['backend', info.backend],
    ...info.backends.map((b) => [
      `  ${b.name}`,
      [
        b.available ? 'available' : `unavailable${b.reason ? ` (${b.reason})` : ''}`,
        b.detail ? `adapter: ${b.detail}` : '',
      ]
        .filter(Boolean)
        .join('; '),
    ]),
    ['data dir', info.dataDir],
    ...info.datasets.map((d) => [`  ${d.name}`, d.present ? `present (${d.path})` : `absent: ${d.hint}`]),
    ['methods', info.pretextMethods.join(', ')],
    [
      'runs',
      `${info.runningRuns} running, ${info.queuedRuns} queued, at most ${info.maxConcurrentRuns} at once`,
    ],
    ['last event', String(info.lastSeq)],
    [
      'state dir',
      `${info.stateDir}${info.disk ? ` (${formatBytes(info.disk.stateDirFreeBytes)} free)` : ''}`,
    ],
    ...(info.disk
      ? [
          ['data free', formatBytes(info.disk.dataDirFreeBytes)],
          [
            'disk guard',
            info.disk.minFreeBytes === 0
              ? 'off'
              : info.disk.startingPaused
                ? 'NOT STARTING RUNS (see below)'
                : `runs start while ${formatBytes(info.disk.minFreeBytes)} or more are free`,
          ],
        ]
      : []),
    [
      'retention',
      [
        info.retention?.lastCheckpointDays
          ? `'last' dropped ${info.retention.lastCheckpointDays} days after a run ends`
          : '',
        info.retention?.stepEventsPerRun
          ? `${info.retention.stepEventsPerRun} step events per finished run`
          : '',
      ]
        .filter(Boolean)
        .join('; ') || 'keep everything',
    ],
  ];
  if (info.queue) {
    rows.push(['queue', `${info.queue} (coordinator: runs train on agents)`]);
    rows.push(['agents', info.agents.length ? `${info.agents.length}` : 'none registered yet']);
    for (const a of info.agents) rows.push([`  ${a.id}`, agentLine(a)]);
  }
  io.out(`${table(rows, 100)}\n`);
  if (info.disk?.startingPaused) io.out(`\nwarning: ${info.disk.reason}\n`);
  return ExitCode.OK;
}

export interface RunsOptions {
  state?: string[];
  kind?: string[];
  limit?: string;
  parent?: string;
  study?: string;
  json?: boolean;
}

/** `--state running,queued` and repeated `--state` both work. */
function splitList(v: string[] | undefined): string[] {
  return (v ?? [])
    .flatMap((s) => s.split(','))
    .map((s) => s.trim())
    .filter(Boolean);
}

export async function runsCommand(conn: Connection, io: Io, opts: RunsOptions): Promise<number> {
  const errors: string[] = [];
  const states = splitList(opts.state).map((s) => {
    const v = parseState(s);
    if (v === undefined || v === 0)
      errors.push(`unknown state "${s}" (queued, running, succeeded, failed, cancelled, interrupted)`);
    return v as RunState;
  });
  const kinds = splitList(opts.kind).map((s) => {
    const v = parseKind(s);
    if (v === undefined || v === 0) errors.push(`unknown kind "${s}" (pretext, downstream, evaluate)`);
    return v as RunKind;
  });
  const limit = opts.limit === undefined ? 0 : Number(opts.limit);
  if (!Number.isInteger(limit) || limit < 1 || limit > 1000) {
    if (opts.limit !== undefined) errors.push(`--limit ${opts.limit}: expected 1..1000`);
  }
  if (errors.length) throw new CliError(errors.join('\n'), ExitCode.INVALID_ARGUMENT);
  const res = await conn.call(conn.client.listRuns, {
    states,
    kinds,
    limit: Number.isInteger(limit) ? limit : 0,
    parentRunId: opts.parent ?? '',
    studyId: opts.study ?? '',
  });
  if (opts.json) {
    io.out(json({ runs: res.runs.map((r) => RunMsg.toJSON(r)) }));
    return ExitCode.OK;
  }
  if (res.runs.length === 0) {
    io.out('no runs\n');
    return ExitCode.OK;
  }
  const rows = [['ID', 'STATE', 'KIND', 'METHOD', 'DATASET', 'PROGRESS', 'ETA', 'BEST', 'CREATED', 'NAME']];
  for (const r of res.runs) rows.push(runRow(r));
  io.out(`${table(rows)}\n`);
  return ExitCode.OK;
}

function runRow(r: Run): string[] {
  const p = r.progress;
  const running = !isTerminal(r.state) && p && p.totalSteps > 0;
  return [
    r.id,
    stateName(r.state),
    kindName(r.kind),
    r.method,
    r.dataset,
    running
      ? `${progressBar(p.fraction, 10)} ${formatPercent(p.fraction, 0)}`
      : r.state === RunState.RUN_STATE_SUCCEEDED
        ? 'done'
        : '-',
    running ? formatDuration(p.etaSeconds) : '-',
    bestMetric(r),
    formatTime(r.createdAtUnixMs),
    r.name,
  ];
}

export async function showCommand(
  conn: Connection,
  io: Io,
  id: string,
  opts: { json?: boolean },
): Promise<number> {
  const { run } = await conn.call(conn.client.getRun, { runId: id });
  if (!run) throw new CliError(`run ${id} does not exist`, ExitCode.NOT_FOUND);
  if (opts.json) {
    io.out(json(RunMsg.toJSON(run)));
    return ExitCode.OK;
  }
  io.out(`${describeRun(run)}\n`);
  return ExitCode.OK;
}

export function describeRun(run: Run): string {
  const rows: string[][] = [
    ['id', run.id + (run.name ? `  (${run.name})` : '')],
    ['state', stateName(run.state) + (run.error ? `: ${run.error}` : '')],
    ['kind', `${kindName(run.kind)} / ${run.method}  ${runDescription(run)}`],
    ['dataset', run.dataset],
  ];
  if (run.parentRunId) rows.push(['parent', run.parentRunId]);
  if (run.studyId) rows.push(['study', run.studyId]);
  rows.push(['created', formatTime(run.createdAtUnixMs)]);
  if (run.startedAtUnixMs) rows.push(['started', formatTime(run.startedAtUnixMs)]);
  if (run.finishedAtUnixMs) rows.push(['finished', formatTime(run.finishedAtUnixMs)]);
  if (run.backend) rows.push(['backend', run.backend + (run.backendDetail ? ` (${run.backendDetail})` : '')]);
  rows.push(['seed', String(run.seed)], ['attempts', String(run.attempts)]);
  const p = run.progress;
  if (p && !isTerminal(run.state) && p.totalSteps > 0) {
    rows.push([
      'progress',
      `${progressBar(p.fraction, 20)} ${formatPercent(p.fraction)}  epoch ${p.epoch}/${p.epochs}  step ${p.step}/${p.totalSteps}  ` +
        `${p.imagesPerSecond.toFixed(0)} img/s  ETA ${formatDuration(p.etaSeconds)}`,
    ]);
  }
  if (run.config) rows.push(['config', configSummary(run)]);
  const used = run.labelsUsed;
  if (used) {
    rows.push([
      'labels used',
      `${used.total} = ${used.train} train + ${used.selection} selection` +
        (used.extra ? ` (${used.extra} outside the budget)` : ''),
    ]);
  }
  for (const a of run.artifacts) {
    rows.push([`artifact ${a.name}`, `epoch ${a.epoch}, metric ${formatPercent(a.metric)}  ${a.path}`]);
  }
  for (const a of run.attemptHistory) rows.push([`attempt ${a.attempt}`, attemptLine(a)]);
  if (run.dataChecksum) rows.push(['data sha256', run.dataChecksum]);
  if (run.codeRevision) rows.push(['code', run.codeRevision]);
  let text = table(rows, 1000);
  const r = run.result;
  if (r) {
    text += `\nresult: ${r.epochsTrained} epochs in ${formatDuration(r.trainSeconds)}, best epoch ${r.bestEpoch}, best val accuracy ${formatPercent(r.bestValAccuracy, 2)}`;
    for (const [k, v] of Object.entries(r.extra)) text += `\n  ${k}: ${v}`;
    if (r.validation?.numExamples) text += `\n${evalSummary(r.validation)}`;
    if (r.test?.numExamples) text += `\n${evalSummary(r.test)}`;
  }
  return text;
}
