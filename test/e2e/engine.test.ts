// The production engine through the daemon and the real gRPC client: rotation pretext, SL and
// SSL+SL downstream, Evaluate, and resume after the worker is killed mid-run. Small real
// CIFAR-10 slices and few steps keep it within CI's budget; learning itself is tested in
// test/methods and test/engine.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { RunEvent } from '../../gen/ts/pretext/v1/event.js';
import { CheckpointChoice, Protocol, type Run, RunState } from '../../gen/ts/pretext/v1/run.js';
import type { EvaluateResponse } from '../../gen/ts/pretext/v1/service.js';
import { startTestDaemon, type TestDaemon } from '../helpers/daemon.js';

const TERMINAL = [RunState.RUN_STATE_SUCCEEDED, RunState.RUN_STATE_FAILED, RunState.RUN_STATE_CANCELLED];

const epochsOf = (events: RunEvent[]) =>
  events.flatMap((e) => (e.payload?.$case === 'epoch' ? [e.payload.epoch.epoch] : []));

describe('engine through pretextd', () => {
  let d: TestDaemon;
  let pretext: Run;
  before(async () => {
    // The production worker (workerEntry undefined → server/worker/engine/worker.ts).
    d = await startTestDaemon({ workerEntry: undefined });
  });
  after(async () => {
    await d.stop();
  });

  test('rotation pretext runs in a worker, streams and persists its metrics, writes checkpoints', async () => {
    const { run } = await d.call<{ run: Run }>('startPretext', {
      name: 'e2e pretext',
      config: {
        method: 'rotation',
        unlabeledLimit: 600,
        depth: 8,
        training: {
          epochs: 2,
          batchSize: 32,
          maxStepsPerEpoch: 6,
          validationLimit: 60,
          augment: true,
          seed: 3,
        },
      },
    });
    const events = await d.stream({ runId: run.id });
    pretext = await d.waitState(run.id, TERMINAL, 300_000);
    assert.equal(pretext.state, RunState.RUN_STATE_SUCCEEDED, pretext.error);
    assert.deepEqual(epochsOf(events), [1, 2]);
    assert.ok(events.some((e) => e.payload?.$case === 'step'));
    assert.ok(['native', 'wasm', 'cpu', 'tensorflow', 'tensorflow-gpu'].includes(pretext.backend));
    assert.match(pretext.dataChecksum, /^[0-9a-f]{64}$/);
    assert.deepEqual(pretext.artifacts.map((a) => a.name).sort(), ['best', 'last']);
    assert.equal(pretext.result?.validation?.task, 'rotation');
    assert.equal(pretext.result?.validation?.numClasses, 4);
    // What was streamed is what a late watcher replays.
    assert.deepEqual(await d.stream({ runId: run.id, historyOnly: true }), events);
  });

  test('SL and SSL+SL downstream end in test results; Evaluate agrees with the run', async () => {
    const downstream = (pretextRunId: string) => ({
      config: {
        pretextRunId,
        nLabels: 100,
        fold: 0,
        depth: 8,
        testLimit: 200,
        // Which checkpoint of the pretext run: only a run from one has a choice to make.
        checkpoint: pretextRunId
          ? CheckpointChoice.CHECKPOINT_CHOICE_BEST
          : CheckpointChoice.CHECKPOINT_CHOICE_UNSPECIFIED,
        protocol: Protocol.PROTOCOL_FINE_TUNE,
        training: { epochs: 2, batchSize: 32, validationLimit: 100, seed: 5 },
      },
    });
    const ssl = await d.call<{ run: Run }>('startDownstream', downstream(pretext.id));
    const sl = await d.call<{ run: Run }>('startDownstream', downstream(''));
    assert.equal(ssl.run.parentRunId, pretext.id);
    for (const id of [ssl.run.id, sl.run.id]) {
      const run = await d.waitState(id, TERMINAL, 300_000);
      assert.equal(run.state, RunState.RUN_STATE_SUCCEEDED, run.error);
      const t = run.result?.test;
      assert.ok(t, 'test result');
      assert.equal(t.numExamples, 200);
      assert.equal(t.numClasses, 10);
      assert.equal(t.confusionMatrix.length, 100);
      assert.equal(
        t.confusionMatrix.reduce((a, b) => a + b, 0),
        200,
      );
      const correct = t.confusionMatrix.filter((_, i) => i % 11 === 0).reduce((a, b) => a + b, 0);
      assert.ok(Math.abs(t.accuracy - correct / 200) < 1e-9);
    }
    const ev = await d.call<EvaluateResponse>('evaluate', {
      config: {
        targetRunId: ssl.run.id,
        split: 'test',
        limit: 200,
        checkpoint: CheckpointChoice.CHECKPOINT_CHOICE_BEST,
      },
      wait: true,
    });
    assert.ok(ev.run);
    assert.equal(ev.run.state, RunState.RUN_STATE_SUCCEEDED, ev.run.error);
    assert.equal(ev.run.parentRunId, ssl.run.id);
    const { run: sslRun } = await d.call<{ run: Run }>('getRun', { runId: ssl.run.id });
    assert.ok(ev.result);
    assert.ok(
      Math.abs(ev.result.accuracy - sslRun.result!.test!.accuracy) < 1e-9,
      'same checkpoint, same data → same accuracy',
    );
    assert.ok(Math.abs(ev.result.loss - sslRun.result!.test!.loss) < 1e-4);
  });

  test('a killed worker fails the run; ResumeRun continues from the last checkpoint with continuous epochs', async () => {
    const { run } = await d.call<{ run: Run }>('startPretext', {
      config: {
        unlabeledLimit: 400,
        depth: 8,
        training: { epochs: 4, batchSize: 32, maxStepsPerEpoch: 4, validationLimit: 40, seed: 9 },
      },
    });
    // Kill the worker once epoch 2's checkpoint is on disk.
    await d.stream({ runId: run.id }, (ev) =>
      ev.some(
        (e) =>
          e.payload?.$case === 'checkpoint' &&
          e.payload.checkpoint.artifact?.name === 'last' &&
          e.payload.checkpoint.artifact.epoch === 2,
      ),
    );
    const [pid] = d.daemon.workerPids();
    assert.ok(pid);
    process.kill(pid, 'SIGKILL');
    const failed = await d.waitState(run.id, TERMINAL);
    assert.equal(failed.state, RunState.RUN_STATE_FAILED);
    await d.call('resumeRun', { runId: run.id });
    const done = await d.waitState(run.id, TERMINAL, 300_000);
    assert.equal(done.state, RunState.RUN_STATE_SUCCEEDED, done.error);
    assert.equal(done.attempts, 2);
    const epochs = epochsOf(await d.stream({ runId: run.id, historyOnly: true }));
    // Epochs 1–2 before the kill (maybe part of 3 lost), then 3–4 after: no gap, at most the
    // killed epoch repeated.
    const unique = [...new Set(epochs)];
    assert.deepEqual(unique, [1, 2, 3, 4]);
    assert.ok(epochs.length <= 5, `epochs: ${epochs.join(',')}`);
    assert.equal(done.result?.epochsTrained, 4);
  });
});
