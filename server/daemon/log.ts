// Structured logs through pino: one JSON object per line on stderr (stdout stays free for the
// one human line that says where the daemon listens). Fields name the subject: `run` and
// `study` carry ids, so `jq 'select(.run == "r-…")'` or journald's JSON output finds them.
import pino from 'pino';

export type LogFields = Record<string, unknown>;

export interface Logger {
  info(msg: string, fields?: LogFields): void;
  warn(msg: string, fields?: LogFields): void;
  error(msg: string, fields?: LogFields): void;
}

export type LogLevelName = 'debug' | 'info' | 'warn' | 'error';
export const LOG_LEVELS: readonly LogLevelName[] = ['debug', 'info', 'warn', 'error'];

export interface LoggerOptions {
  /** Only warnings and errors (same as level 'warn'). */
  quiet?: boolean;
  level?: LogLevelName;
  /** Where lines go (default: stderr, written synchronously so none are lost at exit). */
  destination?: pino.DestinationStream;
}

// Secrets never reach a log line even when a caller passes a whole options object.
const REDACT = ['token', 'authorization', '*.token', '*.authorization', 'tlsKey', '*.tlsKey'];

export function createLogger(opts: LoggerOptions = {}): Logger {
  const level = opts.quiet ? 'warn' : (opts.level ?? 'info');
  const logger = pino(
    {
      level,
      base: { pid: process.pid },
      timestamp: pino.stdTimeFunctions.isoTime,
      messageKey: 'msg',
      formatters: { level: (label) => ({ level: label }) },
      redact: { paths: REDACT, censor: '[redacted]' },
    },
    opts.destination ?? pino.destination({ fd: 2, sync: true }),
  );
  return {
    info: (msg, fields) => logger.info(fields ?? {}, msg),
    warn: (msg, fields) => logger.warn(fields ?? {}, msg),
    error: (msg, fields) => logger.error(fields ?? {}, msg),
  };
}
