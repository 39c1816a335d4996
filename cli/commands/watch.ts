// `pretext watch RUN`: follows one run to its end and exits with its outcome.
import { LogLevel, RunEvent } from '../../gen/ts/pretext/v1/event.js';
import { type Run, Run as RunMsg, RunState } from '../../gen/ts/pretext/v1/run.js';
import { type Connection, describeError, isTransient } from '../../clients/ts/connection.js';
import { CliError, ExitCode, type ExitCodeValue } from '../../clients/ts/exit-codes.js';
import { follow, type LinkStatus } from '../../clients/ts/follow.js';
import {
  evalSummary,
  formatDuration,
  formatNumber,
  formatPercent,
  isTerminal,
  kindName,
  progressBar,
  stateName,
} from '../../clients/ts/format.js';
import type { Io } from '../io.js';

export interface WatchOptions {
  json?: boolean;
  logs?: boolean;
}

export function outcomeCode(state: RunState): ExitCodeValue {
  switch (state) {
    case RunState.RUN_STATE_SUCCEEDED:
      return ExitCode.OK;
    case RunState.RUN_STATE_CANCELLED:
      return ExitCode.CANCELLED;
    case RunState.RUN_STATE_INTERRUPTED:
      return ExitCode.INTERRUPTED;
    default:
      return ExitCode.FAILURE;
  }
}

const LEVEL: Record<number, string> = {
  [LogLevel.LOG_LEVEL_DEBUG]: 'debug',
  [LogLevel.LOG_LEVEL_INFO]: 'info',
  [LogLevel.LOG_LEVEL_WARN]: 'warn',
  [LogLevel.LOG_LEVEL_ERROR]: 'error',
};

/** One human line per event worth a line; undefined for events shown only in the bar. */
export function eventLine(ev: RunEvent, logs: boolean): string | undefined {
  const p = ev.payload;
  switch (p?.$case) {
    case 'state':
      return `state ${p.state.from ? `${stateName(p.state.from)} -> ` : ''}${stateName(p.state.to)}${p.state.message ? `: ${p.state.message}` : ''}`;
    case 'epoch': {
      const e = p.epoch;
      const extra = Object.entries(e.extra)
        .map(([k, v]) => `  ${k}=${formatNumber(v)}`)
        .join('');
      const w = String(e.epochs).length;
      return (
        `epoch ${String(e.epoch).padStart(w)}/${e.epochs}  train loss ${e.trainLoss.toFixed(4)} acc ${formatPercent(e.trainAccuracy)}` +
        `  val loss ${e.valLoss.toFixed(4)} acc ${formatPercent(e.valAccuracy)}  lr ${formatNumber(e.learningRate)}` +
        `  ${formatDuration(e.seconds)}${extra}`
      );
    }
    case 'log':
      return logs || p.log.level >= LogLevel.LOG_LEVEL_WARN
        ? `[${LEVEL[p.log.level] ?? 'log'}] ${p.log.message}`
        : undefined;
    case 'checkpoint':
      return logs && p.checkpoint.artifact
        ? `checkpoint ${p.checkpoint.artifact.name} (epoch ${p.checkpoint.artifact.epoch})`
        : undefined;
    default:
      return undefined;
  }
}

/** The redrawn status line: bar, epoch, step, loss, lr, throughput, ETA. */
export function progressLine(ev: RunEvent, width = 24): string | undefined {
  const p = ev.payload;
  if (p?.$case === 'step') {
    const s = p.step;
    const f = s.totalSteps ? s.step / s.totalSteps : 0;
    return (
      `${progressBar(f, width)} ${formatPercent(f, 0).padStart(4)}  epoch ${s.epoch}  step ${s.step}/${s.totalSteps}` +
      `  loss ${s.loss.toFixed(4)}${s.accuracy ? ` acc ${formatPercent(s.accuracy)}` : ''}  lr ${formatNumber(s.learningRate)}` +
      `  ${s.imagesPerSecond.toFixed(0)} img/s  ETA ${formatDuration(s.etaSeconds)}`
    );
  }
  if (p?.$case === 'download') {
    const d = p.download;
    const f = d.bytesTotal ? d.bytesDone / d.bytesTotal : 0;
    return `${d.phase} ${d.dataset} ${d.file}  ${progressBar(f, width)} ${formatPercent(f, 0)}  ETA ${formatDuration(d.etaSeconds)}`;
  }
  return undefined;
}

