// Every command of `pretext` against a real daemon over real gRPC; --json parsed, exit codes
// checked. Runs are tiny real trainings (the engine's), so outcomes are whatever the engine
// reports and the assertions follow from them.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { ExitCode } from '../../clients/ts/exit-codes.js';
import { bufferIo } from '../../cli/io.js';
import { main } from '../../cli/main.js';
import { outcomeCode } from '../../cli/commands/watch.js';
import { RunState, runStateFromJSON } from '../../gen/ts/pretext/v1/run.js';
import { startTestDaemon, type TestDaemon, TINY_PRETEXT, waitFor } from './helpers.js';

interface CliResult {
  code: number;
  out: string;
  err: string;
}

async function cli(addr: string, ...args: string[]): Promise<CliResult> {
  const io = bufferIo({});
  const code = await main(['--addr', addr, ...args], io);
  return { code, out: io.stdout(), err: io.stderr() };
}

describe('pretext CLI against a real daemon', () => {
  let d: TestDaemon;
  let runId = '';
  let finalState = RunState.RUN_STATE_UNSPECIFIED;
  const run = (...args: string[]) => cli(d.addr, ...args);

  before(async () => {
    d = await startTestDaemon({ maxConcurrentRuns: 1 });
  });
  after(async () => {
    await d.close();
  });

  it('info --json describes the daemon', async () => {
    const r = await run('info', '--json');
    assert.equal(r.code, ExitCode.OK, r.err);
    const info = JSON.parse(r.out);
    assert.ok(info.version);
    assert.ok(info.pretextMethods.includes('rotation'));
    assert.ok(
      info.datasets.some((x: { name: string; present: boolean }) => x.name === 'cifar10' && x.present),
    );
    const text = await run('info');
    assert.match(text.out, /cifar10\s+present/);
  });

  it('starts a tiny pretext run and watches it to its outcome (JSON lines)', async () => {
    const start = await run('pretext', 'start', ...TINY_PRETEXT, '--name', 'cli-e2e', '--json');
    assert.equal(start.code, ExitCode.OK, start.err);
    const queued = JSON.parse(start.out);
    runId = queued.id;
    assert.match(runId, /^[A-Za-z0-9._-]+$/);
    assert.equal(queued.pretext.depth, 8);

    const w = await run('watch', runId, '--json');
    const lines = w.out
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l));
    const last = lines.pop();
    finalState = runStateFromJSON(last.run.state);
    assert.equal(w.code, outcomeCode(finalState), w.err);
    assert.equal(last.exitCode, w.code);
    // Gap-free and duplicate-free: strictly increasing seqs, every one for this run.
    const seqs = lines.map((e) => Number(e.seq));
    for (let i = 1; i < seqs.length; i++) assert.ok((seqs[i] as number) > (seqs[i - 1] as number));
    assert.ok(lines.every((e) => e.runId === runId));
    assert.equal(lines[0].state.to, 'RUN_STATE_QUEUED');
    assert.ok([RunState.RUN_STATE_SUCCEEDED, RunState.RUN_STATE_FAILED].includes(finalState));
    if (finalState === RunState.RUN_STATE_SUCCEEDED) {
      assert.deepEqual(
        lines.filter((e) => e.epoch).map((e) => e.epoch.epoch),
        [1, 2],
      );
    } else {
      assert.ok(last.run.error, 'a failed run says why');
    }
  });

  it('watch (human) of a finished run prints the epochs and exits with its outcome', async () => {
    const w = await run('watch', runId);
    assert.equal(w.code, outcomeCode(finalState));
    assert.match(w.out, new RegExp(`watching ${runId}`));
    if (finalState === RunState.RUN_STATE_SUCCEEDED) {
      assert.match(w.out, /epoch 1\/2 .*val loss/);
      assert.match(w.out, /succeeded/);
    }
  });

  it('runs and show report it, with filters', async () => {
    const all = await run('runs', '--json');
    assert.equal(all.code, ExitCode.OK);
    assert.ok(JSON.parse(all.out).runs.some((r: { id: string }) => r.id === runId));
    const stateName = finalState === RunState.RUN_STATE_SUCCEEDED ? 'succeeded' : 'failed';
    const same = JSON.parse((await run('runs', '--state', stateName, '--kind', 'pretext', '--json')).out);
    assert.ok(same.runs.some((r: { id: string }) => r.id === runId));
    const other = JSON.parse((await run('runs', '--state', 'queued,cancelled', '--json')).out);
    assert.ok(!other.runs.some((r: { id: string }) => r.id === runId));
    const table = await run('runs');
    assert.match(table.out, new RegExp(`${runId}\\s+${stateName}\\s+pretext\\s+rotation\\s+cifar10`));
    const show = await run('show', runId, '--json');
    assert.equal(show.code, ExitCode.OK);
    const r = JSON.parse(show.out);
    assert.equal(r.id, runId);
    assert.equal(r.name, 'cli-e2e');
    assert.equal(runStateFromJSON(r.state), finalState);
    const text = await run('show', runId);
    assert.match(text.out, new RegExp(`id\\s+${runId}`));
    assert.equal((await run('runs', '--state', 'sleeping')).code, ExitCode.INVALID_ARGUMENT);
  });

  it('eval --wait evaluates the run (or fails clearly when there is no checkpoint)', async () => {
    const r = await run('eval', runId, '--split', 'test', '--limit', '64', '--wait', '--json');
    if (finalState === RunState.RUN_STATE_SUCCEEDED) {
      assert.equal(r.code, ExitCode.OK, r.err);
      const res = JSON.parse(r.out);
      assert.equal(res.run.parentRunId, runId);
      assert.equal(res.result.split, 'test');
      assert.equal(res.result.numExamples, 64);
    } else {
      assert.notEqual(r.code, ExitCode.OK);
      assert.match(r.err, /pretext: /);
    }
  });

  it('downstream start --from queues an SSL+SL run; unknown runs exit 5', async () => {
    const r = await run(
      'downstream',
      'start',
      '--from',
      runId,
      '--n-labels',
      '100',
      '--epochs',
      '1',
      '--max-steps-per-epoch',
      '2',
      '--test-limit',
      '50',
      '--json',
    );
    if (finalState === RunState.RUN_STATE_SUCCEEDED) {
      assert.equal(r.code, ExitCode.OK, r.err);
      const ds = JSON.parse(r.out);
      assert.equal(ds.parentRunId, runId);
      assert.equal(ds.downstream.nLabels, 100);
      const c = await run('cancel', ds.id);
      assert.ok(c.code === ExitCode.OK || c.code === ExitCode.CONFLICT, c.err);
    }
    const missing = await run(
      'downstream',
      'start',
      '--from',
      'r-nope',
      '--n-labels',
      '100',
      '--epochs',
      '1',
    );
    assert.equal(missing.code, ExitCode.NOT_FOUND, missing.err);
    for (const cmd of ['show', 'watch', 'cancel', 'resume']) {
      const x = await run(cmd, 'r-does-not-exist');
      assert.equal(x.code, ExitCode.NOT_FOUND, `${cmd}: ${x.err}`);
      assert.match(x.err, /not found: run r-does-not-exist/);
    }
  });

  it('cancel: running and queued runs end CANCELLED, a second cancel is a conflict', async () => {
    const long = [...TINY_PRETEXT];
    long[long.indexOf('--epochs') + 1] = '500';
    const a = JSON.parse((await run('pretext', 'start', ...long, '--json')).out);
    const b = JSON.parse((await run('pretext', 'start', ...long, '--json')).out);
    // One slot: b waits behind a.
    assert.equal(b.state, 'RUN_STATE_QUEUED');
    const cb = await run('cancel', b.id, '--json');
    assert.equal(cb.code, ExitCode.OK, cb.err);
    assert.equal(JSON.parse(cb.out).state, 'RUN_STATE_CANCELLED');
    const again = await run('cancel', b.id);
    assert.equal(again.code, ExitCode.CONFLICT);
    assert.match(again.err, /nothing to cancel/);
    assert.equal((await run('resume', b.id)).code, ExitCode.CONFLICT);
    await waitFor(
      async () => {
        const s = JSON.parse((await run('show', a.id, '--json')).out).state;
        return s === 'RUN_STATE_QUEUED' ? undefined : s;
      },
      30_000,
      'run a to start',
    );
    const ca = await run('cancel', a.id);
    assert.ok(ca.code === ExitCode.OK || ca.code === ExitCode.CONFLICT, ca.err);
    const w = await run('watch', a.id);
    // Cancelled, unless the engine failed first (then the cancel was a conflict).
    assert.equal(w.code, ca.code === ExitCode.OK ? ExitCode.CANCELLED : ExitCode.FAILURE, w.out + w.err);
    assert.match(w.out, ca.code === ExitCode.OK ? /cancelled/ : /failed/);
  });
});

