import { Box, Text } from 'ink';
import type { EvalResult, RunResult } from '../../gen/ts/pretext/v1/run.js';
import { formatDuration, formatPercent, progressBar } from '../../clients/ts/format.js';
import { fit } from './common.js';

export interface ResultsProps {
  result: RunResult;
  width: number;
  height: number;
}

/** The evaluation to show in detail: test when there is one, else validation. */
export function mainEval(r: RunResult): EvalResult | undefined {
  if (r.test && r.test.numExamples > 0) return r.test;
  if (r.validation && r.validation.numExamples > 0) return r.validation;
  return undefined;
}

/** Final figures, per-class accuracy and the confusion matrix (rows = true class). */
export function Results({ result, width, height }: ResultsProps) {
  const e = mainEval(result);
  const lines: { text: string; color?: string; bold?: boolean }[] = [];
  lines.push({
    text:
      `best epoch ${result.bestEpoch} · best val ${formatPercent(result.bestValAccuracy, 2)} · ` +
      `${result.epochsTrained} epochs in ${formatDuration(result.trainSeconds)}` +
      Object.entries(result.extra)
        .map(([k, v]) => ` · ${k} ${v < 1 ? formatPercent(v, 2) : v.toFixed(3)}`)
        .join(''),
    bold: true,
  });
  if (e) {
    lines.push({
      text: `${e.split}${e.task ? ` (${e.task})` : ''}: accuracy ${formatPercent(e.accuracy, 2)} · loss ${e.loss.toFixed(4)} · ${e.numExamples} images · ${e.checkpoint || 'best'} checkpoint`,
      color: 'green',
    });
    const n = e.numClasses || e.perClassAccuracy.length;
    const names = Array.from({ length: n }, (_, i) => e.classNames[i] ?? String(i));
    const nameW = Math.min(10, Math.max(4, ...names.map((s) => s.length)));
    // Per-class accuracy, two per line when there is room.
    const perLine = width >= 2 * (nameW + 20) ? 2 : 1;
    for (let i = 0; i < e.perClassAccuracy.length; i += perLine) {
      const parts: string[] = [];
      for (let k = i; k < Math.min(i + perLine, e.perClassAccuracy.length); k++) {
        const a = e.perClassAccuracy[k] ?? 0;
        parts.push(`${fit(names[k] ?? '', nameW)} ${progressBar(a, 10)} ${formatPercent(a).padStart(6)}`);
      }
      lines.push({ text: parts.join('   ') });
    }
    if (n > 0 && e.confusionMatrix.length === n * n) {
      const cellW = Math.max(4, String(Math.max(...e.confusionMatrix)).length + 1);
      if (nameW + 1 + n * cellW <= width) {
        lines.push({
          text: `${fit('true\\pred', nameW)} ${names.map((s) => s.slice(0, cellW - 1).padStart(cellW)).join('')}`,
          bold: true,
        });
        for (let i = 0; i < n; i++) {
          const row = e.confusionMatrix.slice(i * n, (i + 1) * n).map((v) => String(v).padStart(cellW));
          lines.push({ text: `${fit(names[i] ?? '', nameW)} ${row.join('')}` });
        }
      } else {
        lines.push({ text: 'confusion matrix: widen the terminal to see it', color: 'gray' });
      }
    }
  }
  return (
    <Box flexDirection="column" height={height} overflow="hidden">
      {lines.slice(0, height).map((l, i) => (
        // biome-ignore lint/suspicious/noArrayIndexKey: lines are positional
        <Text key={i} color={l.color} bold={l.bold} wrap="truncate">
          {l.text}
        </Text>
      ))}
    </Box>
  );
}
