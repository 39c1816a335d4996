// The scheduler's in-memory queue: order by place (creation), lazy removal, parking under a
// parent and release (all waiters on the parent's end, evaluations on a checkpoint).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { RunQueue } from '../../server/daemon/runs/run-queue.js';

function drain(q: RunQueue): string[] {
  const out: string[] = [];
  for (let e = q.next(); e; e = q.next()) out.push(e.id);
  return out;
}

test('runs come out in place order, whatever order they were added in', () => {
  const q = new RunQueue();
  const places = Array.from({ length: 500 }, (_, i) => i + 1).sort(() => Math.random() - 0.5);
  for (const p of places) q.add(`r${p}`, p);
  assert.equal(q.size, 500);
  assert.deepEqual(
    drain(q),
    Array.from({ length: 500 }, (_, i) => `r${i + 1}`),
  );
});

test('a removed run never comes out; a re-added run comes back at its own place', () => {
  const q = new RunQueue();
  for (const p of [1, 2, 3, 4]) q.add(`r${p}`, p);
  q.remove('r2');
  assert.equal(q.next()?.id, 'r1');
  q.remove('r1'); // started
  q.add('r1', 1); // interrupted and queued again: ahead of r3
  q.add('r3', 3); // no duplicate
  assert.deepEqual(drain(q), ['r1', 'r3', 'r4']);
});

test('parked runs wait for their parent: downstream for its end, evaluations for a checkpoint', () => {
  const q = new RunQueue();
  q.add('down', 5);
  q.add('eval', 6);
  q.add('other', 7);
  q.park('p', { ...q.next()!, needsSuccess: true });
  q.park('p', { ...q.next()!, needsSuccess: false });
  assert.deepEqual(drain(q), ['other']);
  q.remove('other');
  assert.equal(q.release('p', 'checkpoint'), true);
  assert.deepEqual(drain(q), ['eval']);
  q.remove('eval');
  assert.equal(q.release('p', 'all'), true);
  assert.deepEqual(drain(q), ['down']);
  assert.equal(q.release('p', 'all'), false);
});
