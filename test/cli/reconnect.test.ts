// `pretext watch` across a daemon restart: the stream drops, the client reconnects with backoff
// and resumes from the last seq + 1; the output has no gaps and no duplicates.
import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { ExitCode } from '../../clients/ts/exit-codes.js';
import { bufferIo } from '../../cli/io.js';
import { main } from '../../cli/main.js';
import { startTestDaemon, type TestDaemon, TINY_PRETEXT, waitFor } from './helpers.js';

describe('watch survives a daemon restart', () => {
  const daemons: TestDaemon[] = [];
  after(async () => {
    for (const d of daemons) await d.stop();
    await daemons[0]?.close();
  });

  it('resumes the stream after the restart without duplicates and exits with the outcome', {
    timeout: 120_000,
  }, async () => {
    const d1 = await startTestDaemon();
    daemons.push(d1);
    const long = [...TINY_PRETEXT];
    long[long.indexOf('--epochs') + 1] = '500';
    const startIo = bufferIo();
    assert.equal(
      await main(['--addr', d1.addr, 'pretext', 'start', ...long, '--json'], startIo),
      ExitCode.OK,
    );
    const runId = JSON.parse(startIo.stdout()).id as string;

    const io = bufferIo();
    const watching = main(['--addr', d1.addr, 'watch', runId, '--json'], io);
    const events = () =>
      io
        .stdout()
        .trim()
        .split('\n')
        .filter(Boolean)
        .map((l) => JSON.parse(l));
    const states = () =>
      events()
        .filter((e) => e.state)
        .map((e) => e.state.to as string);
    await waitFor(() => (states().includes('RUN_STATE_RUNNING') ? true : undefined), 30_000, 'RUNNING');

    await d1.stop(); // the run becomes INTERRUPTED, streams end
    const d2 = await startTestDaemon({ port: d1.port, stateDir: d1.stateDir }); // auto-resumes it
    daemons.push(d2);
    await waitFor(
      () => {
        const s = states();
        const i = s.indexOf('RUN_STATE_INTERRUPTED');
        return i > 0 && s.lastIndexOf('RUN_STATE_RUNNING') > i ? true : undefined;
      },
      30_000,
      'RUNNING again after the restart',
    );
    const cancelIo = bufferIo();
    const cancelled = await main(['--addr', d2.addr, 'cancel', runId], cancelIo);
    const code = await watching;
    const all = events();
    const last = all.pop();
    const seqs = all.map((e) => Number(e.seq));
    assert.equal(new Set(seqs).size, seqs.length, 'no duplicates');
    for (let i = 1; i < seqs.length; i++)
      assert.ok((seqs[i] as number) > (seqs[i - 1] as number), 'increasing');
    const st = all.filter((e) => e.state).map((e) => e.state.to);
    assert.deepEqual(st.slice(0, 3), ['RUN_STATE_QUEUED', 'RUN_STATE_RUNNING', 'RUN_STATE_INTERRUPTED']);
    assert.ok(st.indexOf('RUN_STATE_QUEUED', 3) > 2, 'queued again after the restart');
    if (cancelled === ExitCode.OK) {
      assert.equal(code, ExitCode.CANCELLED);
      assert.equal(last.outcome, 'cancelled');
    } else {
      assert.equal(code, ExitCode.FAILURE, cancelIo.stderr()); // the engine failed the run first
    }
    assert.match(io.stderr(), /waiting for the daemon to come back|reconnecting/);
  });
});
