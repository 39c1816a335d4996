// Commands that change things: starting runs, evaluating, cancelling, resuming.
import { EvalResult, type Run, Run as RunMsg, RunState } from '../../gen/ts/pretext/v1/run.js';
import {
  EvaluateRequest,
  StartDownstreamRequest,
  StartPretextRequest,
} from '../../gen/ts/pretext/v1/service.js';
import type { Connection } from '../../clients/ts/connection.js';
import { CliError, ExitCode } from '../../clients/ts/exit-codes.js';
import { evalSummary, kindName, stateName } from '../../clients/ts/format.js';
import type { Io } from '../io.js';
import {
  buildDownstreamConfig,
  buildEvaluateConfig,
  buildPretextConfig,
  checkRunId,
  type Values,
} from '../options.js';
import { json } from './read.js';

export interface StartFlags {
  json?: boolean;
  dryRun?: boolean;
  name?: string;
}

function checkName(name: string | undefined): string {
  if (name && name.length > 200)
    throw new CliError('--name is longer than 200 characters', ExitCode.INVALID_ARGUMENT);
  return name ?? '';
}

function queued(io: Io, run: Run | undefined, asJson?: boolean): number {
  if (!run) throw new CliError('the daemon answered without a run', ExitCode.FAILURE);
  if (asJson) io.out(json(RunMsg.toJSON(run)));
  else io.out(`${run.id}\t${stateName(run.state)}\t${kindName(run.kind)} ${run.method} ${run.dataset}\n`);
  return ExitCode.OK;
}

/** Validates first: a bad option never reaches the daemon (and --dry-run needs no daemon). */
export function pretextRequest(values: Values & StartFlags): StartPretextRequest {
  return { config: buildPretextConfig(values), name: checkName(values.name) };
}

export function downstreamRequest(
  values: Values & StartFlags & { from?: string; scratch?: boolean },
): StartDownstreamRequest {
  return {
    config: buildDownstreamConfig(values, values.from, values.scratch === true),
    name: checkName(values.name),
  };
}

export async function pretextStart(
  conn: Connection | null,
  io: Io,
  req: StartPretextRequest,
  flags: StartFlags,
) {
  if (flags.dryRun || !conn) {
    io.out(json(StartPretextRequest.toJSON(req)));
    return ExitCode.OK;
  }
  const res = await conn.call(conn.client.startPretext, req);
  return queued(io, res.run, flags.json);
}

export async function downstreamStart(
  conn: Connection | null,
  io: Io,
  req: StartDownstreamRequest,
  flags: StartFlags,
) {
  if (flags.dryRun || !conn) {
    io.out(json(StartDownstreamRequest.toJSON(req)));
    return ExitCode.OK;
  }
  const res = await conn.call(conn.client.startDownstream, req);
  return queued(io, res.run, flags.json);
}

export function evaluateRequest(
  target: string,
  values: Values & StartFlags & { wait?: boolean },
): EvaluateRequest {
  return {
    config: buildEvaluateConfig(target, values),
    wait: values.wait === true,
    name: checkName(values.name),
  };
}

export async function evalCommand(
  conn: Connection | null,
  io: Io,
  req: EvaluateRequest,
  flags: StartFlags,
): Promise<number> {
  if (flags.dryRun || !conn) {
    io.out(json(EvaluateRequest.toJSON(req)));
    return ExitCode.OK;
  }
  // With --wait the call lasts as long as the evaluation: no deadline.
  const res = await conn.call(conn.client.evaluate, req, req.wait ? null : undefined);
  const run = res.run;
  if (!run) throw new CliError('the daemon answered without a run', ExitCode.FAILURE);
  if (flags.json) {
    io.out(json({ run: RunMsg.toJSON(run), result: res.result ? EvalResult.toJSON(res.result) : null }));
  } else if (res.result) {
    io.out(`${run.id}\t${stateName(run.state)}\n${evalSummary(res.result)}\n`);
  } else {
    io.out(`${run.id}\t${stateName(run.state)}${run.error ? `\t${run.error}` : ''}\n`);
  }
  if (req.wait && run.state === RunState.RUN_STATE_FAILED) return ExitCode.FAILURE;
  return ExitCode.OK;
}

export async function cancelCommand(conn: Connection, io: Io, id: string, flags: { json?: boolean }) {
  checkRunId(id);
  const res = await conn.call(conn.client.cancelRun, { runId: id });
  return queued(io, res.run, flags.json);
}

export async function resumeCommand(conn: Connection, io: Io, id: string, flags: { json?: boolean }) {
  checkRunId(id);
  const res = await conn.call(conn.client.resumeRun, { runId: id });
  return queued(io, res.run, flags.json);
}