export async function watchCommand(
  conn: Connection,
  io: Io,
  id: string,
  opts: WatchOptions,
): Promise<number> {
  const first = await conn.call(conn.client.getRun, { runId: id });
  if (!first.run) throw new CliError(`run ${id} does not exist`, ExitCode.NOT_FOUND);
  let run: Run = first.run;
  const tty = io.errIsTty && !opts.json;
  let barShown = false;
  const clearBar = () => {
    if (barShown) io.err('\r\x1b[K');
    barShown = false;
  };
  const line = (s: string) => {
    clearBar();
    io.out(`${s}\n`);
  };
  if (!opts.json)
    line(`watching ${run.id} (${kindName(run.kind)} ${run.method}, ${run.dataset}): ${stateName(run.state)}`);

  let lastSeq = 0;
  let wasDown = false;
  const onStatus = (s: LinkStatus) => {
    if (s.state === 'reconnecting' && s.error && !wasDown) {
      wasDown = true;
      clearBar();
      io.err(`connection lost (${s.error.message}); reconnecting...\n`);
    } else if (s.state === 'live' && wasDown) {
      wasDown = false;
      clearBar();
      io.err(`reconnected; resuming after event ${lastSeq}\n`);
    }
  };
  const onEvent = (ev: RunEvent) => {
    lastSeq = ev.seq;
    if (opts.json) {
      io.out(`${JSON.stringify(RunEvent.toJSON(ev))}\n`);
      return;
    }
    const text = eventLine(ev, opts.logs === true);
    if (text) line(text);
    const bar = tty ? progressLine(ev) : undefined;
    if (bar) {
      io.err(`\r\x1b[K${bar.slice(0, (process.stderr.columns || 120) - 1)}`);
      barShown = true;
    }
  };

  // A single-run stream ends at a terminal state; a resumed run goes on, so look again.
  for (;;) {
    const f = follow(conn, {
      runId: id,
      fromSeq: lastSeq + 1,
      onEvent,
      onStatus,
      stopAfter: (ev) => ev.payload?.$case === 'state' && isTerminal(ev.payload.state.to),
    });
    await f.done;
    run = await currentRun(conn, io, id, run);
    if (isTerminal(run.state)) break;
  }
  clearBar();
  const code = outcomeCode(run.state);
  if (opts.json) {
    io.out(`${JSON.stringify({ outcome: stateName(run.state), exitCode: code, run: RunMsg.toJSON(run) })}\n`);
    return code;
  }
  line(`${run.id} ${stateName(run.state)}${run.error ? `: ${run.error}` : ''}`);
  const r = run.result;
  if (r && run.state === RunState.RUN_STATE_SUCCEEDED) {
    line(
      `best epoch ${r.bestEpoch}, best val accuracy ${formatPercent(r.bestValAccuracy, 2)}, ${r.epochsTrained} epochs in ${formatDuration(r.trainSeconds)}`,
    );
    if (r.test?.numExamples) line(evalSummary(r.test));
  }
  return code;
}

/**
 * The run as the daemon has it now. A daemon that stops interrupts its runs and may resume
 * them when it comes back, so while it is unreachable keep asking (with backoff) instead of
 * reporting INTERRUPTED as the outcome.
 */
async function currentRun(conn: Connection, io: Io, id: string, known: Run): Promise<Run> {
  let delay = 250;
  let told = false;
  for (;;) {
    try {
      return (await conn.call(conn.client.getRun, { runId: id })).run ?? known;
    } catch (err) {
      if (!isTransient(err)) throw err;
      if (!told) {
        io.err(`${describeError(err, conn.opts).message}; waiting for the daemon to come back...\n`);
        told = true;
      }
      await new Promise((r) => setTimeout(r, delay));
      delay = Math.min(5000, delay * 2);
    }
  }
}
