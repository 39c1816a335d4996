import { Box, Text } from 'ink';
import { type Run, RunState } from '../../gen/ts/pretext/v1/run.js';
import {
  bestMetric,
  formatDuration,
  formatPercent,
  isTerminal,
  kindName,
  progressBar,
  stateName,
} from '../../clients/ts/format.js';
import { fit, idColumnWidth, STATE_COLOR } from './common.js';

export interface RunsListProps {
  runs: Run[];
  selectedId?: string;
  width: number;
  /** Rows available, header included. */
  height: number;
}

interface Col {
  title: string;
  width: number;
  cell: (r: Run) => string;
}

function columns(width: number, idWidth: number): Col[] {
  const cols: Col[] = [
    { title: 'ID', width: idWidth, cell: (r) => r.id },
    { title: 'STATE', width: 11, cell: (r) => stateName(r.state) },
    { title: 'KIND', width: 17, cell: (r) => `${kindName(r.kind).slice(0, 4)}/${r.method}` },
    { title: 'DATA', width: 7, cell: (r) => r.dataset },
    {
      title: 'PROGRESS',
      width: 15,
      cell: (r) => {
        if (r.state === RunState.RUN_STATE_SUCCEEDED) return `${progressBar(1, 10)} done`;
        const p = r.progress;
        if (!p || p.totalSteps === 0) return '';
        return `${progressBar(p.fraction, 10)} ${formatPercent(p.fraction, 0)}`;
      },
    },
    {
      title: 'ETA',
      width: 6,
      cell: (r) =>
        !isTerminal(r.state) && r.progress?.totalSteps ? formatDuration(r.progress.etaSeconds) : '',
    },
    { title: 'BEST', width: 11, cell: (r) => bestMetric(r).replace('-', '') },
  ];
  const used = cols.reduce((n, c) => n + c.width + 1, 0) + 2;
  if (width - used >= 8) cols.push({ title: 'NAME', width: width - used - 1, cell: (r) => r.name });
  else if (width < used) {
    // Narrow terminal: give up the data column first (usually one dataset), then the kind.
    cols.splice(3, 1);
    if (width < used - 8) cols.splice(2, 1);
  }
  return cols;
}

/** The runs, newest first, windowed so the selected one is always visible. */
export function RunsList({ runs, selectedId, width, height }: RunsListProps) {
  const cols = columns(width, idColumnWidth(runs));
  const rowsAvail = Math.max(1, height - 1);
  const sel = Math.max(
    0,
    runs.findIndex((r) => r.id === selectedId),
  );
  const start = Math.max(0, Math.min(sel - Math.floor(rowsAvail / 2), runs.length - rowsAvail));
  const visible = runs.slice(start, start + rowsAvail);
  if (runs.length === 0) {
    return (
      <Box flexDirection="column" height={height}>
        <Text dimColor>No runs yet. Press p to start a pretext run, d for a downstream run.</Text>
      </Box>
    );
  }
  return (
    <Box flexDirection="column" height={height}>
      <Text bold>{`  ${cols.map((c) => fit(c.title, c.width)).join(' ')}`}</Text>
      {visible.map((r) => {
        const selected = r.id === (selectedId ?? runs[0]?.id);
        return (
          <Text key={r.id} inverse={selected} wrap="truncate">
            {selected ? '▸ ' : '  '}
            {cols.map((c, i) => (
              <Text key={c.title} color={c.title === 'STATE' ? STATE_COLOR[r.state] : undefined}>
                {fit(c.cell(r), c.width)}
                {i < cols.length - 1 ? ' ' : ''}
              </Text>
            ))}
          </Text>
        );
      })}
      {runs.length > rowsAvail ? (
        <Text dimColor>{`  ${start + 1}-${start + visible.length} of ${runs.length}`}</Text>
      ) : null}
    </Box>
  );
}
