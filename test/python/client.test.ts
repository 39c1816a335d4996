// Runs the Python client's own suite (python3 -m unittest, Debian's interpreter with
// python3-grpcio/python3-protobuf) so `npm test` covers every client. It starts real
// pretextd processes on port 0 itself.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { test } from 'node:test';
import { REPO_ROOT } from '../helpers/paths.js';

const PYTHON = process.env.PRETEXT_PYTHON ?? '/usr/bin/python3';
const probe = spawnSync(PYTHON, ['-c', 'import grpc, google.protobuf'], { encoding: 'utf8' });
const missing =
  probe.status === 0
    ? false
    : `${PYTHON} with grpc and protobuf is not installed (apt-get install python3-grpcio python3-protobuf)`;

test('Python client: unit and end-to-end tests (python3 -m unittest)', {
  skip: missing,
  timeout: 1_200_000,
}, () => {
  const res = spawnSync(PYTHON, ['-m', 'unittest', 'discover', '-s', 'tests', '-t', '.'], {
    cwd: path.join(REPO_ROOT, 'clients/python'),
    encoding: 'utf8',
    env: { ...process.env, PYTHONDONTWRITEBYTECODE: '1' },
    timeout: 1_150_000,
  });
  const out = `${res.stdout}\n${res.stderr}`;
  const summary = /Ran (\d+) tests?/.exec(out);
  assert.equal(res.status, 0, `python tests failed:\n${out.slice(-6000)}`);
  assert.ok(summary && Number(summary[1]) > 0, 'no Python test ran');
});
