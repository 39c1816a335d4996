// Reliability at the door and in the registry: ids that never collide (a collision forced
// through an injected id source is retried), StartStudy all-or-nothing, precise codes for
// undecodable requests and huge inputs, stacks kept out of Run.error, and resumed runs that
// keep their place in the queue.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import * as grpc from '@grpc/grpc-js';
import type { RunEvent } from '../../gen/ts/pretext/v1/event.js';
import { type Run, RunState } from '../../gen/ts/pretext/v1/run.js';
import type { GetServerInfoResponse } from '../../gen/ts/pretext/v1/service.js';
import type { Study } from '../../gen/ts/pretext/v1/study.js';
import { transportWarning } from '../../server/daemon/daemon.js';
import type { Logger } from '../../server/daemon/log.js';
import { boundDetails } from '../../server/daemon/rpc/guard.js';
import { type IdSource, randomId } from '../../server/daemon/runs/ids.js';
import { withoutStackFrames } from '../../server/daemon/runs/scheduler.js';
import { startTestDaemon, type TestDaemon, tinyPretext } from '../helpers/daemon.js';

const TERMINAL = [RunState.RUN_STATE_SUCCEEDED, RunState.RUN_STATE_FAILED, RunState.RUN_STATE_CANCELLED];

const code = (c: grpc.status, message?: RegExp) => (err: unknown) => {
  const e = err as grpc.ServiceError;
  assert.equal(e.code, c, `expected ${grpc.status[c]}, got ${grpc.status[e.code]}: ${e.details}`);
  if (message) assert.match(e.details, message);
  assert.ok(e.details.length <= 1100, `details of ${e.details.length} characters`);
  return true;
};

/** Ids from `script` first, then random ones. */
function scriptedIds(): { source: IdSource; script: string[] } {
  const script: string[] = [];
  return { script, source: (prefix, now) => script.shift() ?? randomId(prefix, now) };
}

/** A protobuf varint of any size. */
function varint(n: bigint): number[] {
  const out: number[] = [];
  while (n >= 0x80n) {
    out.push(Number(n & 0x7fn) | 0x80);
    n >>= 7n;
  }
  out.push(Number(n));
  return out;
}

const raw = (b: Buffer) => b;

function rawUnary(d: TestDaemon, method: string, body: Buffer): Promise<Buffer> {
  return new Promise((resolve, reject) =>
    d.client.makeUnaryRequest(`/pretext.v1.PretextService/${method}`, raw, raw, body, (err, res) =>
      err ? reject(err) : resolve(res!),
    ),
  );
}

function rawStream(d: TestDaemon, body: Buffer): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = d.client.makeServerStreamRequest('/pretext.v1.PretextService/StreamMetrics', raw, raw, body);
    let n = 0;
    s.on('data', () => n++);
    s.on('end', () => resolve(n));
    s.on('error', reject);
  });
}

test('ids: 100 random bits, readable; a collision forced through the id source is retried', async () => {
  const id = randomId('r', new Date('2026-11-30T12:00:00Z'));
  assert.match(id, /^r-20261130-[0-9a-hjkmnp-tv-z]{20}$/);
  const many = new Set(Array.from({ length: 10_000 }, () => randomId('s', new Date())));
  assert.equal(many.size, 10_000);

  const ids = scriptedIds();
  const d = await startTestDaemon({ idSource: ids.source, workerEnv: { PRETEXT_TINY_HANG: '1' } });
  try {
    ids.script.push('r-20261130-same');
    const { run: a } = await d.call<{ run: Run }>('startPretext', tinyPretext());
    assert.equal(a.id, 'r-20261130-same');
    // The next two ids collide with run a; the third is fresh.
    ids.script.push('r-20261130-same', 'r-20261130-same', 'r-20261130-other');
    const { run: b } = await d.call<{ run: Run }>('startPretext', tinyPretext());
    assert.equal(b.id, 'r-20261130-other');
    // Nothing but collisions: ABORTED (retry), nothing created, never INTERNAL.
    ids.script.push(...Array(5).fill('r-20261130-same'));
    await assert.rejects(
      d.call('startPretext', tinyPretext()),
      code(grpc.status.ABORTED, /already existed; nothing was created/),
    );
    const { runs } = await d.call<{ runs: Run[] }>('listRuns', {});
    assert.deepEqual(runs.map((r) => r.id).sort(), ['r-20261130-other', 'r-20261130-same']);
  } finally {
    await d.stop();
  }
});

