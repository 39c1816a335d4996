// The inference worker entry: the daemon forks this file (through tsx) for one export, embed or
// predict call, sends it the job, and reads rows and the outcome back. It exits when done, and
// when the daemon goes away (the IPC channel closes).
import type { FromInference, InferenceJob, ToInference } from '../../shared/inference-protocol.js';
import { InferenceInputError } from '../../shared/inference-protocol.js';
import { initBackend } from '../backend/index.js';
import { runEmbed, runPredict } from './embed.js';
import { runExport } from './export.js';
import { loadModel } from './load-model.js';

/** Row blocks the worker may have in flight before it waits for the daemon's ack. */
const WINDOW = 2;

function send(msg: FromInference): Promise<void> {
  return new Promise((resolve) => {
    if (!process.send) return resolve();
    process.send(msg, undefined, undefined, () => resolve());
  });
}

let inFlight = 0;
const waiters: Array<() => void> = [];

async function run(job: InferenceJob): Promise<FromInference> {
  await initBackend(job.backend);
  const model = await loadModel(job.runDir, job.checkpoint);
  try {
    if (job.kind === 'export') return { type: 'done', export: await runExport(job, model) };
    if (job.kind === 'predict') return { type: 'done', predict: await runPredict(job, model) };
    await runEmbed(job, model, {
      info: (m, dim, count) => send({ type: 'embedInfo', model: m, dim, count }),
      async rows(indices, labels, embeddings) {
        while (inFlight >= WINDOW) await new Promise<void>((resolve) => waiters.push(resolve));
        inFlight++;
        await send({ type: 'rows', indices, labels, embeddings });
      },
    });
    return { type: 'done' };
  } finally {
    model.dispose();
  }
}

if (!process.send) throw new Error('an inference worker must be started by pretextd (no IPC channel)');
let started = false;
process.on('message', (msg: ToInference) => {
  if (msg.type === 'ack') {
    inFlight = Math.max(0, inFlight - 1);
    waiters.shift()?.();
    return;
  }
  if (msg.type !== 'job' || started) return;
  started = true;
  void run(msg.job)
    .catch((err: unknown): FromInference => {
      if (err instanceof InferenceInputError) return { type: 'failed', error: err.message, code: err.code };
      return {
        type: 'failed',
        error: err instanceof Error ? (err.stack ?? err.message) : String(err),
        code: 'internal',
      };
    })
    .then(async (outcome) => {
      await send(outcome);
      process.exit(0);
    });
});
process.on('disconnect', () => process.exit(0));
void send({ type: 'ready' });
