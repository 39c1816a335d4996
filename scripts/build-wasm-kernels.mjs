#!/usr/bin/env node
// Builds native/wasm/kernels.c into gen/wasm/ with clang's wasm32 target (Debian: clang, lld):
// pretext-kernels.wasm for tfjs' single-threaded build and pretext-kernels-shared.wasm (atomics,
// shared memory) for its threaded one, plus stamp.json (the source's and outputs' sha256).
// The modules are committed, so that users need no compiler. `--check` rebuilds into a
// temporary folder and fails when the committed ones differ; without clang it says so and
// checks only that the stamp matches the source.
import { execFileSync, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

const root = path.resolve(path.dirname(new URL(import.meta.url).pathname), '..');
const source = path.join(root, 'native/wasm/kernels.c');
const outDir = path.join(root, 'gen/wasm');
const check = process.argv.includes('--check');

const COMMON = ['--target=wasm32', '-O3', '-msimd128', '-ffreestanding', '-fno-builtin', '-nostdlib'];
const VARIANTS = {
  'pretext-kernels.wasm': [],
  'pretext-kernels-shared.wasm': [
    '-matomics',
    '-mbulk-memory',
    '-DPRETEXT_SHARED',
    '-Wl,--shared-memory',
    // tfjs' threaded memory declares 4 GiB; an import's maximum must be at least the memory's.
    '-Wl,--max-memory=4294967296',
  ],
};
const LINK = ['-Wl,--no-entry', '-Wl,--import-memory', '-Wl,--strip-debug'];

const sha256 = (bytes) => createHash('sha256').update(bytes).digest('hex');

function haveClang() {
  const r = spawnSync('clang', ['--version'], { encoding: 'utf8' });
  return r.status === 0 ? r.stdout.split('\n')[0] : undefined;
}

/** Section ids of a wasm binary (its data segments and start function would write into tfjs' memory). */
function sections(bytes) {
  const ids = [];
  let p = 8;
  const leb = () => {
    let r = 0;
    let s = 0;
    let b;
    do {
      b = bytes[p++];
      r |= (b & 0x7f) << s;
      s += 7;
    } while (b & 0x80);
    return r >>> 0;
  };
  while (p < bytes.length) {
    const id = bytes[p++];
    const len = leb();
    ids.push(id);
    p += len;
  }
  return ids;
}

function build(dir) {
  fs.mkdirSync(dir, { recursive: true });
  const outputs = {};
  for (const [name, flags] of Object.entries(VARIANTS)) {
    const out = path.join(dir, name);
    // The C must not use lld's stack (it would sit in emscripten's memory): no __stack_pointer.
    const asm = execFileSync(
      'clang',
      [...COMMON, ...flags.filter((f) => !f.startsWith('-Wl')), '-S', '-o', '-', source],
      {
        encoding: 'utf8',
      },
    );
    if (asm.includes('__stack_pointer'))
      throw new Error(`${name}: kernels.c uses the C stack (see clang -S)`);
    execFileSync('clang', [...COMMON, ...flags, ...LINK, '-o', out, source], { stdio: 'inherit' });
    const bytes = fs.readFileSync(out);
    const bad = sections(bytes).filter((id) => id === 8 || id === 11);
    if (bad.length > 0) throw new Error(`${name}: has a start or data section (${bad.join(', ')})`);
    outputs[name] = sha256(bytes);
  }
  const stamp = { source: sha256(fs.readFileSync(source)), compiler: haveClang(), outputs };
  fs.writeFileSync(path.join(dir, 'stamp.json'), `${JSON.stringify(stamp, null, 2)}\n`);
}

const clang = haveClang();
if (!check) {
  if (!clang && process.argv.includes('--if-available')) {
    console.log('build-wasm-kernels: no clang here; gen/wasm kept as committed');
    process.exit(0);
  }
  if (!clang) {
    console.error(
      'build-wasm-kernels: clang with the wasm32 target is needed (Debian: apt-get install clang lld)',
    );
    process.exit(1);
  }
  build(outDir);
  console.log(`built ${Object.keys(VARIANTS).join(', ')} in gen/wasm (${clang})`);
} else {
  const stamp = JSON.parse(fs.readFileSync(path.join(outDir, 'stamp.json'), 'utf8'));
  if (stamp.source !== sha256(fs.readFileSync(source))) {
    console.error('gen/wasm is stale: native/wasm/kernels.c changed; run npm run build:wasm');
    process.exit(1);
  }
  if (!clang) {
    console.log('build-wasm-kernels --check: no clang here; the stamp matches the source');
    process.exit(0);
  }
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'pretext-wasm-'));
  try {
    build(tmp);
    for (const name of Object.keys(VARIANTS)) {
      if (!fs.readFileSync(path.join(tmp, name)).equals(fs.readFileSync(path.join(outDir, name)))) {
        console.error(`gen/wasm/${name} differs from a fresh build (${clang}): run npm run build:wasm`);
        process.exit(1);
      }
    }
    console.log('gen/wasm matches a fresh build');
  } finally {
    fs.rmSync(tmp, { recursive: true, force: true });
  }
}
