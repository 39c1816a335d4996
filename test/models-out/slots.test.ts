// The inference slot: first come first served, a bounded queue (RESOURCE_EXHAUSTED beyond it),
// and a call that ends while waiting leaves the queue without taking the slot.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { status } from '@grpc/grpc-js';
import { InferenceSlots } from '../../server/daemon/inference/slots.js';

test('one slot, two waiting: FIFO, RESOURCE_EXHAUSTED when full, leaving the queue frees a place', async () => {
  const slots = new InferenceSlots(1, 2);
  const started: string[] = [];
  const a = slots.acquire();
  void a.ready.then(() => started.push('a'));
  const b = slots.acquire();
  void b.ready.then(() => started.push('b'));
  const c = slots.acquire();
  void c.ready.then(() => started.push('c'));
  await new Promise((r) => setImmediate(r));
  assert.deepEqual(started, ['a']);
  assert.equal(slots.queued, 2);
  assert.throws(
    () => slots.acquire(),
    (err: { code: number; message: string }) =>
      err.code === status.RESOURCE_EXHAUSTED && /already waiting/.test(err.message),
  );
  b.release(); // b's client went away while waiting
  assert.equal(slots.queued, 1);
  const d = slots.acquire();
  void d.ready.then(() => started.push('d'));
  a.release();
  a.release(); // idempotent
  await new Promise((r) => setImmediate(r));
  assert.deepEqual(started, ['a', 'c']);
  assert.equal(slots.active, 1);
  c.release();
  await new Promise((r) => setImmediate(r));
  assert.deepEqual(started, ['a', 'c', 'd']);
  d.release();
  assert.equal(slots.active, 0);
  assert.equal(slots.queued, 0);
});
