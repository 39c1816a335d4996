// Coordinator and agents must run one code revision: a run's results name one revision, and the
// worker protocol may change between revisions. The coordinator refuses another revision with
// this message; an agent that reads it stops taking jobs (and puts back any it took) until it
// runs the coordinator's revision, so no run is left waiting on a job nobody can begin.
const MARK = 'code revision mismatch';

export function revisionMismatch(agent: string, coordinator: string): string {
  return `${MARK}: the agent runs ${agent.slice(0, 40)}, the coordinator ${coordinator}; run the same revision on both`;
}

export function isRevisionMismatch(message: string): boolean {
  return message.includes(MARK);
}