test('StartStudy failing midway leaves nothing behind: no study, no runs, no events', async () => {
  const ids = scriptedIds();
  const d = await startTestDaemon({ idSource: ids.source, workerEnv: { PRETEXT_TINY_HANG: '1' } });
  try {
    ids.script.push('r-20261130-taken');
    await d.call('startPretext', tinyPretext());
    const before = await d.call<GetServerInfoResponse>('getServerInfo', {});
    // A live watcher of every run sees only committed events.
    const seen = d.stream({ fromSeq: before.lastSeq + 1 }, (ev) =>
      ev.some((e) => e.runId === 'r-20261130-after'),
    );
    // The study row, its pretext run and two children get ids; the third child cannot.
    ids.script.push(
      's-20261130-study',
      'r-20261130-pretext',
      'r-20261130-child1',
      'r-20261130-child2',
      ...Array(5).fill('r-20261130-taken'),
    );
    await assert.rejects(
      d.call('startStudy', {
        config: {
          pretext: tinyPretext().config,
          labelBudgets: [100, 200],
          folds: 1,
          downstream: { training: { epochs: 1 } },
        },
      }),
      code(grpc.status.ABORTED),
    );
    const { runs } = await d.call<{ runs: Run[] }>('listRuns', {});
    assert.deepEqual(
      runs.map((r) => r.id),
      ['r-20261130-taken'],
    );
    assert.deepEqual((await d.call<{ studies: Study[] }>('listStudies', {})).studies, []);
    const info = await d.call<GetServerInfoResponse>('getServerInfo', {});
    assert.equal(info.lastSeq, before.lastSeq);
    assert.equal(info.queuedRuns, 0);
    await assert.rejects(d.call('getStudy', { studyId: 's-20261130-study' }), code(grpc.status.NOT_FOUND));

    ids.script.push('r-20261130-after');
    await d.call('startPretext', tinyPretext());
    const events: RunEvent[] = await seen;
    assert.deepEqual([...new Set(events.map((e) => e.runId))], ['r-20261130-after']);
    // The same study with fresh ids succeeds as a whole.
    const { study } = await d.call<{ study: Study }>('startStudy', {
      config: {
        pretext: tinyPretext().config,
        labelBudgets: [100, 200],
        folds: 1,
        downstream: { training: { epochs: 1 } },
      },
    });
    assert.equal(study.runsTotal, 5); // pretext + 2 budgets × 2 arms
  } finally {
    await d.stop();
  }
});

describe('precise codes for client mistakes', () => {
  let d: TestDaemon;
  before(async () => {
    d = await startTestDaemon();
  });
  after(async () => {
    await d.stop();
  });

  test('a malformed protobuf message is INVALID_ARGUMENT, on unary and streaming methods', async () => {
    const junk = Buffer.from([0xff, 0xff, 0xff, 0xff]);
    for (const method of ['GetRun', 'StartPretext', 'ListRuns', 'StartStudy', 'GetServerInfo']) {
      await assert.rejects(
        rawUnary(d, method, junk),
        code(grpc.status.INVALID_ARGUMENT, /not a valid protobuf message/),
      );
    }
    await assert.rejects(rawStream(d, junk), code(grpc.status.INVALID_ARGUMENT));
  });

  test('a from_seq of 2^60 is INVALID_ARGUMENT, not INTERNAL', async () => {
    const body = Buffer.from([0x10, ...varint(2n ** 60n)]);
    await assert.rejects(rawStream(d, body), code(grpc.status.INVALID_ARGUMENT, /2\^53/));
    // The same field below 2^53 decodes and streams (history only: ends by itself).
    const ok = Buffer.from([0x10, ...varint(2n ** 52n), 0x18, 0x01]);
    assert.equal(await rawStream(d, ok), 0);
  });

  test('a seed of 2^63 inside a config is INVALID_ARGUMENT', async () => {
    // StartPretextRequest { config(1) { training(7) { seed(10): 2^63 } } }
    const training = Buffer.from([0x50, ...varint(2n ** 63n)]);
    const config = Buffer.from([0x3a, training.length, ...training]);
    const body = Buffer.from([0x0a, config.length, ...config]);
    await assert.rejects(rawUnary(d, 'StartPretext', body), code(grpc.status.INVALID_ARGUMENT, /2\^53/));
  });

  test('100 kB names are INVALID_ARGUMENT with the input cut to 80 characters', async () => {
    const huge = 'x'.repeat(100_000);
    const cases = [
      { config: { method: huge, training: { epochs: 1 } } },
      { config: { dataset: huge, training: { epochs: 1 } } },
      { config: { architecture: huge, training: { epochs: 1 } } },
      { config: { training: { epochs: 1, lrSchedule: huge } } },
    ];
    for (const req of cases) {
      await assert.rejects(d.call('startPretext', req), (err: unknown) => {
        code(grpc.status.INVALID_ARGUMENT)(err);
        const details = (err as grpc.ServiceError).details;
        assert.ok(!details.includes('x'.repeat(81)), details);
        return true;
      });
    }
    await assert.rejects(d.call('getRun', { runId: huge }), code(grpc.status.INVALID_ARGUMENT));
    await assert.rejects(d.call('getStudy', { studyId: huge }), code(grpc.status.INVALID_ARGUMENT));
  });

  test('an unknown 20 kB method path is UNIMPLEMENTED with the path cut to 80 characters', async () => {
    await assert.rejects(
      new Promise((resolve, reject) =>
        d.client.makeUnaryRequest(
          `/pretext.v1.PretextService/${'x'.repeat(20_000)}`,
          raw,
          raw,
          Buffer.alloc(0),
          (err, res) => (err ? reject(err) : resolve(res)),
        ),
      ),
      code(grpc.status.UNIMPLEMENTED, /does not implement the method \/pretext/),
    );
  });

  test('a 40,000-state ListRuns is INVALID_ARGUMENT; repeated states are deduplicated', async () => {
    await assert.rejects(
      d.call('listRuns', { states: Array(40_000).fill(RunState.RUN_STATE_QUEUED) }),
      code(grpc.status.INVALID_ARGUMENT, /states has 40000 entries/),
    );
    await assert.rejects(
      d.call('listRuns', { kinds: Array(1_000_000).fill(1) }),
      code(grpc.status.INVALID_ARGUMENT, /kinds has 1000000 entries/),
    );
    const { runs } = await d.call<{ runs: Run[] }>('listRuns', {
      states: Array(64).fill(RunState.RUN_STATE_QUEUED),
    });
    assert.deepEqual(runs, []);
    await assert.rejects(
      d.call('listRuns', { states: [RunState.RUN_STATE_QUEUED, 99] }),
      code(grpc.status.INVALID_ARGUMENT, /unknown state 99/),
    );
  });
});

