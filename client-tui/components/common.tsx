// Small shared pieces: state colours, a fixed-width cell, the connection badge.
import { Text } from 'ink';
import { RunState } from '../../gen/ts/pretext/v1/run.js';
import { StudyState } from '../../gen/ts/pretext/v1/study.js';
import type { Link } from '../state.js';

export const STATE_COLOR: Record<number, string> = {
  [RunState.RUN_STATE_QUEUED]: 'yellow',
  [RunState.RUN_STATE_RUNNING]: 'cyan',
  [RunState.RUN_STATE_SUCCEEDED]: 'green',
  [RunState.RUN_STATE_FAILED]: 'red',
  [RunState.RUN_STATE_CANCELLED]: 'gray',
  [RunState.RUN_STATE_INTERRUPTED]: 'magenta',
};

export const STUDY_STATE_COLOR: Record<number, string> = {
  [StudyState.STUDY_STATE_RUNNING]: 'cyan',
  [StudyState.STUDY_STATE_SUCCEEDED]: 'green',
  [StudyState.STUDY_STATE_FAILED]: 'red',
  [StudyState.STUDY_STATE_CANCELLED]: 'gray',
};

/** The ID column: wide enough for the longest id shown (ids carry 100 random bits), 17 to 31. */
export function idColumnWidth(items: ReadonlyArray<{ id: string }>): number {
  let longest = 17;
  for (const it of items) longest = Math.max(longest, it.id.length);
  return Math.min(31, longest);
}

/** Pads or cuts to exactly `width` characters (tables line up in any terminal width). */
export function fit(s: string, width: number): string {
  if (width <= 0) return '';
  if (s.length > width) return width > 1 ? `${s.slice(0, width - 1)}…` : s.slice(0, width);
  return s.padEnd(width);
}

export function linkText(link: Link): { text: string; color: string } {
  switch (link.state) {
    case 'live':
      return { text: '● connected', color: 'green' };
    case 'connecting':
      return { text: '◌ connecting', color: 'yellow' };
    case 'reconnecting':
      return {
        text: `◌ reconnecting (attempt ${link.attempt}${link.retryInMs ? `, next in ${(link.retryInMs / 1000).toFixed(1)}s` : ''})`,
        color: 'yellow',
      };
    case 'failed':
      // The reason is shown in full under the header.
      return { text: '✕ disconnected', color: 'red' };
    case 'ended':
      return { text: '○ closed', color: 'gray' };
  }
}

export function LinkBadge({ link }: { link: Link }) {
  const { text, color } = linkText(link);
  return <Text color={color}>{text}</Text>;
}
