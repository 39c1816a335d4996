// A contrastive pretext run through the daemon: SimCLR trains in a worker, reports its kNN
// monitor and collapse indicator per epoch, and Evaluate scores its checkpoint by kNN.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { RunEvent } from '../../gen/ts/pretext/v1/event.js';
import { CheckpointChoice, type Run, RunState } from '../../gen/ts/pretext/v1/run.js';
import type { EvaluateResponse } from '../../gen/ts/pretext/v1/service.js';
import { startTestDaemon } from '../helpers/daemon.js';

test('SimCLR through pretextd, then a kNN evaluation of its best checkpoint', async () => {
  const d = await startTestDaemon({ workerEntry: undefined });
  try {
    const { run } = await d.call<{ run: Run }>('startPretext', {
      config: {
        method: 'simclr',
        unlabeledLimit: 300,
        architecture: 'small_conv_16',
        training: { epochs: 2, batchSize: 32, maxStepsPerEpoch: 3, validationLimit: 60, seed: 4 },
        contrastive: { temperature: 0.2, knnK: 5 },
      },
    });
    assert.equal(run.config?.$case === 'pretext' && run.config.pretext.contrastive?.temperature, 0.2);
    const events: RunEvent[] = await d.stream({ runId: run.id, skipSteps: true });
    const done = await d.waitState(
      run.id,
      [RunState.RUN_STATE_SUCCEEDED, RunState.RUN_STATE_FAILED],
      300_000,
    );
    assert.equal(done.state, RunState.RUN_STATE_SUCCEEDED, done.error);
    const epochs = events.flatMap((e) => (e.payload?.$case === 'epoch' ? [e.payload.epoch] : []));
    assert.equal(epochs.length, 2);
    for (const e of epochs) {
      assert.ok(e.extra.knn_accuracy !== undefined && e.extra.knn_accuracy >= 0 && e.extra.knn_accuracy <= 1);
      assert.ok(e.extra.embedding_std !== undefined && e.extra.embedding_std > 0);
    }
    const ev = await d.call<EvaluateResponse>('evaluate', {
      config: {
        targetRunId: run.id,
        split: 'test',
        limit: 50,
        checkpoint: CheckpointChoice.CHECKPOINT_CHOICE_BEST,
      },
      wait: true,
    });
    assert.equal(ev.run?.state, RunState.RUN_STATE_SUCCEEDED, ev.run?.error);
    assert.equal(ev.result?.task, 'knn');
    assert.equal(ev.result?.numExamples, 50);
    assert.equal(
      ev.result?.confusionMatrix.reduce((a, b) => a + b, 0),
      50,
    );
  } finally {
    await d.stop();
  }
});
