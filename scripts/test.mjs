#!/usr/bin/env node
// npm test: node's test runner over every test/**/*.test.ts(x) through tsx. Node 20's runner
// does not expand globs itself, so the files are listed here. Extra arguments (file paths or
// runner flags) are passed through; given paths replace the default list.
import { spawnSync } from 'node:child_process';
import { readdirSync } from 'node:fs';
import path from 'node:path';

function find(dir) {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) return e.name === 'fixtures' ? [] : find(p);
    return /\.test\.tsx?$/.test(e.name) ? [p] : [];
  });
}

const args = process.argv.slice(2);
const files = args.filter((a) => !a.startsWith('-'));
const flags = args.filter((a) => a.startsWith('-'));
const list = files.length ? files : find('test').sort();
const res = spawnSync(
  process.execPath,
  // A hung test fails after 10 minutes instead of holding CI until its deadline.
  ['--import', 'tsx', '--test', '--test-concurrency=1', '--test-timeout=600000', ...flags, ...list],
  { stdio: 'inherit' },
);
process.exit(res.status ?? 1);
