// A study's report: Markdown and CSV tables in the reference's shape, accuracy-vs-labels and
// pretext-curve plots (vega-lite → SVG → PNG through resvg), and a provenance block. It takes
// plain data (what GetStudy, GetRun and StreamMetrics return), so any client can write it.
import { mkdirSync, renameSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type * as vl from 'vega-lite';
import { type PlotPanel, writeEmbeddingPlot } from '../embedding-plot.js';
import { render } from './render.js';
import type { EpochMetrics } from '../../../gen/ts/pretext/v1/event.js';
import type { Run } from '../../../gen/ts/pretext/v1/run.js';
import { type Study, StudyArm, StudyState } from '../../../gen/ts/pretext/v1/study.js';
import { formatLabelsUsed, selectionEntry } from '../../../server/shared/contract/selection.js';

export interface StudyReportInput {
  study: Study;
  /** The pretext run and every child run. */
  runs: Run[];
  /** Epoch metrics of the pretext run, in order. */
  pretextEpochs: EpochMetrics[];
  /** When the report was made (for the provenance block). */
  generatedAt?: Date;
  /** Test embeddings of the SSL backbone and of the SL baseline, drawn side by side. */
  embeddings?: PlotPanel[];
  /** Why there is no embedding picture, when there is none. */
  embeddingsNote?: string;
}

export const ARM_LABEL: Record<number, string> = {
  [StudyArm.STUDY_ARM_SL]: 'SL',
  [StudyArm.STUDY_ARM_SSL_FINE_TUNE]: 'SSL+SL',
  [StudyArm.STUDY_ARM_SSL_LINEAR_PROBE]: 'SSL linear probe',
};

const pct = (x: number) => (100 * x).toFixed(2);
const pm = (m: string, s: string, folds: number) => (folds > 1 ? `${m} ± ${s}` : m);

/** Rows (label, cells by budget) of the reference-shaped table. */
export function tableRows(study: Study): { header: string[]; rows: string[][]; csv: string[][] } {
  const budgets = study.config?.labelBudgets ?? [];
  const arms = study.config?.arms ?? [];
  const cell = (n: number, arm: StudyArm) => study.cells.find((c) => c.nLabels === n && c.arm === arm);
  // A budget is never shown without the labels it really cost (the most any arm used).
  const used = (n: number) =>
    study.cells
      .filter((c) => c.nLabels === n)
      .map((c) => c.labelsUsed)
      .reduce(
        (a, b) => (b && (!a || b.total > a.total) ? b : a),
        undefined as Study['cells'][number]['labelsUsed'],
      );
  const header = ['n_labels (labels used)', ...budgets.map((n) => formatLabelsUsed(n, used(n)))];
  const rows: string[][] = [
    [
      'train + selection labels',
      ...budgets.map((n) => {
        const u = used(n);
        return u ? `${u.train} + ${u.selection}${u.extra ? ' (extra)' : ''}` : '—';
      }),
    ],
  ];
  const csv: string[][] = [
    [
      'row',
      'n_labels',
      'mean',
      'std',
      'folds_done',
      'folds_total',
      'labels_train',
      'labels_selection',
      'labels_used',
    ],
  ];
  const usedCols = (n: number) => {
    const u = used(n);
    return u ? [String(u.train), String(u.selection), String(u.total)] : ['', '', ''];
  };
  for (const arm of arms) {
    const label = ARM_LABEL[arm] ?? StudyArm[arm];
    for (const metric of ['loss', 'acc %'] as const) {
      const row = [`${label} ${metric}`];
      for (const n of budgets) {
        const c = cell(n, arm);
        if (!c || c.foldsDone === 0) {
          row.push('—');
          csv.push([
            `${label} ${metric}`,
            String(n),
            '',
            '',
            String(c?.foldsDone ?? 0),
            String(c?.foldsTotal ?? 0),
            ...usedCols(n),
          ]);
          continue;
        }
        const [m, s] =
          metric === 'loss'
            ? [c.testLossMean, c.testLossStd]
            : [c.testAccuracyMean * 100, c.testAccuracyStd * 100];
        row.push(pm(m.toFixed(metric === 'loss' ? 4 : 2), s.toFixed(metric === 'loss' ? 4 : 2), c.foldsDone));
        csv.push([
          `${label} ${metric}`,
          String(n),
          m.toFixed(6),
          s.toFixed(6),
          String(c.foldsDone),
          String(c.foldsTotal),
          ...usedCols(n),
        ]);
      }
      rows.push(row);
    }
  }
  for (const g of study.gains) {
    const label = `gain ${ARM_LABEL[g.arm]} − SL (acc pts)`;
    let row = rows.find((r) => r[0] === label);
    if (!row) {
      row = [label, ...budgets.map(() => '—')];
      rows.push(row);
    }
    const i = budgets.indexOf(g.nLabels);
    if (g.pairedFolds > 0) row[i + 1] = pm(pct(g.accuracyGainMean), pct(g.accuracyGainStd), g.pairedFolds);
    csv.push([
      label,
      String(g.nLabels),
      (g.accuracyGainMean * 100).toFixed(6),
      (g.accuracyGainStd * 100).toFixed(6),
      String(g.pairedFolds),
      '',
      ...usedCols(g.nLabels),
    ]);
  }
  return { header, rows, csv };
}

export function markdownTable(header: string[], rows: string[][]): string {
  const line = (cells: string[]) => `| ${cells.join(' | ')} |`;
  return [line(header), line(header.map(() => '---')), ...rows.map(line)].join('\n');
}

export function accuracySpec(study: Study): vl.TopLevelSpec {
  const values = study.cells
    .filter((c) => c.foldsDone > 0)
    .map((c) => ({
      n_labels: c.nLabels,
      protocol: ARM_LABEL[c.arm] ?? String(c.arm),
      accuracy: c.testAccuracyMean * 100,
      lo: (c.testAccuracyMean - c.testAccuracyStd) * 100,
      hi: (c.testAccuracyMean + c.testAccuracyStd) * 100,
    }));
  const x = {
    field: 'n_labels',
    type: 'quantitative' as const,
    scale: { type: 'log' as const },
    title: 'labeled images (log scale)',
  };
  const color = { field: 'protocol', type: 'nominal' as const, title: 'protocol' };
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v5.json',
    title: `Test accuracy vs labels — ${study.name || study.id}`,
    width: 520,
    height: 320,
    data: { values },
    layer: [
      {
        mark: { type: 'line', point: true },
        encoding: { x, y: { field: 'accuracy', type: 'quantitative', title: 'test accuracy (%)' }, color },
      },
      {
        mark: { type: 'errorbar', ticks: true },
        encoding: {
          x,
          y: { field: 'lo', type: 'quantitative', title: 'test accuracy (%)' },
          y2: { field: 'hi' },
          color,
        },
      },
    ],
  };
}

