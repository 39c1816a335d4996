import { selectionEntry } from '../../server/shared/contract/selection.js';
import { Box, Text } from 'ink';
import type { Run } from '../../gen/ts/pretext/v1/run.js';
import type { Study } from '../../gen/ts/pretext/v1/study.js';
import {
  formatDuration,
  formatPercent,
  isTerminal,
  progressBar,
  stateName,
} from '../../clients/ts/format.js';
import type { Link } from '../state.js';
import { isStudyFinished, studyStateName } from '../studies.js';
import { ARM_SHORT, cellText, type TableCell, studyTable } from '../studyTable.js';
import { fit, LinkBadge, STATE_COLOR, STUDY_STATE_COLOR } from './common.js';

export interface StudyViewProps {
  studyId: string;
  /** Absent until the first snapshot arrives. */
  study?: Study;
  /** The study's own stream. */
  link: Link;
  /** Run summaries: the pretext run's line and which cells are training now. */
  runs: Record<string, Run>;
  width: number;
  height: number;
}

function cellColor(c: TableCell): string | undefined {
  switch (c.mark) {
    case 'done':
      return c.sign === undefined ? undefined : c.sign > 0 ? 'green' : c.sign < 0 ? 'red' : undefined;
    case 'partial':
      return 'yellow';
    case 'running':
      return 'cyan';
    case 'failed':
      return 'red';
    default:
      return 'gray';
  }
}

function pretextLine(study: Study, run: Run | undefined): string {
  if (!run) return study.pretextRunId;
  const p = run.progress;
  if (!isTerminal(run.state) && p?.totalSteps) {
    return `${run.id} ${progressBar(p.fraction, 10)} ${formatPercent(p.fraction, 0)}  ep ${p.epoch}/${p.epochs}  ETA ${formatDuration(p.etaSeconds)}`;
  }
  const best = run.result ? `  best val ${formatPercent(run.result.bestValAccuracy)}` : '';
  return `${run.id}${best}${run.error ? `  ${run.error}` : ''}`;
}

/** One study: the reference's table filling in as child runs end, its progress and outcome. */
export function StudyView({ studyId, study, link, runs, width, height }: StudyViewProps) {
  const linkDown = link.state === 'reconnecting' || link.state === 'failed';
  const linkLine = linkDown ? (
    <Text wrap="truncate">
      <LinkBadge link={link} />
      <Text color="red">{link.message ? `  ${link.message}` : ''}</Text>
    </Text>
  ) : null;
  if (!study) {
    return (
      <Box flexDirection="column" width={width} height={height}>
        <Text bold>{`study ${studyId}`}</Text>
        {linkLine ?? <Text dimColor>loading…</Text>}
      </Box>
    );
  }
  const table = studyTable(study, (id) => runs[id]?.state);
  const labelW = Math.max(8, ...table.rows.map((r) => r.label.length)) + 2;
  const n = Math.max(1, table.budgets.length);
  const cellW = Math.max(6, Math.min(16, Math.floor((width - labelW - 1) / n)));
  const pretext = runs[study.pretextRunId];
  const folds = study.config?.folds ?? 0;
  const arms = (study.config?.arms ?? []).map((a) => ARM_SHORT[a] ?? String(a)).join(' vs ');
  const fraction = study.runsTotal ? study.runsEnded / study.runsTotal : 0;
  const finished = isStudyFinished(study);
  const took = formatDuration((study.finishedAtUnixMs - study.createdAtUnixMs) / 1000);
  return (
    <Box flexDirection="column" width={width} height={height} overflow="hidden">
      <Text wrap="truncate">
        <Text bold>{study.id}</Text>
        <Text> </Text>
        <Text color={STUDY_STATE_COLOR[study.state]}>{studyStateName(study.state)}</Text>
        <Text>{` · ${[study.name, study.config?.preset && `preset ${study.config.preset}`, arms, `${folds} fold${folds === 1 ? '' : 's'}`].filter(Boolean).join(' · ')}`}</Text>
      </Text>
      <Text wrap="truncate">
        <Text>pretext </Text>
        {pretext ? <Text color={STATE_COLOR[pretext.state]}>{`${stateName(pretext.state)} `}</Text> : null}
        <Text>{pretextLine(study, pretext)}</Text>
      </Text>
      <Text wrap="truncate">
        {`runs ${progressBar(fraction, 16)} ${study.runsEnded}/${study.runsTotal} ended`}
        {finished ? null : <Text dimColor>{'  live'}</Text>}
      </Text>
      {linkLine}
      <Text> </Text>
      <Text dimColor wrap="truncate">
        {`test loss and accuracy %${folds > 1 ? `, mean ± std over ${folds} folds` : ''}; gain in accuracy points; selection ${selectionEntry(study.config?.downstream?.selection ?? 0).name}${table.budgetLabels.some((b) => b.includes('+')) ? ' (n+k: k labels outside the budget)' : ''}`}
      </Text>
      <Text bold wrap="truncate">
        {fit('n_labels', labelW)}
        {table.budgetLabels.map((b) => fit(b, cellW)).join('')}
      </Text>
      {table.rows.map((r) => (
        <Text key={r.label} wrap="truncate">
          <Text bold={r.kind === 'gain'}>{fit(r.label, labelW)}</Text>
          {r.cells.map((c, i) => (
            // biome-ignore lint/suspicious/noArrayIndexKey: cells are positional (one per budget)
            <Text key={i} color={cellColor(c)}>
              {fit(cellText(c, cellW - 1), cellW)}
            </Text>
          ))}
        </Text>
      ))}
      <Text dimColor wrap="truncate">
        {'· pending  … running  ✕ failed  — none to come  yellow: more folds to come'}
      </Text>
      {finished ? (
        <Text wrap="truncate">
          <Text>final: </Text>
          <Text bold color={STUDY_STATE_COLOR[study.state]}>
            {studyStateName(study.state)}
          </Text>
          <Text>{` after ${took}`}</Text>
        </Text>
      ) : null}
      {study.error ? (
        <Text color="red" wrap="wrap">
          {study.error}
        </Text>
      ) : null}
    </Box>
  );
}
