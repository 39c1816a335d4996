// Plain-text formatting shared by the CLI and the dashboard (no colours here).
import { type EvalResult, type Run, RunKind, RunState } from '../../gen/ts/pretext/v1/run.js';
import { formatLabelsUsed } from '../../server/shared/contract/selection.js';

export const STATE_NAMES: Record<number, string> = {
  [RunState.RUN_STATE_UNSPECIFIED]: 'unknown',
  [RunState.RUN_STATE_QUEUED]: 'queued',
  [RunState.RUN_STATE_RUNNING]: 'running',
  [RunState.RUN_STATE_SUCCEEDED]: 'succeeded',
  [RunState.RUN_STATE_FAILED]: 'failed',
  [RunState.RUN_STATE_CANCELLED]: 'cancelled',
  [RunState.RUN_STATE_INTERRUPTED]: 'interrupted',
};

export const KIND_NAMES: Record<number, string> = {
  [RunKind.RUN_KIND_UNSPECIFIED]: 'unknown',
  [RunKind.RUN_KIND_PRETEXT]: 'pretext',
  [RunKind.RUN_KIND_DOWNSTREAM]: 'downstream',
  [RunKind.RUN_KIND_EVALUATE]: 'evaluate',
};

export const stateName = (s: RunState): string => STATE_NAMES[s] ?? 'unknown';
export const kindName = (k: RunKind): string => KIND_NAMES[k] ?? 'unknown';

export function parseState(s: string): RunState | undefined {
  const hit = Object.entries(STATE_NAMES).find(([, n]) => n === s.toLowerCase());
  return hit ? (Number(hit[0]) as RunState) : undefined;
}

export function parseKind(s: string): RunKind | undefined {
  const hit = Object.entries(KIND_NAMES).find(([, n]) => n === s.toLowerCase());
  return hit ? (Number(hit[0]) as RunKind) : undefined;
}

export function isTerminal(s: RunState): boolean {
  return (
    s === RunState.RUN_STATE_SUCCEEDED ||
    s === RunState.RUN_STATE_FAILED ||
    s === RunState.RUN_STATE_CANCELLED ||
    s === RunState.RUN_STATE_INTERRUPTED
  );
}

