import { Box, Text } from 'ink';
import type { Study } from '../../gen/ts/pretext/v1/study.js';
import { progressBar } from '../../clients/ts/format.js';
import { studyStateName } from '../studies.js';
import { fit, idColumnWidth, STUDY_STATE_COLOR } from './common.js';

export interface StudiesListProps {
  studies: Study[];
  selectedId?: string;
  /** Why the list could not be loaded. */
  error?: string;
  width: number;
  /** Rows available, header included. */
  height: number;
}

interface Col {
  title: string;
  width: number;
  cell: (s: Study) => string;
}

function columns(width: number, idWidth: number): Col[] {
  const cols: Col[] = [
    { title: 'ID', width: idWidth, cell: (s) => s.id },
    { title: 'STATE', width: 9, cell: (s) => studyStateName(s.state) },
    {
      title: 'RUNS ENDED',
      width: 16,
      cell: (s) =>
        `${progressBar(s.runsTotal ? s.runsEnded / s.runsTotal : 0, 8)} ${s.runsEnded}/${s.runsTotal}`,
    },
    { title: 'PRESET', width: 10, cell: (s) => s.config?.preset ?? '' },
    {
      title: 'BUDGETS × FOLDS',
      width: 18,
      cell: (s) => `${(s.config?.labelBudgets ?? []).join(',')} × ${s.config?.folds ?? 0}`,
    },
  ];
  const used = cols.reduce((n, c) => n + c.width + 1, 0) + 2;
  if (width - used >= 8) cols.push({ title: 'NAME', width: width - used - 1, cell: (s) => s.name });
  else if (width < used) cols.splice(3, 1); // narrow: the preset goes first
  return cols;
}

/** The studies, newest first, windowed so the selected one is visible. */
export function StudiesList({ studies, selectedId, error, width, height }: StudiesListProps) {
  const cols = columns(width, idColumnWidth(studies));
  const rowsAvail = Math.max(1, height - 1 - (error ? 1 : 0));
  const sel = Math.max(
    0,
    studies.findIndex((s) => s.id === selectedId),
  );
  const start = Math.max(0, Math.min(sel - Math.floor(rowsAvail / 2), studies.length - rowsAvail));
  const visible = studies.slice(start, start + rowsAvail);
  return (
    <Box flexDirection="column" height={height}>
      {error ? (
        <Text color="red" wrap="truncate">
          {error}
        </Text>
      ) : null}
      {studies.length === 0 ? (
        <Text dimColor>No studies yet. Start one with: pretext study start --preset cpu-quick</Text>
      ) : (
        <Text bold>{`  ${cols.map((c) => fit(c.title, c.width)).join(' ')}`}</Text>
      )}
      {visible.map((s) => {
        const selected = s.id === (selectedId ?? studies[0]?.id);
        return (
          <Text key={s.id} inverse={selected} wrap="truncate">
            {selected ? '▸ ' : '  '}
            {cols.map((c, i) => (
              <Text key={c.title} color={c.title === 'STATE' ? STUDY_STATE_COLOR[s.state] : undefined}>
                {fit(c.cell(s), c.width)}
                {i < cols.length - 1 ? ' ' : ''}
              </Text>
            ))}
          </Text>
        );
      })}
      {studies.length > rowsAvail ? (
        <Text dimColor>{`  ${start + 1}-${start + visible.length} of ${studies.length}`}</Text>
      ) : null}
    </Box>
  );
}