describe('pretext CLI authentication and TLS', () => {
  let withToken: TestDaemon;
  let withTls: TestDaemon;
  before(async () => {
    [withToken, withTls] = await Promise.all([
      startTestDaemon({ token: 'sekret' }),
      startTestDaemon({ tls: true }),
    ]);
  });
  after(async () => {
    await Promise.all([withToken.close(), withTls.close()]);
  });

  it('exits 4 without the right token and 0 with it (flag, file, environment)', async () => {
    const none = await cli(withToken.addr, 'runs');
    assert.equal(none.code, ExitCode.UNAUTHENTICATED);
    assert.match(none.err, /needs a token: pass --token or --token-file, or set PRETEXT_TOKEN/);
    const wrong = await cli(withToken.addr, '--token', 'nope', 'runs');
    assert.equal(wrong.code, ExitCode.UNAUTHENTICATED);
    assert.match(wrong.err, /token is wrong/);
    assert.equal((await cli(withToken.addr, '--token', 'sekret', 'runs', '--json')).code, ExitCode.OK);
    const fs = await import('node:fs');
    const os = await import('node:os');
    const path = await import('node:path');
    const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'pretext-token-')), 'token');
    fs.writeFileSync(file, 'sekret\n');
    assert.equal((await cli(withToken.addr, '--token-file', file, 'info', '--json')).code, ExitCode.OK);
    const io = bufferIo({ PRETEXT_TOKEN: 'sekret', PRETEXT_ADDR: withToken.addr });
    assert.equal(await main(['runs'], io), ExitCode.OK, io.stderr());
    fs.rmSync(path.dirname(file), { recursive: true });
  });

  it('explains TLS mismatches in both directions and connects with the right CA', async () => {
    const { FIXTURES } = await import('./helpers.js');
    const ca = `${FIXTURES}/server-cert.pem`;
    const other = `${FIXTURES}/other-ca.pem`;
    const plain = await cli(withTls.addr, 'runs');
    assert.equal(plain.code, ExitCode.UNREACHABLE);
    assert.match(plain.err, /TLS mismatch: the daemon at .* expects TLS\. Pass --tls-ca/);
    const wrongCa = await cli(withTls.addr, '--tls-ca', other, 'runs');
    assert.equal(wrongCa.code, ExitCode.UNREACHABLE);
    assert.match(wrongCa.err, /TLS mismatch: the daemon's certificate .* is not trusted/);
    const toPlain = await cli(withToken.addr, '--tls-ca', ca, 'runs');
    assert.equal(toPlain.code, ExitCode.UNREACHABLE);
    assert.match(toPlain.err, /does not speak TLS/);
    const ok = await cli(`localhost:${withTls.port}`, '--tls-ca', ca, 'runs', '--json');
    assert.equal(ok.code, ExitCode.OK, ok.err);
    assert.deepEqual(JSON.parse(ok.out), { runs: [] });
  });
});