export function curvesSpec(epochs: EpochMetrics[], title: string): vl.TopLevelSpec {
  const values = epochs.flatMap((e) => [
    { epoch: e.epoch, metric: 'loss', split: 'train', value: e.trainLoss },
    { epoch: e.epoch, metric: 'loss', split: 'validation', value: e.valLoss },
    { epoch: e.epoch, metric: 'accuracy', split: 'train', value: e.trainAccuracy * 100 },
    { epoch: e.epoch, metric: 'accuracy', split: 'validation', value: e.valAccuracy * 100 },
  ]);
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v5.json',
    title,
    data: { values },
    facet: { column: { field: 'metric', type: 'nominal', title: null } },
    spec: {
      width: 300,
      height: 240,
      mark: { type: 'line', point: true },
      encoding: {
        x: { field: 'epoch', type: 'quantitative', title: 'epoch', axis: { tickMinStep: 1, format: 'd' } },
        y: { field: 'value', type: 'quantitative', title: null },
        color: { field: 'split', type: 'nominal' },
      },
    },
    resolve: { scale: { y: 'independent' } },
  };
}

function atomicWrite(file: string, data: string | Buffer): void {
  const tmp = `${file}.tmp-${process.pid}`;
  writeFileSync(tmp, data);
  renameSync(tmp, file);
}

export interface ReportFiles {
  dir: string;
  files: string[];
}

