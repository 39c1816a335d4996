// pretextd started the way contrib/systemd/pretextd.service starts it: same ExecStart flags
// (paths swapped for temporary ones), a token handed over in a file, and NOTIFY_SOCKET pointing
// at a real unix datagram socket that this test listens on (python3), as systemd's would.
// Checks the unit's key settings, READY=1 only once the port answers, MAINPID, STOPPING=1 on
// SIGTERM, JSON log lines (pino) with run ids as fields, and that the token is never logged.
import assert from 'node:assert/strict';
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import * as grpc from '@grpc/grpc-js';
import { RunState } from '../../gen/ts/pretext/v1/run.js';
import {
  GetRunRequest,
  GetServerInfoRequest,
  type GetServerInfoResponse,
  PretextServiceClient,
  StartPretextRequest,
} from '../../gen/ts/pretext/v1/service.js';
import { TINY_WORKER, tinyPretext } from '../helpers/daemon.js';
import { REPO_ROOT, SHARED_DATASETS } from '../helpers/paths.js';
import { workerPidsOf } from '../helpers/daemon-process.js';

const UNIT = path.join(REPO_ROOT, 'contrib/systemd/pretextd.service');

/** `Key=value` lines of the [Service] section (continuations joined, comments dropped). */
function serviceSection(text: string): Map<string, string> {
  const joined = text.replace(/\\\n\s*/g, ' ');
  const out = new Map<string, string>();
  let section = '';
  for (const line of joined.split('\n')) {
    const l = line.trim();
    if (!l || l.startsWith('#')) continue;
    const s = /^\[(.+)\]$/.exec(l);
    if (s) section = s[1]!;
    else if (section === 'Service') {
      const i = l.indexOf('=');
      out.set(l.slice(0, i), l.slice(i + 1));
    }
  }
  return out;
}

// Receives datagrams on a unix socket and prints each as one JSON line.
const RECEIVER = `
import socket, sys, json
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind(sys.argv[1])
print(json.dumps("bound"), flush=True)
while True:
    data = s.recv(65536)
    print(json.dumps(data.decode()), flush=True)
`;

function lines(
  child: ChildProcess,
  stream: 'stdout' | 'stderr',
): { all: string[]; wait(re: RegExp, ms?: number): Promise<string> } {
  const all: string[] = [];
  let buf = '';
  const waiters: Array<() => void> = [];
  child[stream]!.on('data', (c: Buffer) => {
    buf += c.toString();
    let nl = buf.indexOf('\n');
    while (nl >= 0) {
      all.push(buf.slice(0, nl));
      buf = buf.slice(nl + 1);
      nl = buf.indexOf('\n');
    }
    for (const w of waiters.splice(0)) w();
  });
  return {
    all,
    wait(re, ms = 60_000) {
      return new Promise((resolve, reject) => {
        const timer = setTimeout(
          () => reject(new Error(`timed out waiting for ${re} in ${stream}: ${all.join('\n')}`)),
          ms,
        );
        const check = () => {
          const hit = all.find((l) => re.test(l));
          if (hit !== undefined) {
            clearTimeout(timer);
            resolve(hit);
          } else waiters.push(check);
        };
        check();
      });
    },
  };
}

test('the unit has the settings an operator relies on', () => {
  const svc = serviceSection(readFileSync(UNIT, 'utf8'));
  assert.equal(svc.get('Type'), 'notify');
  assert.equal(svc.get('NotifyAccess'), 'all');
  assert.equal(svc.get('Restart'), 'on-failure');
  assert.equal(svc.get('User'), 'pretext');
  assert.equal(svc.get('StateDirectory'), 'pretext');
  assert.equal(svc.get('ProtectSystem'), 'strict');
  assert.equal(svc.get('PrivateTmp'), 'yes');
  assert.equal(svc.get('NoNewPrivileges'), 'yes');
  const exec = svc.get('ExecStart') ?? '';
  for (const flag of [
    '--state-dir /var/lib/pretext',
    '--data-dir /var/cache/pretext/datasets',
    '--metrics-listen',
  ]) {
    assert.ok(exec.includes(flag), `ExecStart lacks ${flag}`);
  }
});

