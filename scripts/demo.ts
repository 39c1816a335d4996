// npm run demo [-- --preset NAME --out DIR] — the main job: a small real label-budget study through a daemon, watched live.
// It starts pretextd on a free loopback port (state in a temporary folder), queues a short
// rotation pretext on CIFAR-10 and SL vs SSL+SL downstream runs at a few label budgets, prints
// the events as they stream in, then prints the table and writes the report.
import { mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import * as grpc from '@grpc/grpc-js';
import type { RunEvent } from '../gen/ts/pretext/v1/event.js';
import {
  PretextServiceClient,
  StartStudyRequest,
  StreamMetricsRequest,
} from '../gen/ts/pretext/v1/service.js';
import { StudyState } from '../gen/ts/pretext/v1/study.js';
import { startDaemon } from '../server/daemon/daemon.js';
import { createLogger } from '../server/daemon/log.js';
import { collectStudyReportInput } from '../clients/ts/report/collect.js';
import { markdownTable, tableRows, writeStudyReport } from '../clients/ts/report/report.js';

const dataDir = process.env.PRETEXT_DATA_DIR ?? path.join(os.homedir(), '.cache', 'pretext', 'datasets');
const stateDir = mkdtempSync(path.join(os.tmpdir(), 'pretext-demo-'));
const { values: args } = parseArgs({
  options: { preset: { type: 'string', default: 'demo' }, out: { type: 'string' } },
});
const preset = args.preset ?? 'demo';
const outDir = path.resolve(args.out ?? process.env.PRETEXT_DEMO_OUT ?? `${preset}-report`);
// The demo preset finishes in ~40 s on 2 CPU cores with the native backend, ~70 s on wasm (measured).
// The daemon expands the preset (an unknown name is refused with the list of presets).
const STUDY = StartStudyRequest.fromPartial({ name: preset, config: { preset } });

const fmt = (x: number, d = 3) => (Number.isFinite(x) ? x.toFixed(d) : '—');

async function main(): Promise<void> {
  console.log(`pretext demo — data: ${dataDir}; state: ${stateDir}`);
  const daemon = await startDaemon({
    listen: '127.0.0.1:0',
    stateDir,
    dataDir,
    log: createLogger({ quiet: true }),
  });
  const client = new PretextServiceClient(daemon.address, grpc.credentials.createInsecure());
  const md = new grpc.Metadata();
  const t0 = Date.now();
  try {
    const study = await new Promise<NonNullable<import('../gen/ts/pretext/v1/study.js').Study>>(
      (resolve, reject) =>
        client.startStudy(STUDY, md, (err, res) => (err ? reject(err) : resolve(res.study!))),
    );
    console.log(`pretextd on ${daemon.address}; study ${study.id}: ${study.runsTotal} runs queued\n`);
    const names = new Map<string, string>();
    const label = async (runId: string) => {
      if (!names.has(runId)) {
        const run = await new Promise<import('../gen/ts/pretext/v1/run.js').Run | undefined>((resolve) =>
          client.getRun({ runId }, md, (err, res) => resolve(err ? undefined : res.run)),
        );
        names.set(runId, run?.name.replace(`${preset} `, '') ?? runId);
      }
      return names.get(runId)!;
    };
    let lastStep = 0;
    const finalState = await new Promise<StudyState>((resolve, reject) => {
      const s = client.streamMetrics(StreamMetricsRequest.fromPartial({ runId: '', fromSeq: 1 }), md);
      const queue: RunEvent[] = [];
      let busy = false;
      const pump = async () => {
        if (busy) return;
        busy = true;
        while (queue.length) {
          const e = queue.shift()!;
          const p = e.payload;
          const elapsed = `${((Date.now() - t0) / 1000).toFixed(0).padStart(4)}s`;
          if (p?.$case === 'study') {
            const st = p.study.study!;
            if (st.finishedAtUnixMs > 0) {
              s.cancel();
              resolve(st.state);
            }
            continue;
          }
          if (e.runId.startsWith('s-')) continue;
          const who = (await label(e.runId)).padEnd(28);
          if (p?.$case === 'state') console.log(`${elapsed} ${who} ${p.state.message || ''}`);
          else if (p?.$case === 'epoch') {
            const m = p.epoch;
            console.log(
              `${elapsed} ${who} epoch ${m.epoch}/${m.epochs}  loss ${fmt(m.trainLoss)} acc ${fmt(m.trainAccuracy)}  val loss ${fmt(m.valLoss)} val acc ${fmt(m.valAccuracy)}  ${fmt(m.seconds, 1)}s`,
            );
          } else if (p?.$case === 'step' && Date.now() - lastStep > 15_000) {
            lastStep = Date.now();
            const m = p.step;
            console.log(
              `${elapsed} ${who} step ${m.step}/${m.totalSteps}  loss ${fmt(m.loss)}  ${fmt(m.imagesPerSecond, 1)} img/s  eta ${fmt(m.etaSeconds, 0)}s`,
            );
          } else if (p?.$case === 'result' && p.result.test) {
            console.log(
              `${elapsed} ${who} TEST accuracy ${fmt(p.result.test.accuracy * 100, 2)}%  loss ${fmt(p.result.test.loss)}`,
            );
          } else if (p?.$case === 'download') {
            console.log(
              `${elapsed} ${who} ${p.download.phase} ${p.download.file} ${(Number(p.download.bytesDone) / 1e6).toFixed(1)} MB`,
            );
          }
        }
        busy = false;
      };
      s.on('data', (r: { event?: RunEvent }) => {
        if (r.event) queue.push(r.event);
        void pump();
      });
      s.on('error', (err: grpc.ServiceError) =>
        err.code === grpc.status.CANCELLED ? undefined : reject(err),
      );
    });
    const input = await collectStudyReportInput(client, study.id, md);
    const { header, rows } = tableRows(input.study);
    console.log(
      `\nStudy ${study.id} ended ${StudyState[finalState].replace('STUDY_STATE_', '')} in ${((Date.now() - t0) / 60000).toFixed(1)} min\n`,
    );
    console.log(markdownTable(header, rows));
    if (input.study.error) console.log(`\n${input.study.error}`);
    const failed = input.runs.filter((r) => r.error);
    for (const r of failed) console.log(`\n${r.name}: ${r.error.split('\n').slice(0, 3).join('\n')}`);
    const { files } = await writeStudyReport(input, outDir);
    console.log(`\nReport: ${path.join(outDir, 'report.md')} (${files.join(', ')})`);
    if (finalState !== StudyState.STUDY_STATE_SUCCEEDED) process.exitCode = 1;
  } finally {
    client.close();
    await daemon.close();
  }
}

main().catch((err: unknown) => {
  console.error(`demo failed: ${err instanceof Error ? err.message : String(err)}`);
  process.exit(1);
});
