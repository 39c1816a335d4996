// Backend selection: availability probe, forced backends that cannot start fail loudly, and a
// process on threaded wasm exits by itself.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import { spawnSync } from 'node:child_process';
import { test } from 'node:test';
import * as tf from '@tensorflow/tfjs';
import {
  defaultThreads,
  initBackend,
  probeBackends,
  transparentHugePages,
} from '../../server/worker/backend/index.js';
import { nativeKernelsActive } from '../../server/worker/backend/native/kernels.js';
import { SKIP_NATIVE } from './native-available.js';
import { REPO_ROOT } from '../helpers/paths.js';

test('probeBackends lists every backend with a reason when unavailable', () => {
  const probes = probeBackends();
  assert.deepEqual(
    probes.map((p) => p.name),
    ['tensorflow-gpu', 'tensorflow', 'native', 'wasm', 'cpu', 'webgpu'],
  );
  for (const p of probes) {
    if (!p.available) assert.ok(p.reason.length > 0, `${p.name} needs a reason`);
  }
  assert.equal(probes.find((p) => p.name === 'cpu')?.available, true);
  assert.equal(probes.find((p) => p.name === 'wasm')?.available, true);
});

test('a forced backend that cannot start throws instead of falling back', async () => {
  for (const p of probeBackends().filter((b) => !b.available)) {
    await assert.rejects(initBackend(p.name), (err: Error) => err.message.includes(`backend "${p.name}"`));
  }
  await assert.rejects(initBackend('no-such-backend'), /unknown backend/);
});

test('wasm starts with all cores, cpu on request, and the active tfjs backend matches', async () => {
  const wasm = await initBackend('wasm');
  assert.equal(wasm.name, 'wasm');
  assert.equal(tf.getBackend(), 'wasm');
  assert.equal(wasm.threads, defaultThreads());
  const cpu = await initBackend('cpu');
  assert.deepEqual(cpu, { name: 'cpu', threads: 1, precision: 'fp32' });
  assert.equal(tf.getBackend(), 'cpu');
});

test('native runs on wasm with oneDNN kernels; plain wasm afterwards gets the stock ones back', {
  skip: SKIP_NATIVE,
}, async () => {
  const native = await initBackend('native');
  assert.equal(native.name, 'native');
  assert.equal(native.threads, defaultThreads());
  assert.match(
    native.detail ?? '',
    /^oneDNN \d+\.\d+\.\d+ \w+, \d+ threads(, Winograd 3×3)?(, 2 MB pages)?$/,
  );
  assert.equal(tf.getBackend(), 'wasm');
  assert.ok(nativeKernelsActive());
  const wasm = await initBackend('wasm');
  assert.equal(wasm.name, 'wasm');
  assert.equal(nativeKernelsActive(), false);
});

test('native asks for 2 MB pages over the wasm heap where Linux grants them; PRETEXT_HUGE_PAGES=0 keeps 4 KB', {
  skip: SKIP_NATIVE,
}, (t) => {
  if (!transparentHugePages()) return t.skip('transparent huge pages are off (never) or absent here');
  // A child per setting: the heap grows by 256 MB after the advice, all of it written.
  const script = [
    "import fs from 'node:fs';",
    "import * as tf from '@tensorflow/tfjs';",
    "import { initBackend } from './server/worker/backend/index.ts';",
    "const b = await initBackend('native');",
    'const big = tf.fill([64 * 1024 * 1024], 1);',
    'big.dataSync();',
    "const huge = Number(fs.readFileSync('/proc/self/smaps_rollup', 'utf8').match(/AnonHugePages:\\s+(\\d+)/)?.[1]);",
    'console.log(JSON.stringify({ detail: b.detail, hugeKb: huge }));',
  ].join('\n');
  const run = (env: Record<string, string>) => {
    const r = spawnSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], {
      cwd: REPO_ROOT,
      env: { ...process.env, ...env },
      encoding: 'utf8',
      timeout: 60_000,
    });
    assert.equal(r.status, 0, r.stderr);
    return JSON.parse(r.stdout.trim().split('\n').pop()!) as { detail: string; hugeKb: number };
  };
  const on = run({});
  assert.match(on.detail, /, 2 MB pages$/);
  assert.ok(on.hugeKb >= 128 * 1024, `AnonHugePages ${on.hugeKb} kB after 256 MB on the advised heap`);
  const off = run({ PRETEXT_HUGE_PAGES: '0' });
  assert.doesNotMatch(off.detail, /2 MB pages/);
  // Under "always" every large anonymous region may get them; under "madvise" only advised ones.
  const always = fs.readFileSync('/sys/kernel/mm/transparent_hugepage/enabled', 'utf8').includes('[always]');
  if (!always) assert.ok(off.hugeKb < on.hugeKb / 4, `AnonHugePages ${off.hugeKb} kB without the advice`);
});

test('PRETEXT_NATIVE=0 turns the native backend off with a reason', () => {
  const r = spawnSync(
    process.execPath,
    [
      '--import',
      'tsx',
      '--input-type=module',
      '-e',
      "import { probeBackends } from './server/worker/backend/index.ts'; console.log(JSON.stringify(probeBackends().find((p) => p.name === 'native')));",
    ],
    { cwd: REPO_ROOT, env: { ...process.env, PRETEXT_NATIVE: '0' }, encoding: 'utf8', timeout: 60_000 },
  );
  assert.equal(r.status, 0, r.stderr);
  assert.deepEqual(JSON.parse(r.stdout.trim()), {
    name: 'native',
    available: false,
    reason: 'turned off by PRETEXT_NATIVE=0',
  });
});

test('auto picks the first available backend in order', async () => {
  const choice = await initBackend('auto');
  const first = probeBackends().find((p) => p.available && p.name !== 'webgpu');
  assert.equal(choice.name, first?.name);
});

test('a process on threaded wasm exits on its own', async () => {
  const script = [
    "import * as tf from '@tensorflow/tfjs';",
    "import { initBackend } from './server/worker/backend/index.ts';",
    "const b = await initBackend('wasm');",
    'const y = tf.conv2d(tf.ones([2, 8, 8, 3]), tf.ones([3, 3, 3, 4]), 1, "same");',
    'console.log(JSON.stringify({ ...b, sum: y.sum().dataSync()[0] }));',
  ].join('\n');
  const r = spawnSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], {
    cwd: REPO_ROOT,
    env: { ...process.env, PRETEXT_THREADS: '2' },
    encoding: 'utf8',
    timeout: 60_000,
  });
  assert.equal(r.error, undefined, `child did not exit: ${r.error?.message}`);
  assert.equal(r.status, 0, r.stderr);
  const out = JSON.parse(r.stdout.trim().split('\n').pop()!);
  assert.equal(out.name, 'wasm');
  assert.equal(out.threads, 2);
  await initBackend('cpu');
  const expected = tf.tidy(
    () =>
      tf
        .conv2d(tf.ones([2, 8, 8, 3]) as tf.Tensor4D, tf.ones([3, 3, 3, 4]) as tf.Tensor4D, 1, 'same')
        .sum()
        .dataSync()[0],
  );
  assert.equal(out.sum, expected);
});