/** Writes the report into `dir`; returns the files written. */
export async function writeStudyReport(input: StudyReportInput, dir: string): Promise<ReportFiles> {
  const { study, runs } = input;
  mkdirSync(dir, { recursive: true });
  const files: string[] = [];
  const put = (name: string, data: string | Buffer) => {
    atomicWrite(path.join(dir, name), data);
    files.push(name);
  };
  const { header, rows, csv } = tableRows(study);
  put('table.csv', `${csv.map((r) => r.join(',')).join('\n')}\n`);

  const acc = await render(accuracySpec(study));
  put('accuracy_vs_labels.svg', acc.svg);
  put('accuracy_vs_labels.png', acc.png);
  const pretext = runs.find((r) => r.id === study.pretextRunId);
  if (input.pretextEpochs.length > 0) {
    const curves = await render(
      curvesSpec(input.pretextEpochs, `Pretext (${pretext?.method ?? 'pretext'}) — train vs validation`),
    );
    put('pretext_curves.svg', curves.svg);
    put('pretext_curves.png', curves.png);
  }

  if (input.embeddings?.length) {
    const stem = path.join(dir, 'embeddings_2d');
    await writeEmbeddingPlot(input.embeddings, stem, 'umap');
    files.push('embeddings_2d.svg', 'embeddings_2d.png');
  }

  const children = runs.filter((r) => r.studyId === study.id && r.id !== study.pretextRunId);
  const wall = (r: Run) =>
    r.finishedAtUnixMs && r.startedAtUnixMs ? (r.finishedAtUnixMs - r.startedAtUnixMs) / 1000 : 0;
  const selectionName = selectionEntry(study.config?.downstream?.selection ?? 0).name;
  const provenance = {
    study: study.id,
    name: study.name,
    state: StudyState[study.state],
    preset: study.config?.preset ?? '',
    selection: selectionName,
    generated_at: (input.generatedAt ?? new Date()).toISOString(),
    code_revisions: [...new Set(runs.map((r) => r.codeRevision))],
    backends: [...new Set(runs.map((r) => r.backend).filter(Boolean))],
    dataset_checksums: [...new Set(runs.map((r) => r.dataChecksum).filter(Boolean))],
    wall_seconds_total: runs.reduce((a, r) => a + wall(r), 0),
    pretext: pretext && {
      id: pretext.id,
      seed: pretext.seed,
      wall_seconds: wall(pretext),
      config: pretext.config?.$case === 'pretext' ? pretext.config.pretext : undefined,
    },
    runs: children.map((r) => ({
      id: r.id,
      seed: r.seed,
      state: r.state,
      backend: r.backend,
      wall_seconds: wall(r),
      config: r.config?.$case === 'downstream' ? r.config.downstream : undefined,
      labels_used: r.labelsUsed,
      test_accuracy: r.result?.test?.accuracy,
      test_loss: r.result?.test?.loss,
    })),
    study_config: study.config,
  };
  put('provenance.json', `${JSON.stringify(provenance, null, 2)}\n`);

  const md = [
    `# Label-budget study ${study.name || study.id}`,
    '',
    `State: ${StudyState[study.state].replace('STUDY_STATE_', '')} · ${study.runsEnded}/${study.runsTotal} runs ended · preset: ${study.config?.preset || 'custom'}`,
    '',
    `Test loss and accuracy (mean ± sample std over folds) of ${selectionEntry(study.config?.downstream?.selection ?? 0).summary}. The header gives each budget with the labels its runs really used.`,
    '',
    markdownTable(header, rows),
    '',
    '![accuracy vs labels](accuracy_vs_labels.png)',
    ...(files.includes('pretext_curves.png') ? ['', '![pretext curves](pretext_curves.png)'] : []),
    '',
    ...(files.includes('embeddings_2d.png')
      ? [
          'Test embeddings (UMAP of the backbone features, coloured by class): the SSL backbone beside the SL one.',
          '',
          '![test embeddings](embeddings_2d.png)',
        ]
      : [`Test embeddings: ${input.embeddingsNote ?? 'not collected'}.`]),
    '',
    '## Provenance',
    '',
    `- code revision: ${provenance.code_revisions.join(', ')}`,
    `- backend: ${provenance.backends.join(', ') || '—'}`,
    `- dataset checksum (SHA-256): ${provenance.dataset_checksums.join(', ') || '—'}`,
    `- pretext run: ${pretext?.id ?? study.pretextRunId} (seed ${pretext?.seed ?? '?'})`,
    `- seeds of the downstream runs: ${[...new Set(children.map((r) => r.seed))].join(', ')}`,
    `- wall time, all runs: ${(provenance.wall_seconds_total / 60).toFixed(1)} min`,
    '- full configs: provenance.json',
    '',
  ].join('\n');
  put('report.md', md);
  return { dir, files };
}
