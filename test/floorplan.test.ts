// The floor plan (server/README.md): a file's folder says which process loads it. The daemon
// must never load tfjs (training never runs on the gRPC event loop), and the daemon, worker and
// shared folders import only what their row allows.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { REPO_ROOT } from './helpers/paths.js';

const IMPORT = /(?:import|export)\s[^'"]*?from\s+['"]([^'"]+)['"]|import\(\s*['"]([^'"]+)['"]\s*\)/g;

function resolveLocal(from: string, spec: string): string | undefined {
  const base = path.resolve(path.dirname(from), spec).replace(/\.(js|ts|tsx)$/, '');
  for (const ext of ['.ts', '.tsx', '/index.ts']) if (existsSync(base + ext)) return base + ext;
  return undefined;
}

/** Every local file reachable from `entry`, and every package specifier any of them imports. */
function importGraph(entry: string): { files: Set<string>; packages: Map<string, string> } {
  const files = new Set<string>();
  const packages = new Map<string, string>();
  const walk = (f: string) => {
    if (files.has(f)) return;
    files.add(f);
    for (const m of readFileSync(f, 'utf8').matchAll(IMPORT)) {
      const spec = (m[1] ?? m[2]) as string;
      if (spec.startsWith('.')) {
        const r = resolveLocal(f, spec);
        if (r) walk(r);
      } else if (!packages.has(spec)) {
        packages.set(spec, path.relative(REPO_ROOT, f));
      }
    }
  };
  walk(entry);
  return { files, packages };
}

function tsFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) return tsFiles(p);
    return /\.tsx?$/.test(e.name) ? [p] : [];
  });
}

const SERVER = path.join(REPO_ROOT, 'server');

test('nothing the daemon imports loads tfjs or Dawn (static import graph from server/daemon/main.ts)', () => {
  const { files, packages } = importGraph(path.join(SERVER, 'daemon/main.ts'));
  const tf = [...packages].filter(([p]) => p.startsWith('@tensorflow/') || p === 'webgpu');
  assert.deepEqual(tf, [], 'tfjs or Dawn (webgpu) reached from the daemon');
  const inWorker = [...files].filter((f) => f.startsWith(path.join(SERVER, 'worker')));
  assert.deepEqual(inWorker, [], 'the daemon imports worker files');
});

test('a running daemon has loaded no tfjs module and no Dawn', () => {
  const script = `
    import { mkdtempSync } from 'node:fs';
    import { createRequire } from 'node:module';
    import os from 'node:os';
    import path from 'node:path';
    const { startDaemon } = await import('./server/daemon/daemon.ts');
    const d = await startDaemon({ listen: '127.0.0.1:0', stateDir: mkdtempSync(path.join(os.tmpdir(), 'fp-')),
      dataDir: os.tmpdir(), allowDownload: false, quiet: true, stopGraceMs: 1000 });
    // What GetServerInfo runs: the webgpu adapter is probed in a child process.
    const { probeBackendsWithAdapter } = await import('./server/shared/backends/probe.ts');
    await probeBackendsWithAdapter();
    const loaded = Object.keys(createRequire(import.meta.url).cache).filter((k) => k.includes('@tensorflow') || k.includes('dawn.node'));
    await d.close();
    console.log(JSON.stringify(loaded));`;
  const res = spawnSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], {
    cwd: REPO_ROOT,
    encoding: 'utf8',
    timeout: 60_000,
  });
  assert.equal(res.status, 0, res.stderr);
  const lines = res.stdout.trim().split('\n');
  assert.deepEqual(JSON.parse(lines[lines.length - 1] ?? 'null'), []);
});

test('daemon/, worker/ and shared/ import only what their row of the floor plan allows', () => {
  const rules: Record<string, string[]> = {
    daemon: ['worker'],
    worker: ['daemon'],
    shared: ['daemon', 'worker'],
  };
  const offences: string[] = [];
  for (const [folder, forbidden] of Object.entries(rules)) {
    for (const f of tsFiles(path.join(SERVER, folder))) {
      for (const m of readFileSync(f, 'utf8').matchAll(IMPORT)) {
        const spec = (m[1] ?? m[2]) as string;
        if (folder !== 'worker' && spec.startsWith('@tensorflow/')) {
          offences.push(`${path.relative(REPO_ROOT, f)} imports ${spec}`);
        }
        if (!spec.startsWith('.')) continue;
        const target = path.relative(SERVER, path.resolve(path.dirname(f), spec));
        const top = target.split(path.sep)[0] ?? '';
        if (forbidden.includes(top)) offences.push(`${path.relative(REPO_ROOT, f)} imports ${spec}`);
      }
    }
  }
  assert.deepEqual(offences, []);
});

test('clients import nothing of server/ but the contract catalog (they ask the daemon for verdicts)', () => {
  const offences: string[] = [];
  for (const dir of ['cli', 'client-tui', 'clients/ts']) {
    for (const f of tsFiles(path.join(REPO_ROOT, dir))) {
      for (const m of readFileSync(f, 'utf8').matchAll(IMPORT)) {
        const spec = (m[1] ?? m[2]) as string;
        if (!spec.startsWith('.')) continue;
        const target = path.relative(REPO_ROOT, path.resolve(path.dirname(f), spec));
        // The catalog is data (names, limits for help texts); the daemon's verdict stays the rule.
        if (target.startsWith('server') && !target.startsWith(path.join('server', 'shared', 'contract'))) {
          offences.push(`${path.relative(REPO_ROOT, f)} imports ${spec}`);
        }
      }
    }
  }
  assert.deepEqual(offences, []);
});
