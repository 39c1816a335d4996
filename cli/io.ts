// Where a command writes. Tests pass buffers; the launcher passes the process streams.
export interface Io {
  out: (s: string) => void;
  err: (s: string) => void;
  /** Whether stderr is an interactive terminal (progress bars redraw in place there). */
  errIsTty: boolean;
  env: NodeJS.ProcessEnv;
}

export function processIo(): Io {
  return {
    out: (s) => process.stdout.write(s),
    err: (s) => process.stderr.write(s),
    errIsTty: Boolean(process.stderr.isTTY),
    env: process.env,
  };
}

export function bufferIo(env: NodeJS.ProcessEnv = {}): Io & { stdout: () => string; stderr: () => string } {
  let o = '';
  let e = '';
  return {
    out: (s) => {
      o += s;
    },
    err: (s) => {
      e += s;
    },
    errIsTty: false,
    env,
    stdout: () => o,
    stderr: () => e,
  };
}
