// `npm run bench [-- --quick] [-- --rounds N] [-- --backends native,wasm]`: ResNet20 v1 train
// (batch 128, Adam, real CIFAR-10) and inference (batch 256) throughput against the PyTorch peer
// on the same cores, interleaved: pretext, peer, pretext, peer, … so that each round's ratio is
// taken under one load, and the rounds' ratios are reported as median (min–max). Other backends
// run once afterwards. A table, then one JSON line (the last line).
import { spawnSync } from 'node:child_process';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { probeBackends } from '../server/worker/backend/index.js';
import type { WorkerResult } from './backend-worker.js';
import { type PeerResult, peerMissing, runPeer } from './peer.js';
import { formatSpread, pairedRatios, ratioFields, type Spread, spread } from './rounds.js';

const args = process.argv.slice(2);
const quick = args.includes('--quick');
const flag = (name: string) => {
  const i = args.indexOf(name);
  return i >= 0 ? args[i + 1] : undefined;
};
const requested = flag('--backends')?.split(',').filter(Boolean);
// tfjs' plain cpu backend trains at < 1 img/s: measured only when asked for.
const SLOW = new Set(['cpu']);

const available = probeBackends().filter((b) => b.available);
const chosen = requested ?? available.map((b) => b.name).filter((n) => !SLOW.has(n));
const rounds = Number(flag('--rounds') ?? (quick ? 3 : 5));
const [warmup, trainSteps, inferSteps] = quick ? [1, 4, 4] : [2, 10, 10];
const peerSteps = quick
  ? { warmup: 2, trainSteps: 6, inferSteps: 6, maxTime: 12 }
  : { warmup: 3, trainSteps: 15, inferSteps: 15, maxTime: 60 };

const here = path.dirname(fileURLToPath(import.meta.url));
const log = (s: string) => process.stderr.write(`bench: ${s}\n`);

function runWorker(name: string, env: Record<string, string> = {}): WorkerResult | undefined {
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
    { encoding: 'utf8', timeout: quick ? 150_000 : 900_000, env: { ...process.env, ...env } },
  );
  const line = r.stdout?.trim().split('\n').pop() ?? '';
  try {
    return JSON.parse(line) as WorkerResult;
  } catch {
    log(`${name} failed (rc ${r.status}): ${(r.stderr ?? '').slice(-500)}`);
    return undefined;
  }
}

interface Round {
  load: number;
  ours?: WorkerResult;
  peer?: PeerResult;
}

const primary = chosen[0];
const missingPeer = peerMissing();
if (missingPeer) log(missingPeer);
const roundsRun: Round[] = [];
if (primary) {
  for (let i = 0; i < rounds; i++) {
    const load = os.loadavg()[0]!;
    log(
      `round ${i + 1}/${rounds}: ${primary} (${warmup} warm-up, ${trainSteps} train, ${inferSteps} infer steps)...`,
    );
    const ours = runWorker(primary);
    let peer: PeerResult | undefined;
    if (!missingPeer) {
      log(`round ${i + 1}/${rounds}: PyTorch peer...`);
      peer = runPeer(peerSteps);
    }
    roundsRun.push({ load, ours, peer });
  }
}
const others: WorkerResult[] = [];
for (const name of chosen.slice(1)) {
  log(`${name} (once, not interleaved)...`);
  const r = runWorker(name);
  if (r) others.push(r);
}
for (const skipped of available.filter((b) => SLOW.has(b.name) && !chosen.includes(b.name))) {
  log(`${skipped.name} skipped (slow; add --backends ${skipped.name})`);
}

// The daemon's bookkeeping per step event against a step at the measured speed.
const oursTrain = spread(roundsRun.map((r) => r.ours?.train_img_s));
const overheadRun = spawnSync(
  process.execPath,
  ['--import', 'tsx', path.join(here, 'daemon-overhead.ts'), String(oursTrain?.median ?? 100)],
  { encoding: 'utf8', timeout: 120_000 },
);
let daemonOverhead: { per_event_us: number; overhead_ratio: number } | undefined;
try {
  daemonOverhead = JSON.parse(overheadRun.stdout.trim().split('\n').pop() ?? '');
} catch {
  log(`daemon overhead failed: ${(overheadRun.stderr ?? '').slice(-300)}`);
}

const fmt = (v: number | null | undefined, digits = 1) => (v == null ? '-' : v.toFixed(digits));
const cpu = os.cpus()[0]?.model ?? 'unknown CPU';
const oursInfer = spread(roundsRun.map((r) => r.ours?.infer_img_s));
const peerTrain = spread(roundsRun.map((r) => r.peer?.train_img_s));
const peerInfer = spread(roundsRun.map((r) => r.peer?.infer_img_s));
const trainRatio = spread(
  pairedRatios(
    roundsRun.map((r) => r.ours?.train_img_s),
    roundsRun.map((r) => r.peer?.train_img_s),
  ),
);
const inferRatio = spread(
  pairedRatios(
    roundsRun.map((r) => r.ours?.infer_img_s),
    roundsRun.map((r) => r.peer?.infer_img_s),
  ),
);
const oursRss = spread(roundsRun.map((r) => r.ours?.peak_rss_mb));
const peerRss = spread(roundsRun.map((r) => r.peer?.train_peak_rss_mb));

