#!/usr/bin/env node
// Builds pretext's optional native kernels (native/src/pretext_native.cc → native/build/
// pretext_native.node) against oneDNN (Debian: apt-get install libdnnl-dev) and Node's own
// headers, with the system g++. `--if-available` (npm's postinstall) skips quietly when oneDNN
// or a compiler is missing: the native backend is an accelerator, never a requirement.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const source = path.join(root, 'native/src/pretext_native.cc');
const out = path.join(root, 'native/build/pretext_native.node');
const optional = process.argv.includes('--if-available');
const force = process.argv.includes('--force');

function skip(reason) {
  const msg = `pretext native kernels: not built (${reason})`;
  if (optional) {
    console.log(
      `${msg}; the wasm backend will be used. To build: apt-get install libdnnl-dev && npm run build:native`,
    );
    process.exit(0);
  }
  console.error(msg);
  process.exit(1);
}

if (process.env.PRETEXT_NATIVE === '0') skip('PRETEXT_NATIVE=0');
// Every file in native/src counts (the addon's source includes headers beside it).
const newestSource = Math.max(
  ...fs.readdirSync(path.dirname(source)).map((f) => fs.statSync(path.join(path.dirname(source), f)).mtimeMs),
);
if (!force && fs.existsSync(out) && fs.statSync(out).mtimeMs > newestSource) {
  console.log(`pretext native kernels: up to date (${path.relative(root, out)})`);
  process.exit(0);
}

const includeDirs = [process.env.PRETEXT_DNNL_INCLUDE, '/usr/include', '/usr/local/include'].filter(Boolean);
const dnnlInclude = includeDirs.find((d) => fs.existsSync(path.join(d, 'oneapi/dnnl/dnnl.hpp')));
if (!dnnlInclude) skip('oneDNN headers not found: oneapi/dnnl/dnnl.hpp');
const nodeInclude = [
  path.resolve(path.dirname(process.execPath), '../include/node'),
  process.env.npm_config_nodedir && path.join(process.env.npm_config_nodedir, 'include/node'),
].find((d) => d && fs.existsSync(path.join(d, 'node_api.h')));
if (!nodeInclude) skip("Node's headers (node_api.h) not found next to this node binary");
const cxx = process.env.CXX || 'g++';
if (spawnSync(cxx, ['--version'], { stdio: 'ignore' }).status !== 0) skip(`no C++ compiler (${cxx})`);

fs.mkdirSync(path.dirname(out), { recursive: true });
// Ends in .node: require() loads other extensions as JavaScript.
const tmp = out.replace(/\.node$/, `.${process.pid}.tmp.node`);
const libDirs = process.env.PRETEXT_DNNL_LIB ? [`-L${process.env.PRETEXT_DNNL_LIB}`] : [];
const args = [
  '-std=c++17',
  '-O3',
  // No FP exception traps to preserve: lets GCC vectorise selects between computed values.
  '-fno-trapping-math',
  '-fPIC',
  '-shared',
  '-fopenmp',
  `-I${nodeInclude}`,
  `-I${dnnlInclude}`,
  source,
  ...libDirs,
  '-ldnnl',
  '-o',
  tmp,
];
const t0 = Date.now();
const res = spawnSync(cxx, args, { stdio: 'inherit' });
if (res.status !== 0) {
  fs.rmSync(tmp, { force: true });
  skip(`${cxx} failed with status ${res.status}`);
}
// The addon must load here, with this Node: a broken build is worse than none.
const check = spawnSync(
  process.execPath,
  ['-e', `console.log(JSON.stringify(require(${JSON.stringify(tmp)}).info()))`],
  {
    encoding: 'utf8',
  },
);
if (check.status !== 0) {
  fs.rmSync(tmp, { force: true });
  skip(`the built addon does not load: ${check.stderr.trim().split('\n').slice(-3).join(' ')}`);
}
fs.renameSync(tmp, out);
console.log(
  `pretext native kernels: built ${path.relative(root, out)} in ${((Date.now() - t0) / 1000).toFixed(1)} s — ${check.stdout.trim()}`,
);
