// How a coordinator's agents and a run's attempts read in the CLI and the TUI.
import type { AgentInfo, RunAttempt } from '../../gen/ts/pretext/v1/cluster.js';

function ago(ms: number, now: number): string {
  const s = Math.max(0, Math.round((now - ms) / 1000));
  if (s < 60) return `${s} s ago`;
  if (s < 3600) return `${Math.round(s / 60)} min ago`;
  return `${Math.round(s / 3600)} h ago`;
}

/** One line per agent: id, host, busy/slots, backends, last seen. */
export function agentLine(a: AgentInfo, now = Date.now()): string {
  return `${a.host}  ${a.busy}/${a.slots} busy  ${a.backends.join(',')}  ${a.online ? 'online' : 'OFFLINE'}, seen ${ago(Number(a.lastSeenUnixMs), now)}`;
}

/** One line per attempt: where and how it trained, and how it ended. */
export function attemptLine(a: RunAttempt): string {
  const where = a.agentId ? `${a.host} (agent ${a.agentId})` : `${a.host} (local)`;
  return [
    where,
    a.backend || '?',
    a.codeRevision ? `code ${a.codeRevision}` : '',
    a.dataChecksum ? `data ${a.dataChecksum.slice(0, 12)}…` : '',
    a.resumedAfterEpoch ? `resumed after epoch ${a.resumedAfterEpoch}` : '',
    a.outcome || 'running',
  ]
    .filter(Boolean)
    .join('  ');
}