test('systemd-analyze accepts the unit', (t) => {
  // systemd ships systemd-analyze beside systemd-notify; CI installs systemd for the notify test.
  const dir = mkdtempSync(path.join(os.tmpdir(), 'pretext-verify-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  // The node binary of this host stands in for /usr/bin/node (verify checks it is executable).
  const unit = path.join(dir, 'pretextd.service');
  writeFileSync(unit, readFileSync(UNIT, 'utf8').replace('/usr/bin/node', process.execPath));
  const res = spawnSync('systemd-analyze', ['verify', unit], { encoding: 'utf8', timeout: 30_000 });
  assert.equal(res.status, 0, res.stderr);
  // Missing /opt/pretext is fine here; anything else systemd-analyze says is not.
  const complaints = `${res.stdout}${res.stderr}`
    .split('\n')
    .filter((l) => l.trim() && !l.includes('/opt/pretext'));
  assert.deepEqual(complaints, []);
});

test('started as the unit starts it, pretextd signals READY once serving, logs JSON, and never logs the token', async (t) => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'pretext-unit-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const socketPath = path.join(dir, 'notify.sock');
  const receiver = spawn('python3', ['-c', RECEIVER, socketPath], { stdio: ['ignore', 'pipe', 'inherit'] });
  t.after(() => receiver.kill());
  const notes = lines(receiver, 'stdout');
  await notes.wait(/"bound"/);

  const token = `tok-${Math.random().toString(36).slice(2)}-secret`;
  const tokenFile = path.join(dir, 'token');
  writeFileSync(tokenFile, `${token}\n`, { mode: 0o600 });
  const svc = serviceSection(readFileSync(UNIT, 'utf8'));
  const argv = (svc.get('ExecStart') ?? '').trim().split(/\s+/);
  assert.equal(argv[0], '/usr/bin/node');
  assert.equal(argv[1], '/opt/pretext/bin/pretextd.js');
  const swap: Record<string, string> = {
    '--listen': '127.0.0.1:0',
    '--state-dir': path.join(dir, 'state'),
    '--data-dir': SHARED_DATASETS,
    '--metrics-listen': '127.0.0.1:0',
  };
  const args = argv.slice(2).map((a, i, all) => swap[all[i - 1] ?? ''] ?? a);
  const child = spawn(process.execPath, [path.join(REPO_ROOT, 'bin/pretextd.js'), ...args], {
    cwd: REPO_ROOT,
    env: {
      ...process.env,
      NOTIFY_SOCKET: socketPath,
      PRETEXT_TOKEN_FILE: tokenFile,
      PRETEXT_WORKER_ENTRY: TINY_WORKER,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  t.after(() => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  });
  const out = lines(child, 'stdout');
  const err = lines(child, 'stderr');

  const ready = JSON.parse(await notes.wait(/READY=1/)) as string;
  const fields = Object.fromEntries(ready.split('\n').map((kv) => kv.split('=', 2) as [string, string]));
  assert.equal(fields.READY, '1');
  assert.equal(Number(fields.MAINPID), child.pid, 'MAINPID must name the daemon, not systemd-notify');
  assert.match(fields.STATUS ?? '', /^listening on 127\.0\.0\.1:\d+$/);
  // READY means serving: the address is printed and the first call answers.
  const address = /pretextd listening on (\S+)/.exec(await out.wait(/pretextd listening on/, 5_000))![1]!;
  assert.equal(fields.STATUS, `listening on ${address}`);
  const client = new PretextServiceClient(address, grpc.credentials.createInsecure());
  t.after(() => client.close());
  const md = new grpc.Metadata();
  md.set('authorization', `Bearer ${token}`);
  const info = await new Promise<GetServerInfoResponse>((resolve, reject) =>
    client.getServerInfo(GetServerInfoRequest.fromPartial({}), md, (e, r) => (e ? reject(e) : resolve(r))),
  );
  assert.equal(info.stateDir, path.join(dir, 'state'));
  // A wrong token is refused (and must not be logged either).
  const bad = new grpc.Metadata();
  bad.set('authorization', `Bearer ${token}-wrong`);
  await assert.rejects(
    new Promise((resolve, reject) =>
      client.getServerInfo(GetServerInfoRequest.fromPartial({}), bad, (e, r) => (e ? reject(e) : resolve(r))),
    ),
    (e: grpc.ServiceError) => e.code === grpc.status.UNAUTHENTICATED,
  );

  // A run: its worker must not inherit NOTIFY_SOCKET (only the daemon speaks to systemd).
  const runId = await new Promise<string>((resolve, reject) =>
    client.startPretext(StartPretextRequest.fromPartial(tinyPretext({ epochs: 3, steps: 3 })), md, (e, r) =>
      e ? reject(e) : resolve(r.run!.id),
    ),
  );
  const started = JSON.parse(await err.wait(/"msg":"run started"/)) as Record<string, unknown>;
  assert.equal(started.run, runId);
  const workers = await workerPidsOf(child.pid!, `pretext-worker run ${runId}`);
  assert.equal(workers.length, 1);
  const workerEnv = readFileSync(`/proc/${workers[0]}/environ`, 'utf8').split('\0');
  assert.ok(!workerEnv.some((kv) => kv.startsWith('NOTIFY_SOCKET=')), 'the worker inherited NOTIFY_SOCKET');
  assert.ok(
    workerEnv.some((kv) => kv.startsWith('PRETEXT_WORKER_ENTRY=')),
    'read the wrong process environment',
  );
  for (;;) {
    const run = await new Promise<{ state: RunState }>((resolve, reject) =>
      client.getRun(GetRunRequest.fromPartial({ runId }), md, (e, r) => (e ? reject(e) : resolve(r.run!))),
    );
    if (run.state === RunState.RUN_STATE_SUCCEEDED) break;
    assert.ok(
      run.state === RunState.RUN_STATE_RUNNING || run.state === RunState.RUN_STATE_QUEUED,
      RunState[run.state],
    );
    await new Promise((r) => setTimeout(r, 100));
  }

  child.kill('SIGTERM');
  const code = await new Promise<number | null>((resolve) => child.once('exit', (c) => resolve(c)));
  assert.equal(code, 0);
  await notes.wait(/STOPPING=1/, 10_000);

  // Every stderr line is one JSON log record; the token appears nowhere.
  assert.ok(err.all.length >= 4, err.all.join('\n'));
  for (const line of err.all) {
    const rec = JSON.parse(line) as Record<string, unknown>;
    assert.ok(['debug', 'info', 'warn', 'error'].includes(String(rec.level)), line);
    assert.equal(typeof rec.msg, 'string');
    assert.match(String(rec.time), /^\d{4}-\d\d-\d\dT/);
  }
  const ended = err.all
    .map((l) => JSON.parse(l) as Record<string, unknown>)
    .find((r) => r.msg === 'run ended');
  assert.equal(ended?.run, runId);
  for (const text of [...err.all, ...out.all, ...notes.all])
    assert.ok(!text.includes(token), `token leaked: ${text}`);
});
