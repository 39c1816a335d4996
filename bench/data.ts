// Data-path benchmark: augmented, normalized batches per second (batch 128) for CIFAR-10 and
// STL-10, each kind of batch the methods draw. Run: npx tsx bench/data.ts [seconds per case]
// Target: >= 20x the training throughput (~25-100 img/s), i.e. >= 2,000 img/s. Also printed:
// images per CPU-second of this process, which is what a shared, loaded machine cannot distort.
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { fillTwoViews } from '../server/worker/data/augment.js';
import { fillBatch, fillRotationBatch, meanImage, randomRotations } from '../server/worker/data/batches.js';
import { readCifar10 } from '../server/shared/data/cifar10.js';
import { Rng } from '../server/worker/data/rng.js';
import { readStl10 } from '../server/shared/data/stl10.js';
import type { ImageSet } from '../server/shared/data/types.js';

const DATA =
  process.env.PRETEXT_TEST_DATA_DIR ??
  path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../shared/datasets');
const BATCH = 128;
const seconds = Number(process.argv[2] ?? 2);
const TARGET = 2000;

function measure(label: string, set: ImageSet, draw: (idx: Int32Array) => void, imagesPerCall = BATCH): void {
  const rng = new Rng(1);
  const idx = new Int32Array(BATCH);
  const next = () => {
    for (let i = 0; i < BATCH; i++) idx[i] = rng.int(set.count);
  };
  for (let i = 0; i < 5; i++) {
    next();
    draw(idx);
  }
  let batches = 0;
  const c0 = process.cpuUsage();
  const t0 = performance.now();
  while (performance.now() - t0 < seconds * 1000) {
    next();
    draw(idx);
    batches++;
  }
  const wall = (performance.now() - t0) / 1000;
  const c = process.cpuUsage(c0);
  const cpu = (c.user + c.system) / 1e6;
  const imgs = (batches * imagesPerCall) / wall;
  const imgsCpu = (batches * imagesPerCall) / cpu;
  console.log(
    `${label.padEnd(44)} ${(batches / wall).toFixed(1).padStart(7)} batches/s ${imgs.toFixed(0).padStart(7)} img/s ` +
      `(${imgsCpu.toFixed(0).padStart(7)} img per CPU-s)  ${imgs >= TARGET ? 'ok' : 'BELOW TARGET'}`,
  );
}

function suite(name: string, set: ImageSet): void {
  const pix = set.height * set.width * 3;
  const mean = meanImage(set);
  const out = new Float32Array(BATCH * pix);
  const out2 = new Float32Array(BATCH * pix);
  const aug = { rng: new Rng(2) };
  const rot = randomRotations(BATCH, new Rng(3));
  const rng = new Rng(4);
  console.log(`${name}: ${set.count} images ${set.height}x${set.width}, batch ${BATCH}`);
  measure(`${name} plain (x/255 - mean)`, set, (idx) => fillBatch(set, idx, mean, out));
  measure(`${name} reference aug (shift+flip)`, set, (idx) => fillBatch(set, idx, mean, out, aug));
  measure(`${name} rotation + reference aug`, set, (idx) => fillRotationBatch(set, idx, mean, rot, out, aug));
  measure(`${name} contrastive, two views (img = pairs)`, set, (idx) =>
    fillTwoViews(set, idx, out, out2, rng, { mean }),
  );
}

console.log(`load average ${os.loadavg()[0]!.toFixed(2)} on ${os.cpus().length} CPUs`);
const t0 = performance.now();
const cifar = readCifar10(path.join(DATA, 'cifar-10-batches-bin'), 'train');
console.log(`read CIFAR-10 train (50,000) in ${((performance.now() - t0) / 1000).toFixed(2)} s`);
suite('cifar10', cifar);
// The sample's unlabeled images stand in for STL-10 (same 96x96 layout and per-image cost).
const stl = readStl10(path.join(DATA, 'stl10-sample'), 'unlabeled');
suite('stl10', stl);