console.log(
  `ResNet20 v1, CIFAR-10 32x32, train batch 128 (Adam), infer batch 256 — ${os.cpus().length} cores, ${cpu}; ` +
    `${new Date().toISOString().slice(0, 10)}`,
);
console.log(
  `interleaved: ${primary ?? '-'} then PyTorch, ${rounds} round(s); img/s, ratios ${primary ?? '-'} / PyTorch`,
);
console.log(
  'round  load1m  train img/s  peer train  train ratio  infer img/s  peer infer  infer ratio  RSS MB  peer RSS MB',
);
roundsRun.forEach((r, i) => {
  const tr = r.ours && r.peer?.train_img_s ? r.ours.train_img_s / r.peer.train_img_s : null;
  const ir = r.ours && r.peer?.infer_img_s ? r.ours.infer_img_s / r.peer.infer_img_s : null;
  console.log(
    `${String(i + 1).padStart(5)}  ${fmt(r.load, 2).padStart(6)}  ${fmt(r.ours?.train_img_s).padStart(11)}  ${fmt(r.peer?.train_img_s).padStart(10)}  ${fmt(tr, 3).padStart(11)}  ${fmt(r.ours?.infer_img_s).padStart(11)}  ${fmt(r.peer?.infer_img_s).padStart(10)}  ${fmt(ir, 3).padStart(11)}  ${fmt(r.ours?.peak_rss_mb, 0).padStart(6)}  ${fmt(r.peer?.train_peak_rss_mb, 0).padStart(11)}`,
  );
});
const line = (label: string, s: Spread | null, digits = 1) =>
  console.log(`${label.padEnd(22)} ${formatSpread(s, digits)}`);
line(`${primary ?? '-'} train img/s`, oursTrain);
line('PyTorch train img/s', peerTrain);
line('train ratio', trainRatio, 3);
line(`${primary ?? '-'} infer img/s`, oursInfer);
line('PyTorch infer img/s', peerInfer);
line('infer ratio', inferRatio, 3);
line(`${primary ?? '-'} peak RSS MB`, oursRss, 0);
line('PyTorch peak RSS MB', peerRss, 0);
for (const r of others) {
  console.log(
    `${r.backend} (once): train ${fmt(r.train_img_s)} img/s, infer ${fmt(r.infer_img_s)} img/s, peak RSS ${fmt(r.peak_rss_mb, 0)} MB` +
      (peerTrain && peerInfer
        ? `; against the peer's median: ${fmt(r.train_img_s / peerTrain.median, 3)} / ${fmt(r.infer_img_s / peerInfer.median, 3)}`
        : ''),
  );
}
const peerNote = roundsRun.find((r) => r.peer)?.peer?.note ?? missingPeer;
if (peerNote) console.log(`peer: ${peerNote}`);
const detail = roundsRun.find((r) => r.ours?.detail)?.ours;
if (detail) console.log(`${detail.backend}: ${detail.detail}`);
if (daemonOverhead)
  console.log(
    `daemon bookkeeping per step event: ${daemonOverhead.per_event_us.toFixed(0)} µs = ${(daemonOverhead.overhead_ratio * 100).toFixed(3)} % of a step (target < 1 %)`,
  );

const round = (v: number | null | undefined) => (v == null ? null : Math.round(v * 1000) / 1000);
const results = [...roundsRun.flatMap((r) => (r.ours ? [r.ours] : [])), ...others];
console.log(
  JSON.stringify({
    backend: primary ?? null,
    threads: roundsRun.find((r) => r.ours)?.ours?.threads ?? null,
    rounds,
    train_img_s: round(oursTrain?.median),
    infer_img_s: round(oursInfer?.median),
    peak_rss_mb: round(oursRss?.max),
    peer_train_img_s: round(peerTrain?.median),
    peer_infer_img_s: round(peerInfer?.median),
    peer_peak_rss_mb: round(peerRss?.max),
    ...ratioFields('train_ratio', trainRatio),
    ...ratioFields('infer_ratio', inferRatio),
    daemon_overhead_ratio: daemonOverhead ? Math.round(daemonOverhead.overhead_ratio * 1e6) / 1e6 : null,
    quick,
    cores: os.cpus().length,
    cpu,
    backends: results,
  }),
);
if (results.length === 0) process.exitCode = 1;
