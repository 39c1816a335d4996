// Streaming benchmark for imported datasets. Synthesises an imported dataset of N unlabeled
// 96×96 images (default 100,000: 2.76 GB of shards) plus a small labeled part, then reports
//   1. images/s of SimCLR's two augmented views made from random batches read from the shards
//      (disk / page cache) against the same views from an ImageSet in memory (a 20,000-image
//      slice loaded whole), and of the bare reads;
//   2. the worker's peak RSS during a short SimCLR run through pretextd on a small dataset
//      (5,000 images) and on the whole one: the run reads the shards per batch, so the peak must
//      not grow with the dataset (target ≤ 1.5 GB).
// Run: nice -n 19 npx tsx bench/data-stream.ts [N] [steps]   (it deletes its files at the end)
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Rng } from '../server/shared/data/rng.js';
import {
  MANIFEST_FILE,
  MANIFEST_FORMAT,
  type ManifestShard,
  openImported,
  shardFileName,
} from '../server/shared/data/imported.js';
import { IMPORT } from '../server/shared/contract/datasets.js';
import { fillTwoViews } from '../server/worker/data/augment.js';
import { identityIndices } from '../server/worker/data/source.js';
import { startTestDaemon } from '../test/helpers/daemon.js';
import { RunState, type Run } from '../gen/ts/pretext/v1/run.js';

const N = Number(process.argv[2] ?? 100_000);
const STEPS = Number(process.argv[3] ?? 10);
const SIDE = 96;
const PIX = SIDE * SIDE * 3;
const CLASSES = 10;
const TRAIN_PER_CLASS = 50;
const TEST_PER_CLASS = 10;

/** Writes `<dir>/<name>` as the importer would (shards, labels, manifest) from generated pixels. */
function synthesise(datasetsDir: string, name: string): void {
  const dir = path.join(datasetsDir, name);
  fs.mkdirSync(dir, { recursive: true });
  const rng = new Rng(11);
  const shards: ManifestShard[] = [];
  const writeSplit = (split: string, count: number, label: (i: number) => number) => {
    const labels = new Uint8Array(count);
    for (let s = 0; s * IMPORT.shardImages < count; s++) {
      const n = Math.min(IMPORT.shardImages, count - s * IMPORT.shardImages);
      const buf = new Uint8Array(n * PIX);
      // Smooth class-dependent gradients plus noise: cheap to make, not constant.
      for (let k = 0; k < n; k++) {
        const i = s * IMPORT.shardImages + k;
        const c = label(i);
        labels[i] = c;
        const base = k * PIX;
        const tint = (c === 255 ? i % CLASSES : c) * 25;
        for (let p = 0; p < PIX; p += 3) {
          const y = Math.floor(p / 3 / SIDE);
          buf[base + p] = (tint + y) & 255;
          buf[base + p + 1] = (y * 2 + (rng.int(16) | 0)) & 255;
          buf[base + p + 2] = (255 - tint) & 255;
        }
      }
      const file = shardFileName(split, s);
      fs.writeFileSync(path.join(dir, file), buf);
      shards.push({ split, file, count: n, sha256: createHash('sha256').update(buf).digest('hex') });
    }
    fs.writeFileSync(path.join(dir, `${split}.labels`), labels);
    shards.push({
      split,
      file: `${split}.labels`,
      count,
      sha256: createHash('sha256').update(labels).digest('hex'),
    });
  };
  writeSplit('train', CLASSES * TRAIN_PER_CLASS, (i) => i % CLASSES);
  writeSplit('test', CLASSES * TEST_PER_CLASS, (i) => i % CLASSES);
  writeSplit('unlabeled', N, () => 255);
  const manifest = {
    format: MANIFEST_FORMAT,
    name,
    side: SIDE,
    classNames: Array.from({ length: CLASSES }, (_, c) => `class${c}`),
    counts: {
      train: new Array(CLASSES).fill(TRAIN_PER_CLASS),
      test: new Array(CLASSES).fill(TEST_PER_CLASS),
      unlabeled: N,
    },
    checksum: createHash('sha256')
      .update(shards.map((s) => `${s.sha256}  ${s.file}`).join('\n'))
      .digest('hex'),
    testSplit: { carved: false },
    sources: { train: [], test: [], unlabeled: [] },
    skipped: [],
    shards,
    createdAt: new Date().toISOString(),
  };
  fs.writeFileSync(path.join(dir, MANIFEST_FILE), JSON.stringify(manifest));
}

function imgPerSecond(gather: (idx: Int32Array) => unknown, count: number, seconds = 5): number {
  const rng = new Rng(3);
  const idx = new Int32Array(256);
  let images = 0;
  const t0 = performance.now();
  while (performance.now() - t0 < seconds * 1000) {
    for (let i = 0; i < idx.length; i++) idx[i] = rng.int(count);
    gather(idx);
    images += idx.length;
  }
  return images / ((performance.now() - t0) / 1000);
}

/** Resident and peak resident memory of a process, bytes (Linux /proc). */
function rss(pid: number): { rss: number; hwm: number } | undefined {
  try {
    const s = fs.readFileSync(`/proc/${pid}/status`, 'utf8');
    const kb = (k: string) => Number(new RegExp(`${k}:\\s+(\\d+)`).exec(s)?.[1] ?? 0) * 1024;
    return { rss: kb('VmRSS'), hwm: kb('VmHWM') };
  } catch {
    return undefined;
  }
}

function childPids(parent: number): number[] {
  const out: number[] = [];
  for (const e of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(e)) continue;
    try {
      const stat = fs.readFileSync(`/proc/${e}/stat`, 'utf8');
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      if (ppid === parent) out.push(Number(e));
    } catch {
      // gone
    }
  }
  return out;
}

