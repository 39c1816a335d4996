// Exit codes of `pretext`. Scripts branch on these, so they are part of the interface:
// never renumber, only add.
export const ExitCode = {
  OK: 0,
  /** A run ended FAILED, or the daemon reported an error not covered below. */
  FAILURE: 1,
  /** Bad command-line usage or an option the daemon would reject. */
  INVALID_ARGUMENT: 2,
  /** The daemon could not be reached (refused, timed out, TLS mismatch). */
  UNREACHABLE: 3,
  /** The daemon rejected the token (or none was given). */
  UNAUTHENTICATED: 4,
  /** No such run. */
  NOT_FOUND: 5,
  /** `watch`: the run was cancelled. */
  CANCELLED: 6,
  /** `watch`: the run was interrupted (daemon stopped); `pretext resume RUN` continues it. */
  INTERRUPTED: 7,
  /** The request conflicts with the run's state (e.g. cancelling a finished run). */
  CONFLICT: 8,
} as const;

export type ExitCodeValue = (typeof ExitCode)[keyof typeof ExitCode];

export const EXIT_CODE_HELP = `Exit codes:
  0  ok (watch: the run SUCCEEDED)
  1  failure (watch: the run FAILED; other daemon errors)
  2  invalid argument or usage
  3  daemon unreachable (connection refused, timeout, TLS mismatch)
  4  unauthenticated (missing or wrong token)
  5  run not found
  6  watch: the run was CANCELLED
  7  watch: the run was INTERRUPTED (resume it with \`pretext resume RUN\`)
  8  conflict with the run's state (e.g. cancelling a finished run)`;

/** An error that carries the exit code and a message meant for a human. */
export class CliError extends Error {
  constructor(
    message: string,
    readonly exitCode: ExitCodeValue,
    /** The daemon's field-level verdict, when it refused a request's settings. */
    readonly fieldErrors: FieldError[] = [],
  ) {
    super(message);
    this.name = 'CliError';
  }
}

/** One refused field of a request, as the daemon names it ("config.training.epochs"). */
export interface FieldError {
  field: string;
  message: string;
}