/** 3725 -> "1h02m", 95 -> "1m35s", 7 -> "7s". */
export function formatDuration(seconds: number): string {
  if (!Number.isFinite(seconds) || seconds < 0) return '-';
  const s = Math.round(seconds);
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m${String(s % 60).padStart(2, '0')}s`;
  const h = Math.floor(s / 3600);
  if (h < 48) return `${h}h${String(Math.floor((s % 3600) / 60)).padStart(2, '0')}m`;
  return `${Math.floor(h / 24)}d${String(h % 24).padStart(2, '0')}h`;
}

export function formatPercent(x: number, digits = 1): string {
  return Number.isFinite(x) ? `${(x * 100).toFixed(digits)}%` : '-';
}

/** A number short enough for a table cell: 0.0012 -> "1.20e-3", 2.5 -> "2.500". */
export function formatNumber(x: number): string {
  if (!Number.isFinite(x)) return '-';
  if (x !== 0 && Math.abs(x) < 0.01) return x.toExponential(2).replace('e-', 'e-');
  if (Math.abs(x) >= 1000) return x.toFixed(0);
  return x.toFixed(3);
}

/** `[#####.....]` of the given inner width. */
export function progressBar(fraction: number, width: number): string {
  const f = Math.min(1, Math.max(0, Number.isFinite(fraction) ? fraction : 0));
  const full = Math.round(f * width);
  return `${'█'.repeat(full)}${'░'.repeat(Math.max(0, width - full))}`;
}

export function formatTime(unixMs: number): string {
  if (!unixMs) return '-';
  const d = new Date(unixMs);
  const p = (n: number) => String(n).padStart(2, '0');
  return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())} ${p(d.getHours())}:${p(d.getMinutes())}`;
}

/** The metric that best summarises a run in one cell. */
export function bestMetric(run: Run): string {
  const r = run.result;
  if (r?.test && r.test.numExamples > 0) return `test ${formatPercent(r.test.accuracy)}`;
  if (r && r.bestValAccuracy > 0) return `val ${formatPercent(r.bestValAccuracy)}`;
  const best = run.artifacts.find((a) => a.name === 'best');
  if (best && best.metric > 0) return `val ${formatPercent(best.metric)}`;
  return '-';
}

export function runDescription(run: Run): string {
  const c = run.config;
  if (c?.$case === 'downstream') {
    const d = c.downstream;
    const labels = formatLabelsUsed(d.nLabels, run.labelsUsed);
    return `${d.pretextRunId ? `from ${d.pretextRunId}` : 'scratch'}, ${labels} labels, fold ${d.fold}`;
  }
  if (c?.$case === 'evaluate') return `${c.evaluate.targetRunId} on ${c.evaluate.split || 'test'}`;
  if (c?.$case === 'pretext') {
    const p = c.pretext;
    return `${p.architecture || 'resnet'}${(p.architecture || 'resnet') === 'resnet' ? p.depth || 20 : ''}`;
  }
  return '';
}

/** Left-aligned columns separated by two spaces; cells longer than `max` are cut. */
export function table(rows: string[][], max = 40): string {
  const cut = rows.map((r) => r.map((c) => (c.length > max ? `${c.slice(0, max - 1)}…` : c)));
  const widths: number[] = [];
  for (const r of cut) {
    r.forEach((c, i) => {
      widths[i] = Math.max(widths[i] ?? 0, c.length);
    });
  }
  return cut
    .map((r) => r.map((c, i) => (i === r.length - 1 ? c : c.padEnd(widths[i] ?? 0))).join('  '))
    .join('\n');
}

/** A confusion matrix with class names, rows = true class. */
export function confusionTable(e: EvalResult): string {
  const n = e.numClasses;
  if (!n || e.confusionMatrix.length !== n * n) return '';
  const names = e.classNames.length === n ? e.classNames : Array.from({ length: n }, (_, i) => String(i));
  const short = names.map((s) => s.slice(0, 5));
  const rows: string[][] = [['true\\pred', ...short]];
  for (let i = 0; i < n; i++) {
    rows.push([names[i] ?? String(i), ...e.confusionMatrix.slice(i * n, (i + 1) * n).map(String)]);
  }
  return table(rows, 12);
}

export function evalSummary(e: EvalResult): string {
  const lines = [
    `${e.split} (${e.checkpoint || 'best'} checkpoint${e.task ? `, ${e.task}` : ''}): accuracy ${formatPercent(e.accuracy, 2)}, loss ${e.loss.toFixed(4)}, ${e.numExamples} images`,
  ];
  if (e.perClassAccuracy.length) {
    const names = e.classNames;
    lines.push(
      table(
        e.perClassAccuracy.map((a, i) => [`  ${names[i] ?? i}`, formatPercent(a)]),
        20,
      ),
    );
  }
  const cm = confusionTable(e);
  if (cm) lines.push(cm.replace(/^/gm, '  '));
  return lines.join('\n');
}

/** Config as `key=value` pairs, nested groups flattened, zero/empty values left out. */
export function configSummary(run: Run): string {
  const c = run.config;
  if (!c) return '';
  const cfg = c.$case === 'pretext' ? c.pretext : c.$case === 'downstream' ? c.downstream : c.evaluate;
  const parts: string[] = [];
  const walk = (o: object) => {
    for (const [k, v] of Object.entries(o)) {
      if (v === undefined || v === null || v === '' || v === 0 || v === false) continue;
      if (typeof v === 'object') walk(v);
      else parts.push(`${k}=${v}`);
    }
  };
  walk(cfg);
  return parts.join(' ');
}

export { formatBytes } from '../../server/shared/contract/sizes.js';
export { formatLabelsUsed };
