import { Box, Text } from 'ink';
import { LogLevel } from '../../gen/ts/pretext/v1/event.js';
import { type Run, RunKind } from '../../gen/ts/pretext/v1/run.js';
import {
  configSummary,
  formatDuration,
  formatNumber,
  formatPercent,
  isTerminal,
  kindName,
  progressBar,
  runDescription,
  stateName,
} from '../../clients/ts/format.js';
import { seriesPoints } from '../series.js';
import type { Link, RunDetail } from '../state.js';
import type { ChartMode } from '../ui.js';
import { Chart } from './Chart.js';
import { LinkBadge, STATE_COLOR } from './common.js';
import { mainEval, Results } from './Results.js';

export interface RunViewProps {
  run: Run;
  detail?: RunDetail;
  detailLink: Link;
  chartMode: ChartMode;
  width: number;
  height: number;
}

const TRAIN = 'cyan';
const VAL = 'magenta';

function progressText(run: Run, detail?: RunDetail): string {
  const s = detail?.lastStep;
  if (detail?.download && detail.download.phase !== 'done' && !s) {
    const d = detail.download;
    const f = d.bytesTotal ? d.bytesDone / d.bytesTotal : 0;
    return `${d.phase} ${d.dataset} ${progressBar(f, 16)} ${formatPercent(f, 0)} ETA ${formatDuration(d.etaSeconds)}`;
  }
  if (s && !isTerminal(run.state)) {
    const f = s.totalSteps ? s.step / s.totalSteps : 0;
    return (
      `${progressBar(f, 16)} ${formatPercent(f, 0)}  ep ${s.epoch}/${run.progress?.epochs || '?'}  step ${s.step}/${s.totalSteps}` +
      `  lr ${formatNumber(s.learningRate)}  ${s.imagesPerSecond.toFixed(0)} img/s  ETA ${formatDuration(s.etaSeconds)}`
    );
  }
  const p = run.progress;
  if (p?.totalSteps && !isTerminal(run.state)) {
    return `${progressBar(p.fraction, 16)} ${formatPercent(p.fraction, 0)}  ep ${p.epoch}/${p.epochs}  ${p.imagesPerSecond.toFixed(0)} img/s  ETA ${formatDuration(p.etaSeconds)}`;
  }
  if (run.error) return run.error;
  const last = detail?.epochs[detail.epochs.length - 1];
  return last ? `finished epoch ${last.epoch}/${last.epochs}, lr ${formatNumber(last.learningRate)}` : '';
}

const LEVEL_COLOR: Record<number, string> = {
  [LogLevel.LOG_LEVEL_WARN]: 'yellow',
  [LogLevel.LOG_LEVEL_ERROR]: 'red',
};

export function RunView({ run, detail, detailLink, chartMode, width, height }: RunViewProps) {
  const showResults =
    run.result !== undefined && (chartMode === 'result' || run.kind === RunKind.RUN_KIND_EVALUATE);
  const logRows = height >= 22 ? 3 : height >= 16 ? 2 : 1;
  const bodyH = Math.max(3, height - 3 - logRows - 1);
  const chartW = width >= 60 ? Math.floor((width - 1) / 2) : width;
  const chartH = Math.max(2, (width >= 60 ? bodyH : Math.floor(bodyH / 2)) - 1);
  const epochs = detail?.epochs ?? [];
  const ex = epochs.map((e) => e.epoch);
  let charts: { title: string; series: { name: string; x: number[]; y: number[] }[] }[];
  if (chartMode === 'step' && detail) {
    const loss = seriesPoints(detail.steps, 'loss');
    const acc = seriesPoints(detail.steps, 'accuracy');
    const per = detail.steps.bucket > 1 ? ` (${detail.steps.bucket} steps/pt)` : '';
    charts = [
      { title: `loss/step${per}`, series: [{ name: 'train', ...loss }] },
      { title: 'accuracy/step', series: [{ name: 'train', ...acc }] },
    ];
  } else {
    charts = [
      {
        title: 'loss/epoch',
        series: [
          { name: 'train', x: ex, y: epochs.map((e) => e.trainLoss) },
          { name: 'val', x: ex, y: epochs.map((e) => e.valLoss) },
        ],
      },
      {
        title: 'accuracy/epoch',
        series: [
          { name: 'train', x: ex, y: epochs.map((e) => e.trainAccuracy) },
          { name: 'val', x: ex, y: epochs.map((e) => e.valAccuracy) },
        ],
      },
    ];
  }
  const logs = detail?.logs.slice(-logRows) ?? [];
  const remote = run.attemptHistory.filter((a) => a.agentId);
  // Where each attempt trained (a coordinator's agents), oldest first.
  const where = remote.length ? ` · on ${remote.map((a) => `${a.agentId}@${a.host}`).join(' → ')}` : '';
  const backend = (run.backend ? ` · ${run.backend}` : '') + where;
  const e = run.result ? mainEval(run.result) : undefined;
  const summary = run.result
    ? ` · best val ${formatPercent(run.result.bestValAccuracy)}${e ? ` · ${e.split} ${formatPercent(e.accuracy)}` : ''}`
    : '';
  return (
    <Box flexDirection="column" width={width} height={height}>
      <Text wrap="truncate">
        <Text bold>{run.id}</Text>
        <Text> </Text>
        <Text color={STATE_COLOR[run.state]}>{stateName(run.state)}</Text>
        <Text>{` ${[`${kindName(run.kind)}/${run.method}`, run.dataset, runDescription(run)].filter(Boolean).join(' · ')}${backend}${summary}`}</Text>
        {run.name ? <Text dimColor>{` · ${run.name}`}</Text> : null}
      </Text>
      <Text dimColor wrap="truncate">
        {configSummary(run)}
      </Text>
      <Text wrap="truncate">
        {progressText(run, detail)}
        {detailLink.state === 'reconnecting' || detailLink.state === 'failed' ? (
          <Text>
            {'  '}
            <LinkBadge link={detailLink} />
          </Text>
        ) : null}
      </Text>
      <Box height={bodyH} flexDirection={width >= 60 ? 'row' : 'column'} overflow="hidden">
        {showResults && run.result ? (
          <Results result={run.result} width={width} height={bodyH} />
        ) : (
          charts.map((c, i) => (
            <Box key={c.title} marginRight={i === 0 && width >= 60 ? 1 : 0}>
              <Chart title={c.title} series={c.series} colors={[TRAIN, VAL]} width={chartW} height={chartH} />
            </Box>
          ))
        )}
      </Box>
      <Box flexDirection="column" height={logRows}>
        {logs.map((l) => (
          <Text key={l.seq} color={LEVEL_COLOR[l.level]} dimColor={!LEVEL_COLOR[l.level]} wrap="truncate">
            {l.message}
          </Text>
        ))}
      </Box>
    </Box>
  );
}
