// `npm run bench [-- --quick] [-- --rounds N] [-- --backends native,wasm] [-- --no-contrastive]`:
// ResNet20 v1 train (batch 128, Adam, real CIFAR-10) and inference (batch 256) throughput against
// the PyTorch peer on the same cores, interleaved: pretext, peer, pretext, peer, … so that each
// round's ratio is taken under one load, and the rounds' ratios are reported as median (min–max).
// Then SimCLR on 96×96 images (the small conv encoder) against its PyTorch peer
// (bench/pytorch_simclr_bench.py), interleaved the same way. Other backends run once afterwards.
// A table, then one JSON line (the last line).
import { spawnSync } from 'node:child_process';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadNative, probeNative } from '../server/shared/backends/native-addon.js';
import { probeBackendsWithAdapter } from '../server/shared/backends/probe.js';
import type { WorkerResult } from './backend-worker.js';
import type { ContrastiveResult } from './contrastive-worker.js';
import { type PeerResult, PYTHON, peerMissing, runPeer } from './peer.js';
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

// webgpu counts only where Dawn finds an adapter it accepts (a GPU; a software one only with
// PRETEXT_WEBGPU_ALLOW_FALLBACK=1).
const available = (await probeBackendsWithAdapter()).filter((b) => b.available);
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
  /** bf16 convolutions (native, where the CPU has AVX512-BF16 or AMX) and the autocast peer. */
  bf16?: WorkerResult;
  peerBf16?: number | null;
}

/** Why bf16 is not measured here, or undefined when it is. */
function bf16Missing(): string | undefined {
  if (chosen[0] !== 'native') return 'bf16 runs on the native backend only';
  const [ok, reason] = probeNative();
  if (!ok) return reason;
  const info = loadNative().info();
  return info.bf16 ? undefined : `this CPU lacks AVX512-BF16 and AMX (oneDNN: ${info.isa})`;
}

function runAutocastPeer(): number | null {
  const r = spawnSync(
    PYTHON,
    [
      path.join(here, 'pytorch_resnet20_autocast.py'),
      '--steps',
      String(peerSteps.trainSteps),
      '--warmup',
      String(peerSteps.warmup),
    ],
    { encoding: 'utf8', timeout: 600_000 },
  );
  const m = /train_img_s=([\d.]+)/.exec(r.stdout ?? '');
  if (!m) log(`autocast peer failed (rc ${r.status}): ${(r.stderr ?? '').slice(-300)}`);
  return m ? Number(m[1]) : null;
}

