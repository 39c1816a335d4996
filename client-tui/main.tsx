// `pretext tui`: renders the dashboard until the user quits; the terminal is restored by Ink.
import { render } from 'ink';
import { Connection, type ConnectionOptions } from '../clients/ts/connection.js';
import { ExitCode } from '../clients/ts/exit-codes.js';
import { Dashboard } from './Dashboard.js';

export interface DashboardOptions {
  /** Open this study's view first. */
  studyId?: string;
}

export async function runDashboard(opts: ConnectionOptions, dash: DashboardOptions = {}): Promise<number> {
  const conn = new Connection(opts);
  const app = render(<Dashboard conn={conn} studyId={dash.studyId} />, { exitOnCtrlC: false });
  try {
    await app.waitUntilExit();
  } finally {
    app.cleanup();
    conn.close();
  }
  return ExitCode.OK;
}
