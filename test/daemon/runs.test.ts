// pretextd end to end over real gRPC: runs through the queue, the event log and its streams.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { status } from '@grpc/grpc-js';
import type { RunEvent } from '../../gen/ts/pretext/v1/event.js';
import { type Run, RunKind, RunState } from '../../gen/ts/pretext/v1/run.js';
import type { GetServerInfoResponse, ListRunsResponse } from '../../gen/ts/pretext/v1/service.js';
import { startTestDaemon, type TestDaemon, tinyPretext } from '../helpers/daemon.js';

const TERMINAL = [RunState.RUN_STATE_SUCCEEDED, RunState.RUN_STATE_FAILED, RunState.RUN_STATE_CANCELLED];

function assertIncreasing(events: RunEvent[]): void {
  for (let i = 1; i < events.length; i++) {
    assert.ok(events[i]!.seq > events[i - 1]!.seq, `seq ${events[i]!.seq} after ${events[i - 1]!.seq}`);
  }
}

const states = (events: RunEvent[]) =>
  events.flatMap((e) => (e.payload?.$case === 'state' ? [e.payload.state.to] : []));

describe('pretextd runs', () => {
  let d: TestDaemon;
  before(async () => {
    d = await startTestDaemon();
  });
  after(async () => {
    await d.stop();
  });

  test('GetServerInfo describes the daemon', async () => {
    const info = await d.call<GetServerInfoResponse>('getServerInfo', {});
    assert.match(info.version, /^\d+\.\d+\.\d+/);
    assert.equal(info.maxConcurrentRuns, 1);
    assert.ok(info.backends.find((b) => b.name === 'cpu')?.available);
    assert.ok(info.pretextMethods.includes('rotation'));
    const cifar = info.datasets.find((x) => x.name === 'cifar10');
    assert.equal(cifar?.present, true);
    assert.equal(info.nodeVersion, process.version);
  });

  test('a run is queued, trains in a worker, succeeds, and is listed with its history', async () => {
    const { run } = await d.call<{ run: Run }>('startPretext', tinyPretext({ epochs: 2, steps: 3 }));
    // The response shows the run as it is now: queued, or already started on the free slot.
    assert.ok([RunState.RUN_STATE_QUEUED, RunState.RUN_STATE_RUNNING].includes(run.state));
    assert.equal(run.kind, RunKind.RUN_KIND_PRETEXT);
    assert.equal(run.method, 'rotation');
    // Defaults were filled in and recorded.
    assert.equal(run.config?.$case, 'pretext');
    if (run.config?.$case === 'pretext') {
      assert.equal(run.config.pretext.training?.lrSchedule, 'reference');
      assert.equal(run.config.pretext.training?.validationFraction, 0.1);
      assert.equal(run.config.pretext.rotationsPerImage, 1);
    }
    const events = await d.stream({ runId: run.id });
    assertIncreasing(events);
    assert.deepEqual(states(events), [
      RunState.RUN_STATE_QUEUED,
      RunState.RUN_STATE_RUNNING,
      RunState.RUN_STATE_SUCCEEDED,
    ]);
    const steps = events.filter((e) => e.payload?.$case === 'step');
    const epochs = events.filter((e) => e.payload?.$case === 'epoch');
    assert.equal(steps.length, 6);
    assert.equal(epochs.length, 2);
    assert.ok(events.some((e) => e.payload?.$case === 'result'));

    const done = await d.waitState(run.id, TERMINAL);
    assert.equal(done.state, RunState.RUN_STATE_SUCCEEDED, done.error);
    assert.equal(done.backend, 'cpu');
    assert.match(done.dataChecksum, /^[0-9a-f]{64}$/);
    assert.ok(done.startedAtUnixMs > 0 && done.finishedAtUnixMs >= done.startedAtUnixMs);
    assert.ok(Number.isFinite(done.result?.extra.final_loss));
    assert.equal(done.progress?.step, 6);
    assert.equal(done.progress?.fraction, 1);
    assert.equal(done.lastSeq, events.at(-1)!.seq);
    assert.equal(done.attempts, 1);
    assert.ok(done.codeRevision.length > 0);

    const list = await d.call<ListRunsResponse>('listRuns', { kinds: [RunKind.RUN_KIND_PRETEXT] });
    assert.ok(list.runs.some((r) => r.id === run.id));
    const none = await d.call<ListRunsResponse>('listRuns', { kinds: [RunKind.RUN_KIND_DOWNSTREAM] });
    assert.ok(!none.runs.some((r) => r.id === run.id));
    const byState = await d.call<ListRunsResponse>('listRuns', { states: [RunState.RUN_STATE_SUCCEEDED] });
    assert.ok(byState.runs.some((r) => r.id === run.id));

    // Replay from the middle equals the suffix; history_only ends by itself.
    const middle = events[Math.floor(events.length / 2)]!.seq;
    const suffix = await d.stream({ runId: run.id, fromSeq: middle, historyOnly: true });
    assert.deepEqual(
      suffix,
      events.filter((e) => e.seq >= middle),
    );
    const noSteps = await d.stream({ runId: run.id, skipSteps: true });
    assert.deepEqual(
      noSteps,
      events.filter((e) => e.payload?.$case !== 'step'),
    );
  });

  test('two watchers attached before the start see identical sequences; a reconnect has no gap', async () => {
    const { run } = await d.call<{ run: Run }>('startPretext', tinyPretext({ epochs: 3, steps: 4 }));
    const [a, b] = await Promise.all([d.stream({ runId: run.id }), d.stream({ runId: run.id })]);
    assert.deepEqual(a, b);
    assert.equal(states(a).at(-1), RunState.RUN_STATE_SUCCEEDED);
    // A watcher that drops after 5 events and resumes from last+1 gets the rest exactly once.
    const first = await d.stream({ runId: run.id }, (ev) => ev.length >= 5);
    const rest = await d.stream({ runId: run.id, fromSeq: first.at(-1)!.seq + 1 });
    assert.deepEqual([...first, ...rest], a);
  });

  test('a watcher that attaches late gets the full history, then live events', async () => {
    const { run } = await d.call<{ run: Run }>('startPretext', tinyPretext({ epochs: 4, steps: 4 }));
    await d.stream({ runId: run.id }, (ev) => ev.some((e) => e.payload?.$case === 'epoch'));
    const late = await d.stream({ runId: run.id });
    assert.deepEqual(states(late), [
      RunState.RUN_STATE_QUEUED,
      RunState.RUN_STATE_RUNNING,
      RunState.RUN_STATE_SUCCEEDED,
    ]);
    assert.equal(late.filter((e) => e.payload?.$case === 'epoch').length, 4);
    assertIncreasing(late);
  });

  test('the all-runs stream interleaves runs in global seq order', async () => {
    const all = await d.stream({ historyOnly: true });
    assertIncreasing(all);
    assert.ok(new Set(all.map((e) => e.runId)).size >= 3);
  });

  test('cancel stops a running run at a step boundary and a queued run at once', async () => {
    const long = await d.call<{ run: Run }>('startPretext', tinyPretext({ epochs: 500, steps: 5 }));
    const queued = await d.call<{ run: Run }>('startPretext', tinyPretext({ epochs: 1, steps: 1 }));
    await d.stream({ runId: long.run.id }, (ev) => ev.some((e) => e.payload?.$case === 'step'));
    // With one slot, the second run waits; cancelling it never starts a worker.
    const c2 = await d.call<{ run: Run }>('cancelRun', { runId: queued.run.id });
    assert.equal(c2.run.state, RunState.RUN_STATE_CANCELLED);
    assert.equal(c2.run.attempts, 0);
    await d.call('cancelRun', { runId: long.run.id });
    const done = await d.waitState(long.run.id, TERMINAL, 30_000);
    assert.equal(done.state, RunState.RUN_STATE_CANCELLED);
    assert.ok((done.progress?.step ?? 0) < 2500);
    await assert.rejects(d.call('cancelRun', { runId: long.run.id }), { code: status.FAILED_PRECONDITION });
  });

  test('a worker that crashes fails its run with the reason; the daemon runs the next one', async () => {
    await d.restart({ workerEnv: { PRETEXT_TINY_CRASH_SEED: '13' } });
    const crash = await d.call<{ run: Run }>('startPretext', tinyPretext({ epochs: 2, steps: 3, seed: 13 }));
    const next = await d.call<{ run: Run }>('startPretext', tinyPretext({ epochs: 1, steps: 2, seed: 14 }));
    const failed = await d.waitState(crash.run.id, TERMINAL);
    assert.equal(failed.state, RunState.RUN_STATE_FAILED);
    assert.match(failed.error, /killed by SIGKILL/);
    const ok = await d.waitState(next.run.id, TERMINAL);
    assert.equal(ok.state, RunState.RUN_STATE_SUCCEEDED, ok.error);
    // A failed run can be resumed (queued again, attempts count up).
    const resumed = await d.call<{ run: Run }>('resumeRun', { runId: crash.run.id });
    assert.ok([RunState.RUN_STATE_QUEUED, RunState.RUN_STATE_RUNNING].includes(resumed.run.state));
    const again = await d.waitState(crash.run.id, TERMINAL);
    assert.equal(again.attempts, 2);
  });

  test('a worker that never reports is killed by the start watchdog; its run fails with the reason', async () => {
    await d.restart({ workerEnv: { PRETEXT_TINY_HANG: '1' }, workerStartTimeoutMs: 3_000 });
    const { run } = await d.call<{ run: Run }>('startPretext', tinyPretext({ epochs: 1, steps: 1 }));
    const failed = await d.waitState(run.id, TERMINAL, 60_000);
    assert.equal(failed.state, RunState.RUN_STATE_FAILED);
    assert.match(failed.error, /reported nothing within 3 s/);
    await d.restart({ workerEnv: {} });
  });
});
