// Readiness for systemd (Type=notify). Node has no unix datagram sockets, so the daemon asks
// `systemd-notify` — shipped with systemd wherever the unit runs — to send the message. That
// child is not the main process, hence `NotifyAccess=all` in the unit; MAINPID names us.
// Without NOTIFY_SOCKET (not started by systemd) every call is a no-op.
import { execFile } from 'node:child_process';
import type { Logger } from './log.js';

export interface Notifier {
  /** READY=1 once the port is bound and runs are resumed; the status line shows in `systemctl status`. */
  ready(status: string): Promise<void>;
  /** STOPPING=1 when a graceful shutdown starts. */
  stopping(status: string): Promise<void>;
  status(status: string): Promise<void>;
}

/** Reads NOTIFY_SOCKET once and removes it from the environment so worker processes never see it. */
export function takeNotifySocket(env: NodeJS.ProcessEnv = process.env): string | undefined {
  const socket = env.NOTIFY_SOCKET;
  delete env.NOTIFY_SOCKET;
  return socket || undefined;
}

export function createNotifier(socket: string | undefined, log: Logger): Notifier {
  const send = (args: string[]): Promise<void> =>
    new Promise((resolve) => {
      if (!socket) return resolve();
      execFile(
        'systemd-notify',
        [...args, `--pid=${process.pid}`],
        { env: { ...process.env, NOTIFY_SOCKET: socket }, timeout: 10_000 },
        (err, _stdout, stderr) => {
          // A missing systemd-notify must not stop the daemon: systemd then times the start out
          // (TimeoutStartSec) and says so, and the log says why.
          if (err) log.error('systemd notification failed', { args, error: stderr.trim() || err.message });
          resolve();
        },
      );
    });
  return {
    ready: (status) => send(['--ready', `--status=${status}`]),
    stopping: (status) => send(['STOPPING=1', `--status=${status}`]),
    status: (status) => send([`--status=${status}`]),
  };
}
