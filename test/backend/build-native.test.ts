// scripts/build-native.mjs: npm's postinstall must never fail an install, while an explicit
// build reports why it cannot build.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { test } from 'node:test';
import { REPO_ROOT } from '../helpers/paths.js';

const script = path.join(REPO_ROOT, 'scripts/build-native.mjs');
const build = (args: string[], env: Record<string, string>) =>
  spawnSync(process.execPath, [script, ...args], {
    cwd: REPO_ROOT,
    env: { ...process.env, ...env },
    encoding: 'utf8',
    timeout: 120_000,
  });

test('postinstall skips with a reason and status 0 when the addon cannot or must not be built', () => {
  const off = build(['--if-available'], { PRETEXT_NATIVE: '0' });
  assert.equal(off.status, 0, off.stderr);
  assert.match(off.stdout, /not built \(PRETEXT_NATIVE=0\).*wasm backend will be used/);
  const noCompiler = build(['--if-available'], { CXX: 'no-such-compiler-pretext' });
  assert.equal(noCompiler.status, 0, noCompiler.stderr);
  assert.match(noCompiler.stdout, /not built|up to date/);
});

test('an explicit build fails loudly when it cannot build', () => {
  const r = build(['--force'], { CXX: 'no-such-compiler-pretext' });
  // Without oneDNN headers the reason is those; with them, the missing compiler.
  assert.equal(r.status, 1);
  assert.match(r.stderr, /not built \((no C\+\+ compiler|oneDNN headers not found)/);
});
