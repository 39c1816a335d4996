// Two builds of the native addon, interleaved, per convolution pass: for kernel work, where the
// VM's speed drifts by ±20 % between runs and only A B A B … pairs compare.
//
//   npx tsx bench/conv-ab.ts A.node B.node [rounds=5] [batch=128]
//
// Copy native/build/pretext_native.node aside before a change, rebuild, and pass both. Prints,
// per ResNet20 convolution kind, the median ms of forward / backward data / backward weights for
// A and B and A's time over B's (> 1: B is faster).
import { createRequire } from 'node:module';
import path from 'node:path';
import type { ConvGeometry, NativeAddon } from '../server/shared/backends/native-addon.js';

const [pathA, pathB, roundsArg = '5', batchArg = '128'] = process.argv.slice(2);
if (!pathA || !pathB) {
  console.error('usage: npx tsx bench/conv-ab.ts A.node B.node [rounds] [batch]');
  process.exit(2);
}
// As loadNative() does: OpenMP threads that spin would steal the other build's core.
process.env.OMP_WAIT_POLICY ??= 'passive';
const require = createRequire(import.meta.url);
const builds = [pathA, pathB].map((p) => require(path.resolve(p)) as NativeAddon);
const rounds = Number(roundsArg);
const n = Number(batchArg);

// [label, input size, in channels, out channels, stride, kernel, padding top-left, bottom-right]
const kinds: Array<[string, number, number, number, number, number, number[], number[]]> = [
  ['3x3 16->16 (Winograd)', 32, 16, 16, 1, 3, [1, 1], [1, 1]],
  ['3x3 32->32 (Winograd)', 16, 32, 32, 1, 3, [1, 1], [1, 1]],
  ['3x3 64->64 (Winograd)', 8, 64, 64, 1, 3, [1, 1], [1, 1]],
  ['3x3/2 16->32 (strided)', 32, 16, 32, 2, 3, [0, 0], [1, 1]],
  ['3x3/2 32->64 (strided)', 16, 32, 64, 2, 3, [0, 0], [1, 1]],
  ['1x1/2 16->32 (pointwise)', 32, 16, 32, 2, 1, [0, 0], [0, 0]],
  ['3x3 3->16 (few channels)', 32, 3, 16, 1, 3, [1, 1], [1, 1]],
];

let seed = 1;
const random = (len: number) =>
  Float32Array.from({ length: len }, () => {
    seed = (seed * 16807) % 2147483647;
    return seed / 2147483647 - 0.5;
  });
const median = (v: number[]) => [...v].sort((a, b) => a - b)[v.length >> 1]!;

console.log(`A ${pathA}\nB ${pathB}\nbatch ${n}, ${rounds} rounds, 8 calls a timing; median ms (A → B, A/B)`);
for (const [label, hw, c, k, stride, f, padTL, padBR] of kinds) {
  const ho = Math.floor((hw + padTL[0]! + padBR[0]! - f) / stride) + 1;
  const x = random(n * hw * hw * c);
  const w = random(f * f * c * k);
  const y = new Float32Array(n * ho * ho * k);
  const dy = random(y.length);
  const dx = new Float32Array(x.length);
  const dw = new Float32Array(w.length);
  const db = new Float32Array(k);
  const g: ConvGeometry = [
    [n, hw, hw, c],
    [f, f, c, k],
    [n, ho, ho, k],
    [stride, stride],
    padTL,
    padBR,
    [1, 1],
  ];
  const passes: Array<[string, (a: NativeAddon) => void]> = [
    ['forward', (a) => a.convForward(x, w, null, y, ...g, 0)],
    ...(c >= 8
      ? [
          ['backward data', (a: NativeAddon) => a.convBackwardData(dy, w, dx, ...g)] as [
            string,
            (a: NativeAddon) => void,
          ],
        ]
      : []),
    ['backward weights', (a) => a.convBackwardWeightsBias!(x, dy, dw, ...g, db)],
  ];
  const cells: string[] = [];
  for (const [name, run] of passes) {
    const ms: [number[], number[]] = [[], []];
    for (let r = 0; r < rounds; r++)
      for (const i of [0, 1] as const) {
        run(builds[i]!);
        const t0 = performance.now();
        for (let q = 0; q < 8; q++) run(builds[i]!);
        ms[i].push((performance.now() - t0) / 8);
      }
    const [a, b] = [median(ms[0]), median(ms[1])];
    cells.push(`${name} ${a.toFixed(2)} → ${b.toFixed(2)} (${(a / b).toFixed(2)}×)`);
  }
  console.log(`${label.padEnd(26)} ${cells.join('   ')}`);
}