const primary = chosen[0];
const missingPeer = peerMissing();
if (missingPeer) log(missingPeer);
const roundsRun: Round[] = [];
const noBf16 = args.includes('--no-bf16') ? 'skipped (--no-bf16)' : bf16Missing();
if (noBf16) log(`bf16: not measured: ${noBf16}`);
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
    let bf16: WorkerResult | undefined;
    let peerBf16: number | null | undefined;
    if (!noBf16) {
      log(`round ${i + 1}/${rounds}: ${primary} bf16, then the PyTorch autocast peer...`);
      bf16 = runWorker(primary, { PRETEXT_PRECISION: 'bf16' });
      if (!missingPeer) peerBf16 = runAutocastPeer();
    }
    roundsRun.push({ load, ours, peer, bf16, peerBf16 });
  }
}
// SimCLR, 96×96: batch 256 (the reference's 500 with two views exceeds the wasm heap's 4 GB).
const CONTRASTIVE_BATCH = Number(flag('--contrastive-batch') ?? 256);
const [cWarmup, cSteps, cRounds] = quick ? [1, 2, 1] : [1, 4, 3];
interface ContrastiveRound {
  load: number;
  ours?: ContrastiveResult;
  peer?: { train_img_s: number; peak_rss_mb: number | null; note: string };
}
const contrastiveRounds: ContrastiveRound[] = [];
if (primary && !args.includes('--no-contrastive')) {
  for (let i = 0; i < cRounds; i++) {
    const load = os.loadavg()[0]!;
    log(
      `SimCLR 96x96 round ${i + 1}/${cRounds}: ${primary} (batch ${CONTRASTIVE_BATCH}, ${cWarmup} warm-up, ${cSteps} steps)...`,
    );
    const r = spawnSync(
      process.execPath,
      [
        '--import',
        'tsx',
        path.join(here, 'contrastive-worker.ts'),
        primary,
        String(cWarmup),
        String(cSteps),
        String(CONTRASTIVE_BATCH),
      ],
      { encoding: 'utf8', timeout: 1_800_000 },
    );
    let ours: ContrastiveResult | undefined;
    try {
      ours = JSON.parse(r.stdout?.trim().split('\n').pop() ?? '') as ContrastiveResult;
    } catch {
      log(`SimCLR ${primary} failed (rc ${r.status}): ${(r.stderr ?? '').slice(-300)}`);
    }
    let peer: ContrastiveRound['peer'];
    if (!missingPeer) {
      log(`SimCLR 96x96 round ${i + 1}/${cRounds}: PyTorch peer...`);
      const p = spawnSync(
        PYTHON,
        [
          path.join(here, 'pytorch_simclr_bench.py'),
          '--batch',
          String(CONTRASTIVE_BATCH),
          '--warmup',
          String(cWarmup),
          '--steps',
          String(cSteps),
        ],
        { encoding: 'utf8', timeout: 1_800_000 },
      );
      const last = p.stdout?.trim().split('\n').pop() ?? '';
      const m = /train_img_s=([\d.]+)/.exec(last);
      const rss = /peak_rss_mib=([\d.]+)/.exec(last);
      if (m) peer = { train_img_s: Number(m[1]), peak_rss_mb: rss ? Number(rss[1]) : null, note: last };
      else log(`SimCLR peer failed (rc ${p.status}): ${(p.stderr ?? '').slice(-300)}`);
    }
    contrastiveRounds.push({ load, ours, peer });
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
const bf16Train = spread(roundsRun.map((r) => r.bf16?.train_img_s));
const bf16VsFp32 = spread(
  pairedRatios(
    roundsRun.map((r) => r.bf16?.train_img_s),
    roundsRun.map((r) => r.ours?.train_img_s),
  ),
);
const bf16VsPeer = spread(
  pairedRatios(
    roundsRun.map((r) => r.bf16?.train_img_s),
    roundsRun.map((r) => r.peerBf16),
  ),
);
const peerBf16 = spread(roundsRun.map((r) => r.peerBf16));
if (noBf16) console.log(`bf16: not measured: ${noBf16}`);
else {
  line(`${primary} bf16 train img/s`, bf16Train);
  line('PyTorch autocast img/s', peerBf16);
  line('bf16 / fp32 train', bf16VsFp32, 3);
  line('bf16 / autocast peer', bf16VsPeer, 3);
}
const cOurs = spread(contrastiveRounds.map((r) => r.ours?.train_img_s));
const cPeer = spread(contrastiveRounds.map((r) => r.peer?.train_img_s));
const cRatio = spread(
  pairedRatios(
    contrastiveRounds.map((r) => r.ours?.train_img_s),
    contrastiveRounds.map((r) => r.peer?.train_img_s),
  ),
);
const cRss = spread(contrastiveRounds.map((r) => r.ours?.peak_rss_mb));
const cPeerRss = spread(contrastiveRounds.map((r) => r.peer?.peak_rss_mb));
if (contrastiveRounds.length > 0) {
  console.log(
    `SimCLR 96x96, small conv encoder (4 x Conv 128 + Dense 128), projection 128, NT-Xent, Adam, batch ${CONTRASTIVE_BATCH} images (two views each); img/s = images`,
  );
  for (const [i, r] of contrastiveRounds.entries()) {
    console.log(
      `  round ${i + 1} (load ${fmt(r.load, 2)}): ${primary} ${fmt(r.ours?.train_img_s, 2)} img/s (RSS ${fmt(r.ours?.peak_rss_mb, 0)} MB), PyTorch ${fmt(r.peer?.train_img_s, 2)} img/s (RSS ${fmt(r.peer?.peak_rss_mb, 0)} MB)`,
    );
  }
  line(`SimCLR ${primary} img/s`, cOurs, 2);
  line('SimCLR PyTorch img/s', cPeer, 2);
  line('SimCLR ratio', cRatio, 3);
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
    bf16_train_img_s: round(bf16Train?.median),
    bf16_peer_train_img_s: round(peerBf16?.median),
    ...ratioFields('bf16_vs_fp32_train', bf16VsFp32),
    ...ratioFields('bf16_train_ratio', bf16VsPeer),
    bf16_note: noBf16 ?? null,
    contrastive_batch: contrastiveRounds.length > 0 ? CONTRASTIVE_BATCH : null,
    contrastive_train_img_s: round(cOurs?.median),
    contrastive_peer_train_img_s: round(cPeer?.median),
    contrastive_peak_rss_mb: round(cRss?.max),
    contrastive_peer_peak_rss_mb: round(cPeerRss?.max),
    ...ratioFields('contrastive_ratio', cRatio),
    daemon_overhead_ratio: daemonOverhead ? Math.round(daemonOverhead.overhead_ratio * 1e6) / 1e6 : null,
    quick,
    cores: os.cpus().length,
    cpu,
    backends: results,
  }),
);
if (results.length === 0) process.exitCode = 1;
