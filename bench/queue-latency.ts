// StartPretext latency with an empty queue vs a long one (default 5,000 queued runs): the
// scheduler keeps its queue in memory, so the work per start or finish must not grow with it.
// One run holds the only slot (a worker that never reports), the rest wait.
// Usage: tsx bench/queue-latency.ts [queued=5000] [calls=300]
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import * as grpc from '@grpc/grpc-js';
import { RunKind } from '../gen/ts/pretext/v1/run.js';
import {
  GetServerInfoRequest,
  type GetServerInfoResponse,
  PretextServiceClient,
  StartPretextRequest,
} from '../gen/ts/pretext/v1/service.js';
import { startDaemon } from '../server/daemon/daemon.js';
import { openDb } from '../server/daemon/runs/db.js';
import { EventLog } from '../server/daemon/runs/event-log.js';
import { RunRegistry } from '../server/daemon/runs/registry.js';
import { resolvePretext } from '../server/shared/contract/resolve.js';
import { REPO_ROOT, SHARED_DATASETS } from '../test/helpers/paths.js';

const queued = Number(process.argv[2] ?? 5000);
const calls = Number(process.argv[3] ?? 300);
const request = StartPretextRequest.fromPartial({
  config: { method: 'rotation', unlabeledLimit: 64, depth: 8, training: { epochs: 1, batchSize: 16 } },
});

function fill(stateDir: string, n: number): void {
  const db = openDb(stateDir);
  const registry = new RunRegistry(db, new EventLog(db));
  const config = resolvePretext(request.config);
  registry.atomically(() => {
    for (let i = 0; i < n; i++) {
      registry.create({
        kind: RunKind.RUN_KIND_PRETEXT,
        method: 'rotation',
        name: `queued ${i}`,
        config: { $case: 'pretext', pretext: config },
        dataset: 'cifar10',
        parentRunId: '',
        seed: 1,
        codeRevision: 'bench',
      });
    }
  });
  db.close();
}

const quantile = (xs: number[], q: number) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor(q * s.length))]!;
};

async function measure(prefill: number): Promise<{ p50: number; p99: number; queuedAtEnd: number }> {
  const stateDir = mkdtempSync(path.join(os.tmpdir(), 'pretext-bench-queue-'));
  // One more than asked: the first run takes the slot.
  fill(stateDir, prefill + 1);
  const daemon = await startDaemon({
    listen: '127.0.0.1:0',
    stateDir,
    dataDir: SHARED_DATASETS,
    workerEntry: path.join(REPO_ROOT, 'test/fixtures/tiny-worker.ts'),
    workerEnv: { PRETEXT_TINY_HANG: '1' },
    workerStartTimeoutMs: 3_600_000,
    allowDownload: false,
    quiet: true,
  });
  const client = new PretextServiceClient(daemon.address, grpc.credentials.createInsecure());
  const start = () =>
    new Promise<void>((resolve, reject) =>
      client.startPretext(request, (err) => (err ? reject(err) : resolve())),
    );
  for (let i = 0; i < 20; i++) await start(); // warm-up
  const ms: number[] = [];
  for (let i = 0; i < calls; i++) {
    const t0 = performance.now();
    await start();
    ms.push(performance.now() - t0);
  }
  const info = await new Promise<GetServerInfoResponse>((resolve, reject) =>
    client.getServerInfo(GetServerInfoRequest.fromPartial({}), (err, r) => (err ? reject(err) : resolve(r))),
  );
  client.close();
  await daemon.close();
  rmSync(stateDir, { recursive: true, force: true });
  return { p50: quantile(ms, 0.5), p99: quantile(ms, 0.99), queuedAtEnd: info.queuedRuns };
}

const empty = await measure(0);
const full = await measure(queued);
const f = (x: number) => x.toFixed(2);
console.log(
  `StartPretext, empty queue:       p50 ${f(empty.p50)} ms  p99 ${f(empty.p99)} ms  (${empty.queuedAtEnd} queued at the end)`,
);
console.log(
  `StartPretext, ${queued} queued:  p50 ${f(full.p50)} ms  p99 ${f(full.p99)} ms  (${full.queuedAtEnd} queued at the end)`,
);
console.log(`ratio (p50 full / p50 empty): ${(full.p50 / empty.p50).toFixed(2)} (target ≤ 2)`);
console.log(
  JSON.stringify({
    queued,
    calls,
    empty_p50_ms: empty.p50,
    empty_p99_ms: empty.p99,
    full_p50_ms: full.p50,
    full_p99_ms: full.p99,
    ratio_p50: full.p50 / empty.p50,
  }),
);