test('boundDetails cuts long input tokens to 80 characters and the message to 1,000', () => {
  assert.equal(boundDetails('method "rotation" is unknown'), 'method "rotation" is unknown');
  const cut = boundDetails(`method "${'m'.repeat(5000)}" is unknown`);
  assert.match(cut, /^method "m{79}… \(5002 characters\) is unknown$/);
  assert.ok(boundDetails('a '.repeat(5000)).length < 1100);
});

test('a failing worker: Run.error has the message, the stack goes to the daemon log', async () => {
  const emptyData = mkdtempSync(path.join(os.tmpdir(), 'pretext-nodata-'));
  const logged: Array<{ msg: string; fields?: Record<string, unknown> }> = [];
  const log: Logger = {
    info: () => {},
    warn: () => {},
    error: (msg, fields) => logged.push({ msg, fields }),
  };
  const d = await startTestDaemon({ dataDir: emptyData, log });
  try {
    const { run } = await d.call<{ run: Run }>('startPretext', tinyPretext());
    const failed = await d.waitState(run.id, TERMINAL);
    assert.equal(failed.state, RunState.RUN_STATE_FAILED);
    assert.ok(failed.error.length > 0);
    assert.doesNotMatch(failed.error, /^\s+at /m, failed.error);
    const entry = logged.find((l) => l.msg === 'run failed' && l.fields?.run === run.id);
    assert.match(String(entry?.fields?.stack), /\n\s+at /);
  } finally {
    await d.stop();
    rmSync(emptyData, { recursive: true, force: true });
  }
  const crash =
    'worker process exited with code 1; last output:\nTypeError: x is undefined\n    at f (/a/b.ts:1:2)\n    at async g (file:///c.js:3:4)';
  assert.equal(
    withoutStackFrames(crash),
    'worker process exited with code 1; last output:\nTypeError: x is undefined',
  );
});

test('a run interrupted by a restart keeps its place: it starts again before runs queued after it', async () => {
  const d = await startTestDaemon({ maxConcurrentRuns: 1 });
  try {
    const start = async () => (await d.call<{ run: Run }>('startPretext', tinyPretext({ epochs: 500 }))).run;
    const a = await start();
    await d.waitState(a.id, [RunState.RUN_STATE_RUNNING]);
    const b = await start();
    const c = await start();
    await d.restart({ autoResume: true });
    const resumed = await d.waitState(a.id, [RunState.RUN_STATE_RUNNING]);
    assert.equal(resumed.attempts, 2);
    for (const r of [b, c]) {
      assert.equal(
        (await d.call<{ run: Run }>('getRun', { runId: r.id })).run.state,
        RunState.RUN_STATE_QUEUED,
      );
    }
    const info = await d.call<GetServerInfoResponse>('getServerInfo', {});
    assert.equal(info.queuedRuns, 2);
    // Cancelling a queued run takes it out of the queue; the next one starts when a slots frees.
    await d.call('cancelRun', { runId: b.id });
    await d.call('cancelRun', { runId: a.id });
    await d.waitState(c.id, [RunState.RUN_STATE_RUNNING]);
    await d.call('cancelRun', { runId: c.id });
    await d.waitState(c.id, TERMINAL);
  } finally {
    await d.stop();
  }
});

test('a token on a non-loopback address without TLS gets a start-up warning', () => {
  assert.match(transportWarning('0.0.0.0', true, false) ?? '', /cleartext.*--tls-cert/);
  assert.match(transportWarning('10.1.2.3', true, false) ?? '', /10\.1\.2\.3 is not a loopback address/);
  assert.equal(transportWarning('0.0.0.0', true, true), undefined);
  assert.equal(transportWarning('127.0.0.1', true, false), undefined);
  assert.equal(transportWarning('::1', true, false), undefined);
  // No token at all: the daemon refuses to start unless --insecure (tested in requests.test.ts).
  assert.equal(transportWarning('0.0.0.0', false, false), undefined);
});
