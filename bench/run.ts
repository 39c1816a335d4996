// `npm run bench [-- --quick] [-- --backends wasm,cpu]`: ResNet20 v1 train (batch 128, Adam, real
// CIFAR-10) and inference (batch 256) throughput per backend, each in its own process with its
// peak RSS, then the PyTorch peer on the same cores. A table, then one JSON line (the last line).
import { spawnSync } from 'node:child_process';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { probeBackendsWithAdapter } from '../server/shared/backends/probe.js';
import type { WorkerResult } from './backend-worker.js';
import { runPeer } from './peer.js';

const args = process.argv.slice(2);
const quick = args.includes('--quick');
const backendsFlag = args.indexOf('--backends');
const requested = backendsFlag >= 0 ? (args[backendsFlag + 1] ?? '').split(',').filter(Boolean) : undefined;
// tfjs' plain cpu backend trains at < 1 img/s: measured only when asked for.
const SLOW = new Set(['cpu']);

// webgpu counts only where Dawn finds an adapter it accepts (a GPU; a software one only with
// PRETEXT_WEBGPU_ALLOW_FALLBACK=1).
const available = (await probeBackendsWithAdapter()).filter((b) => b.available);
const chosen = requested ?? available.map((b) => b.name).filter((n) => !SLOW.has(n));
const [warmup, trainSteps, inferSteps] = quick ? [1, 3, 3] : [2, 10, 10];

const here = path.dirname(fileURLToPath(import.meta.url));
const results: WorkerResult[] = [];
for (const name of chosen) {
  process.stderr.write(
    `bench: ${name} (${warmup} warm-up, ${trainSteps} train, ${inferSteps} infer steps)...\n`,
  );
  const r = spawnSync(
    process.execPath,
    [
      '--import',
      'tsx',
      path.join(here, 'backend-worker.ts'),
      name,
      String(warmup),
      String(trainSteps),
      String(inferSteps),
    ],
    { encoding: 'utf8', timeout: quick ? 150_000 : 900_000 },
  );
  const line = r.stdout?.trim().split('\n').pop() ?? '';
  try {
    results.push(JSON.parse(line) as WorkerResult);
  } catch {
    process.stderr.write(`bench: ${name} failed (rc ${r.status}): ${(r.stderr ?? '').slice(-500)}\n`);
  }
}
for (const skipped of available.filter((b) => SLOW.has(b.name) && !chosen.includes(b.name))) {
  process.stderr.write(`bench: ${skipped.name} skipped (slow; add --backends ${skipped.name})\n`);
}

// The daemon's bookkeeping per step event against a step at the measured speed.
const overheadRun = spawnSync(
  process.execPath,
  ['--import', 'tsx', path.join(here, 'daemon-overhead.ts'), String(results[0]?.train_img_s ?? 100)],
  { encoding: 'utf8', timeout: 120_000 },
);
let daemonOverhead: { per_event_us: number; overhead_ratio: number } | undefined;
try {
  daemonOverhead = JSON.parse(overheadRun.stdout.trim().split('\n').pop() ?? '');
} catch {
  process.stderr.write(`bench: daemon overhead failed: ${(overheadRun.stderr ?? '').slice(-300)}\n`);
}

process.stderr.write('bench: PyTorch peer...\n');
const peer = runPeer(quick);

const fmt = (v: number | null | undefined, digits = 1) => (v == null ? '-' : v.toFixed(digits));
const ratio = (a: number | undefined, b: number | null) => (a == null || b == null || b === 0 ? null : a / b);
const cpu = os.cpus()[0]?.model ?? 'unknown CPU';
console.log(
  `ResNet20 v1, CIFAR-10 32x32, train batch 128 (Adam), infer batch 256 — ${os.cpus().length} cores, ${cpu}`,
);
console.log(
  'backend          threads  train img/s  (best step)  infer img/s  (best step)  train CPU s/step  peak RSS MB  train/peer  infer/peer',
);
for (const r of results) {
  console.log(
    `${r.backend.padEnd(16)} ${String(r.threads).padStart(7)}  ${fmt(r.train_img_s).padStart(11)}  ${fmt(r.train_img_s_best).padStart(11)}  ${fmt(r.infer_img_s).padStart(11)}  ${fmt(r.infer_img_s_best).padStart(11)}  ${fmt(r.train_cpu_s_per_step, 2).padStart(16)}  ${fmt(r.peak_rss_mb, 0).padStart(11)}  ${fmt(ratio(r.train_img_s, peer.train_img_s), 3).padStart(10)}  ${fmt(ratio(r.infer_img_s, peer.infer_img_s), 3).padStart(10)}`,
  );
}
console.log(
  `${'pytorch (peer)'.padEnd(16)} ${''.padStart(7)}  ${fmt(peer.train_img_s).padStart(11)}  ${''.padStart(11)}  ${fmt(peer.infer_img_s).padStart(11)}`,
);
console.log(`peer: ${peer.note}`);
for (const r of results.filter((x) => x.detail)) console.log(`${r.backend}: ${r.detail}`);
if (daemonOverhead)
  console.log(
    `daemon bookkeeping per step event: ${daemonOverhead.per_event_us.toFixed(0)} µs = ${(daemonOverhead.overhead_ratio * 100).toFixed(3)} % of a step (target < 1 %)`,
  );

const best = results[0];
const round = (v: number | null | undefined) => (v == null ? null : Math.round(v * 1000) / 1000);
console.log(
  JSON.stringify({
    backend: best?.backend ?? null,
    threads: best?.threads ?? null,
    train_img_s: round(best?.train_img_s),
    infer_img_s: round(best?.infer_img_s),
    peak_rss_mb: round(best?.peak_rss_mb),
    peer_train_img_s: peer.train_img_s,
    peer_infer_img_s: peer.infer_img_s,
    train_ratio: round(ratio(best?.train_img_s, peer.train_img_s)),
    infer_ratio: round(ratio(best?.infer_img_s, peer.infer_img_s)),
    daemon_overhead_ratio: daemonOverhead ? Math.round(daemonOverhead.overhead_ratio * 1e6) / 1e6 : null,
    quick,
    cores: os.cpus().length,
    cpu,
    backends: results,
  }),
);
if (results.length === 0) process.exitCode = 1;
