import { Text } from 'ink';
import type { AgentInfo } from '../../gen/ts/pretext/v1/cluster.js';
import { agentLine } from '../../clients/ts/cluster.js';

export const MAX_AGENT_ROWS = 4;

/** A coordinator's agents under the header: host, busy/slots, backends, last seen. */
export function Agents({ agents, rows, width }: { agents: AgentInfo[]; rows: number; width: number }) {
  const shown = agents.length > rows ? agents.slice(0, rows - 1) : agents;
  return (
    <>
      {shown.map((a) => (
        <Text key={a.id} wrap="truncate" dimColor={!a.online} color={a.online ? undefined : 'red'}>
          {`  agent ${a.id}  ${agentLine(a)}`.slice(0, Math.max(10, width))}
        </Text>
      ))}
      {agents.length > shown.length ? (
        <Text dimColor>{`  … ${agents.length - shown.length} more agents`}</Text>
      ) : null}
    </>
  );
}
