import { Box, Text } from 'ink';
import type { Dataset, DatasetImportProgress } from '../../gen/ts/pretext/v1/datasets.js';
import { formatBytes, progressBar } from '../../clients/ts/format.js';
import { fit } from './common.js';

export interface DatasetsListProps {
  datasets: Dataset[];
  /** Latest import progress per dataset name. */
  imports: Record<string, DatasetImportProgress>;
  error?: string;
  width: number;
  height: number;
}

const sum = (a: number[]) => a.reduce((x, y) => x + y, 0);

const COLS: Array<{ title: string; width: number; cell: (d: Dataset) => string }> = [
  { title: 'NAME', width: 20, cell: (d) => d.name },
  { title: 'CLASSES', width: 7, cell: (d) => String(d.classNames.length) },
  { title: 'TRAIN', width: 8, cell: (d) => String(sum(d.trainPerClass)) },
  { title: 'TEST', width: 7, cell: (d) => String(sum(d.testPerClass)) },
  { title: 'UNLABELED', width: 9, cell: (d) => String(d.unlabeled) },
  { title: 'SIDE', width: 4, cell: (d) => String(d.side) },
  { title: 'SKIPPED', width: 7, cell: (d) => String(d.skippedCount) },
  { title: 'SIZE', width: 9, cell: (d) => formatBytes(d.bytes) },
  { title: 'RUNS', width: 4, cell: (d) => String(d.activeRuns) },
];

/** Imports under way (their latest event is not "done" or "failed") and recent failures. */
function importLine(p: DatasetImportProgress): string {
  if (p.phase === 'failed') return `${p.name}: import failed: ${p.error}`;
  const frac = p.total ? p.done / p.total : 0;
  const unit =
    p.phase === 'receiving' ? `${formatBytes(p.done)}/${formatBytes(p.total)}` : `${p.done}/${p.total}`;
  return `${p.name}: ${p.phase} ${progressBar(frac, 12)} ${p.total ? unit : ''}`;
}

export function DatasetsList({ datasets, imports, error, width, height }: DatasetsListProps) {
  const active = Object.values(imports).filter(
    (p) => p.phase !== 'done' && !(p.phase === 'failed' && datasets.some((d) => d.name === p.name)),
  );
  const rows = Math.max(1, height - 1 - active.length - (error ? 1 : 0));
  return (
    <Box flexDirection="column" height={height} width={width}>
      {error ? (
        <Text color="red" wrap="truncate">
          {error}
        </Text>
      ) : null}
      {datasets.length === 0 ? (
        <Text dimColor>No imported datasets. Add one with: pretext dataset add NAME ./folder</Text>
      ) : (
        <Text bold wrap="truncate">{`  ${COLS.map((c) => fit(c.title, c.width)).join(' ')}`}</Text>
      )}
      {datasets.slice(0, rows).map((d) => (
        <Text key={d.name} wrap="truncate">{`  ${COLS.map((c) => fit(c.cell(d), c.width)).join(' ')}`}</Text>
      ))}
      {active.map((p) => (
        <Text key={`import-${p.name}`} color={p.phase === 'failed' ? 'red' : 'cyan'} wrap="truncate">
          {importLine(p)}
        </Text>
      ))}
    </Box>
  );
}
