// Every method on an imported dataset, through pretextd with the real engine, as on CIFAR-10:
// SimCLR (with its kNN monitor), SimSiam, NNCLR, rotation; a linear probe and a fine-tune on
// a label budget drawn per class; Evaluate of both kinds. Tiny: 32 px images, one epoch, a few steps.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { Dataset } from '../../gen/ts/pretext/v1/datasets.js';
import type { RunEvent } from '../../gen/ts/pretext/v1/event.js';
import { Protocol, type Run, RunState } from '../../gen/ts/pretext/v1/run.js';
import type { EvaluateResponse } from '../../gen/ts/pretext/v1/service.js';
import { startTestDaemon, type TestDaemon } from '../helpers/daemon.js';
import { writeCifarFolder } from '../helpers/image-folder.js';

let d: TestDaemon;
let tmp: string;
let testImages = 0;
const FINAL = [RunState.RUN_STATE_SUCCEEDED, RunState.RUN_STATE_FAILED];
const TRAINING = { epochs: 1, batchSize: 16, maxStepsPerEpoch: 2, seed: 5 };

before(async () => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'pretext-imp-e2e-'));
  await writeCifarFolder(path.join(tmp, 'imgs'), { count: 200, jpegEvery: 5 });
  d = await startTestDaemon({ workerEntry: undefined, importRoots: [tmp] });
  const res = await d.call<{ dataset: Dataset }>('importDataset', {
    name: 'mini',
    path: 'imgs',
    options: { side: 32, seed: 0, testShare: 0, maxFailedShare: 0, architecture: '' },
  });
  assert.equal(res.dataset.side, 32);
  testImages = res.dataset.testPerClass.reduce((a, b) => a + b, 0);
});
after(async () => {
  await d.stop();
  fs.rmSync(tmp, { recursive: true, force: true });
});

async function finish(run: Run | undefined): Promise<Run> {
  assert.ok(run);
  const done = await d.waitState(run.id, FINAL, 300_000);
  assert.equal(done.state, RunState.RUN_STATE_SUCCEEDED, done.error);
  return done;
}

describe('methods on an imported dataset', () => {
  let simclr: Run;
  test('SimCLR with its kNN monitor; SimSiam; NNCLR; rotation', async () => {
    const started = await d.call<{ run: Run }>('startPretext', {
      config: { method: 'simclr', dataset: 'mini', architecture: 'small_conv_8', training: TRAINING },
    });
    simclr = await finish(started.run);
    const events: RunEvent[] = await d.stream({ runId: simclr.id, skipSteps: true });
    const epoch = events.find((e) => e.payload?.$case === 'epoch');
    const knn = epoch?.payload?.$case === 'epoch' ? epoch.payload.epoch.extra.knn_accuracy : undefined;
    assert.ok(knn !== undefined && knn >= 0 && knn <= 1, String(knn));
    assert.equal(simclr.dataChecksum.length, 64);
    for (const method of ['simsiam', 'nnclr', 'rotation']) {
      const r = await d.call<{ run: Run }>('startPretext', {
        config: { method, dataset: 'mini', architecture: 'small_conv_8', training: TRAINING },
      });
      await finish(r.run);
    }
  });

  test('linear probe and fine-tune on a per-class budget; Evaluate', async () => {
    for (const protocol of [Protocol.PROTOCOL_LINEAR_PROBE, Protocol.PROTOCOL_FINE_TUNE]) {
      const r = await d.call<{ run: Run }>('startDownstream', {
        config: { pretextRunId: simclr.id, nLabels: 40, fold: 1, protocol, training: TRAINING },
      });
      const done = await finish(r.run);
      assert.equal(done.result?.test?.numExamples, testImages, 'the whole carved test split');
      const ev = await d.call<EvaluateResponse>('evaluate', { config: { targetRunId: done.id }, wait: true });
      assert.equal(ev.run?.state, RunState.RUN_STATE_SUCCEEDED, ev.run?.error);
      assert.equal(ev.result?.classNames.length, 10);
    }
    const knn = await d.call<EvaluateResponse>('evaluate', {
      config: { targetRunId: simclr.id },
      wait: true,
    });
    assert.equal(knn.run?.state, RunState.RUN_STATE_SUCCEEDED, knn.run?.error);
    assert.equal(knn.result?.task, 'knn');
  });
});
