import { Text } from 'ink';
import type { Link } from '../state.js';
import { linkText } from './common.js';

export interface HeaderProps {
  addr: string;
  link: Link;
  total: number;
  running: number;
  queued: number;
  width: number;
  /** The daemon's warning (low disk space). */
  warning?: string;
}

/** One line, always on screen: where we are connected and whether the link is up. Counts go first when narrow. */
export function Header({ addr, link, total, running, queued, width, warning }: HeaderProps) {
  const l = linkText(link);
  return (
    <Text wrap="truncate">
      <Text bold color="blue">
        pretext
      </Text>
      {/* First after the name, so a narrow terminal truncates the rest, not the warning. */}
      {warning ? (
        <Text color="red" bold>
          {` ⚠ ${warning}`}
        </Text>
      ) : null}
      <Text>{` ${addr.length > width / 3 ? `${addr.slice(0, Math.floor(width / 3) - 1)}…` : addr} `}</Text>
      <Text color={l.color}>{l.text}</Text>
      <Text dimColor>{`  ${total} runs · ${running} running · ${queued} queued`}</Text>
    </Text>
  );
}
