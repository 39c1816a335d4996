// The BullMQ behaviour the agents' failover relies on, checked on this Redis: a job whose
// worker is killed comes back after its lease and goes to the head of the wait list (BullMQ
// RPUSHes stalled jobs onto the end workers take from), ahead of jobs that were waiting — so a
// run of a dead agent resumes before queued runs start, with no priority bump needed.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { test } from 'node:test';
import { Queue, Worker } from 'bullmq';
import { QUEUE_PREFIX } from '../../server/daemon/cluster/queue-url.js';
import { REPO_ROOT } from '../helpers/paths.js';
import { startRedis } from '../helpers/redis.js';

test('a killed worker’s job returns to the head of the queue after its lease', async (t) => {
  const redis = await startRedis();
  t.after(() => redis.stop());
  const connection = { path: redis.socket, maxRetriesPerRequest: null };
  const queue = new Queue('order', { connection, prefix: QUEUE_PREFIX });
  t.after(() => queue.close());
  await queue.add('run', { n: 0 }, { jobId: 'first' });
  // A worker in another process takes "first" and hangs on it.
  const child = spawn(
    process.execPath,
    [
      '--input-type=module',
      '-e',
      `import { Worker } from 'bullmq';
       new Worker('order', async () => { console.log('took'); await new Promise(() => {}); },
         { connection: { path: ${JSON.stringify(redis.socket)}, maxRetriesPerRequest: null }, prefix: ${JSON.stringify(QUEUE_PREFIX)},
           lockDuration: 2000, stalledInterval: 1000 });`,
    ],
    { cwd: REPO_ROOT, stdio: ['ignore', 'pipe', 'inherit'] },
  );
  await new Promise<void>((resolve) => child.stdout.on('data', () => resolve()));
  for (let i = 1; i <= 3; i++) await queue.add('run', { n: i }, { jobId: `later-${i}` });
  child.kill('SIGKILL');
  const killedAt = Date.now();
  const order: string[] = [];
  let firstAgainAt = 0;
  const done = new Promise<void>((resolve) => {
    const w = new Worker(
      'order',
      async (job) => {
        order.push(job.id!);
        if (job.id === 'first') firstAgainAt = Date.now();
        if (order.length === 4) setImmediate(() => w.close().then(resolve));
      },
      {
        connection,
        prefix: QUEUE_PREFIX,
        lockDuration: 2000,
        stalledInterval: 1000,
        maxStalledCount: 100,
        autorun: false,
      },
    );
    // Start taking jobs only once "first" is back in the wait list.
    const poll = setInterval(async () => {
      const state = await queue.getJobState('first');
      if (state === 'waiting') {
        clearInterval(poll);
        void w.run();
      }
    }, 50);
    // This worker's stalled checker is what moves "first" back: run it meanwhile.
    void w.startStalledCheckTimer();
  });
  await done;
  assert.deepEqual(order, ['first', 'later-1', 'later-2', 'later-3']);
  t.diagnostic(
    `the killed worker's job ran again ${firstAgainAt - killedAt} ms after the kill (lease 2000 ms, check every 1000 ms)`,
  );
});