async function main(): Promise<void> {
  const state = fs.mkdtempSync(path.join(os.tmpdir(), 'pretext-stream-bench-'));
  try {
    const datasetsDir = path.join(state, 'datasets');
    const t = performance.now();
    synthesise(datasetsDir, 'synth');
    const gb = (N * PIX) / 1e9;
    console.log(
      `synthesised ${N} unlabeled ${SIDE}×${SIDE} images (${gb.toFixed(2)} GB of shards) in ${((performance.now() - t) / 1000).toFixed(0)} s`,
    );

    const handle = openImported(path.join(datasetsDir, 'synth'));
    const stream = handle.stream!('unlabeled');
    const slice = Math.min(20_000, N);
    const fromDisk = imgPerSecond((i) => stream.gather(i), stream.count);
    console.log(
      `bare reads, random batches of 256: ${fromDisk.toFixed(0)} img/s from the shards over all ${N}`,
    );
    // What a SimCLR step needs: two augmented float views of a random batch.
    const whole = await handle.load('unlabeled', { limit: slice });
    const mean = new Float32Array(PIX).fill(0.5);
    const a = new Float32Array(256 * PIX);
    const b = new Float32Array(256 * PIX);
    const rngS = new Rng(5);
    const rngM = new Rng(5);
    const streamed = imgPerSecond(
      (i) => fillTwoViews(stream.gather(i), identityIndices(i.length), a, b, rngS, { mean }),
      stream.count,
    );
    const memory = imgPerSecond((i) => fillTwoViews(whole, i, a, b, rngM, { mean }), slice);
    stream.close();
    console.log(
      `two SimCLR views of random batches of 256: streamed from the shards ${streamed.toFixed(0)} img/s (over all ${N}), in memory ${memory.toFixed(0)} img/s (over ${slice} loaded whole); streamed/in-memory ${(streamed / memory).toFixed(2)}`,
    );

    synthesiseSmall(datasetsDir);
    const d = await startTestDaemon({ stateDir: state, workerEntry: undefined });
    try {
      for (const dataset of ['synth-small', 'synth']) await simclrPeak(d, dataset);
    } finally {
      await d.stop();
    }
  } finally {
    fs.rmSync(state, { recursive: true, force: true });
  }
}

/** A 5,000-image copy of the first shards' images under another name (for the size comparison). */
function synthesiseSmall(datasetsDir: string): void {
  const src = path.join(datasetsDir, 'synth');
  const dst = path.join(datasetsDir, 'synth-small');
  fs.mkdirSync(dst);
  const m = JSON.parse(fs.readFileSync(path.join(src, MANIFEST_FILE), 'utf8')) as {
    name: string;
    counts: { unlabeled: number };
    shards: ManifestShard[];
  };
  const keep = Math.min(2, Math.ceil(N / IMPORT.shardImages));
  const unl = m.shards.filter((s) => s.split === 'unlabeled' && s.file.endsWith('.u8')).slice(0, keep);
  const count = unl.reduce((n, s) => n + s.count, 0);
  for (const f of fs.readdirSync(src)) {
    if (f.startsWith('unlabeled-') && !unl.some((s) => s.file === f)) continue;
    if (f === MANIFEST_FILE || f === 'unlabeled.labels') continue; // written anew (a link would share the inode)
    fs.linkSync(path.join(src, f), path.join(dst, f));
  }
  fs.writeFileSync(path.join(dst, 'unlabeled.labels'), new Uint8Array(count).fill(255));
  m.name = 'synth-small';
  m.counts.unlabeled = count;
  m.shards = m.shards.filter(
    (s) => s.split !== 'unlabeled' || unl.includes(s) || s.file === 'unlabeled.labels',
  );
  const labels = m.shards.find((s) => s.file === 'unlabeled.labels');
  if (labels) labels.count = count;
  fs.writeFileSync(path.join(dst, MANIFEST_FILE), JSON.stringify(m));
}

async function simclrPeak(d: Awaited<ReturnType<typeof startTestDaemon>>, dataset: string): Promise<void> {
  {
    const { run } = await d.call<{ run: Run }>('startPretext', {
      config: {
        method: 'simclr',
        dataset,
        architecture: 'small_conv_32',
        training: { epochs: 1, batchSize: 128, maxStepsPerEpoch: STEPS, validationLimit: 256, seed: 1 },
      },
    });
    let peak = 0;
    let peakPid = 0;
    const timer = setInterval(() => {
      for (const pid of childPids(process.pid)) {
        const m = rss(pid);
        if (m && m.hwm > peak) {
          peak = m.hwm;
          peakPid = pid;
        }
      }
    }, 200);
    const t = performance.now();
    const done = await d.waitState(
      run!.id,
      [RunState.RUN_STATE_SUCCEEDED, RunState.RUN_STATE_FAILED],
      3_600_000,
    );
    clearInterval(timer);
    const images = (await d.call<{ dataset: { unlabeled: number } }>('getDataset', { name: dataset })).dataset
      .unlabeled;
    console.log(
      `SimCLR (small_conv_32, batch 128, ${STEPS} steps) on ${dataset} (${images} unlabeled + ${CLASSES * TRAIN_PER_CLASS} train images, ${((images * PIX) / 1e9).toFixed(2)} GB): ${RunState[done.state]} in ${((performance.now() - t) / 1000).toFixed(0)} s; worker (pid ${peakPid}) peak RSS ${(peak / 2 ** 30).toFixed(2)} GiB (target ≤ 1.5 GB)${done.error ? `; ${done.error}` : ''}`,
    );
  }
}

await main();
