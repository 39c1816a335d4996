// Commands that change things: starting runs, evaluating, cancelling, resuming.
import { EvalResult, type Run, Run as RunMsg, RunState } from '../../gen/ts/pretext/v1/run.js';
import type {
  EvaluateRequest,
  StartDownstreamRequest,
  StartPretextRequest,
} from '../../gen/ts/pretext/v1/service.js';
import type { Connection } from '../../clients/ts/connection.js';
import { CliError, ExitCode } from '../../clients/ts/exit-codes.js';
import { evalSummary, kindName, stateName } from '../../clients/ts/format.js';
import type { Io } from '../io.js';
import { json } from './read.js';

export interface StartFlags {
  json?: boolean;
  dryRun?: boolean;
}

function queued(io: Io, run: Run | undefined, asJson?: boolean): number {
  if (!run) throw new CliError('the daemon answered without a run', ExitCode.FAILURE);
  if (asJson) io.out(json(RunMsg.toJSON(run)));
  else io.out(`${run.id}\t${stateName(run.state)}\t${kindName(run.kind)} ${run.method} ${run.dataset}\n`);
  return ExitCode.OK;
}

/** --dry-run: the daemon's verdict, and the run exactly as it would store it. */
function validated(io: Io, run: Run | undefined): number {
  if (!run) throw new CliError('the daemon answered without a run', ExitCode.FAILURE);
  io.out(json({ valid: true, run: RunMsg.toJSON(run) }));
  return ExitCode.OK;
}

export async function pretextStart(conn: Connection, io: Io, req: StartPretextRequest, flags: StartFlags) {
  const res = await conn.call(conn.client.startPretext, req);
  return req.validateOnly ? validated(io, res.run) : queued(io, res.run, flags.json);
}

export async function downstreamStart(
  conn: Connection,
  io: Io,
  req: StartDownstreamRequest,
  flags: StartFlags,
) {
  const res = await conn.call(conn.client.startDownstream, req);
  return req.validateOnly ? validated(io, res.run) : queued(io, res.run, flags.json);
}

export async function evalCommand(
  conn: Connection,
  io: Io,
  req: EvaluateRequest,
  flags: StartFlags,
): Promise<number> {
  if (req.validateOnly) return validated(io, (await conn.call(conn.client.evaluate, req)).run);
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
  const res = await conn.call(conn.client.cancelRun, { runId: id });
  return queued(io, res.run, flags.json);
}

export async function resumeCommand(conn: Connection, io: Io, id: string, flags: { json?: boolean }) {
  const res = await conn.call(conn.client.resumeRun, { runId: id });
  return queued(io, res.run, flags.json);
}
