// The production worker entry (server/worker/engine/worker.ts) in a child process, as the daemon forks
// it: SIGKILL in the middle of a run, then a resumed worker finishes it with continuous epochs;
// a cancel request stops a run at a step boundary.
import assert from 'node:assert/strict';
import { readdir, rm } from 'node:fs/promises';
import path from 'node:path';
import { after, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import type { EpochMetrics } from '../../gen/ts/pretext/v1/event.js';
import { PretextConfig } from '../../gen/ts/pretext/v1/run.js';
import type { FromWorker, JobSpec } from '../../server/shared/worker-protocol.js';
import { resolvePretext } from '../../server/shared/contract/resolve.js';
import { JOBS } from '../../server/worker/engine/jobs.js';
import { WorkerLauncher } from '../../server/daemon/runs/worker-launcher.js';
import { type WorkerOutcome, WorkerProcess } from '../../server/daemon/runs/worker-process.js';
import { findJob } from '../../server/worker/engine/worker-runtime.js';
import { baseSpec, tempRunDir } from './context.js';

const ENTRY = fileURLToPath(new URL('../../server/worker/engine/worker.ts', import.meta.url));
// One spare kept started, as the daemon does: the resumed and later workers are spares.
const launcher = new WorkerLauncher(ENTRY, process.env, 1);
const dirs: string[] = [];
after(async () => {
  await launcher.close();
  for (const d of dirs) await rm(d, { recursive: true, force: true });
});

interface Run {
  worker: WorkerProcess;
  messages: Exclude<FromWorker, { type: 'done' | 'failed' | 'cancelled' }>[];
  epochs: EpochMetrics[];
  outcome: Promise<WorkerOutcome>;
}

function start(
  job: JobSpec,
  onEpoch?: (e: EpochMetrics, run: Run) => void,
  onStep?: (run: Run) => void,
): Run {
  let resolve!: (o: WorkerOutcome) => void;
  const run = {
    messages: [],
    epochs: [],
    outcome: new Promise<WorkerOutcome>((r) => {
      resolve = r;
    }),
  } as unknown as Run;
  run.worker = new WorkerProcess(launcher, job, {
    onMessage(msg) {
      run.messages.push(msg);
      if (msg.type !== 'event') return;
      if (msg.payload.$case === 'epoch') {
        run.epochs.push(msg.payload.epoch);
        onEpoch?.(msg.payload.epoch, run);
      }
      if (msg.payload.$case === 'step') onStep?.(run);
    },
    onOutput() {},
    onExit: resolve,
  });
  return run;
}

async function job(resume: boolean, runDir?: string): Promise<JobSpec> {
  const dir = runDir ?? (await tempRunDir('pretext-worker-'));
  if (!runDir) dirs.push(dir);
  return baseSpec({
    kind: 'pretext',
    method: 'rotation',
    runDir: dir,
    resume,
    config: PretextConfig.fromPartial({
      architecture: 'small_conv_8',
      unlabeledLimit: 600,
      training: { epochs: 3, batchSize: 32, maxStepsPerEpoch: 8 },
    }),
  });
}

test('the production job table routes every kind and method', async () => {
  const spec = await job(false);
  assert.ok(findJob(JOBS, spec));
  assert.ok(findJob(JOBS, { ...spec, kind: 'downstream', method: 'supervised' }));
  assert.ok(findJob(JOBS, { ...spec, kind: 'evaluate', method: 'evaluate' }));
  // A method of the wrong kind, or one the catalog lacks, has no job: nothing starts.
  assert.equal(findJob(JOBS, { ...spec, kind: 'pretext', method: 'supervised' }), undefined);
  assert.equal(findJob(JOBS, { ...spec, method: 'jigsaw' }), undefined);
});

test('SIGKILL during epoch 2, resume: the run ends with epochs 1, 2, 3', { timeout: 300_000 }, async () => {
  const spec = await job(false);
  const first = start(spec, (e, run) => {
    if (e.epoch === 1) run.worker.kill();
  });
  const crashed = await first.outcome;
  assert.equal(crashed.type, 'crashed');
  assert.deepEqual(
    first.epochs.map((e) => e.epoch),
    [1],
  );
  assert.ok(first.messages.some((m) => m.type === 'meta' && m.backend));

  const second = start({ ...spec, resume: true });
  const done = await second.outcome;
  assert.equal(done.type, 'done', JSON.stringify(done));
  assert.deepEqual(
    second.epochs.map((e) => e.epoch),
    [2, 3],
  );
  if (done.type === 'done') assert.equal(done.result.epochsTrained, 3);
  assert.deepEqual((await readdir(path.join(spec.runDir, 'checkpoints'))).sort(), ['best', 'last']);
});

test('a cancel request stops the worker at a step boundary', { timeout: 120_000 }, async () => {
  const spec = await job(false);
  spec.config = resolvePretext(
    PretextConfig.fromPartial({ ...(spec.config as PretextConfig), training: { epochs: 50, batchSize: 32 } }),
  );
  let asked = false;
  const run = start(spec, undefined, (r) => {
    if (!asked) r.worker.stop(30_000);
    asked = true;
  });
  const outcome = await run.outcome;
  assert.equal(outcome.type, 'cancelled');
  assert.ok(run.epochs.length < 50);
});
