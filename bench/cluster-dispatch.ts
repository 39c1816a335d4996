// Dispatch scaling of a coordinator (pretextd --queue) over k = 1, 2, 3 agents with
// fixed-duration jobs (a worker that sleeps T and trains nothing): on 2 cores CPU-bound
// training cannot show scaling, fixed-duration jobs can. For each k: N runs queued at once,
// makespan from the first StartPretext to the last SUCCEEDED, against the ideal N·T/k;
// dispatch overhead per run = makespan·k/N − T (the time a slot spends on a run beyond T: the
// queue, BeginAttempt, the worker's fork, events and the outcome).
// Targets: makespan ≤ 1.1 × N·T/k + 2 s, overhead ≤ 200 ms per run.
// N defaults to 12, a multiple of 1, 2 and 3: with N = 9 on 2 agents one agent must run 5 jobs,
// and that packing slack (1 s) would be counted as overhead. Daemons and agents are measured
// once their spare workers have booted, as on a host that has been up for a while.
// Usage: tsx bench/cluster-dispatch.ts [N=12] [T_ms=2000]
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import * as grpc from '@grpc/grpc-js';
import { type Run, RunState } from '../gen/ts/pretext/v1/run.js';
import { ListRunsRequest, PretextServiceClient, StartPretextRequest } from '../gen/ts/pretext/v1/service.js';
import { type Agent, startAgent } from '../server/daemon/agent/agent.js';
import { parseQueueUrl } from '../server/daemon/cluster/queue-url.js';
import { startDaemon } from '../server/daemon/daemon.js';
import type { Logger } from '../server/daemon/log.js';
import { REPO_ROOT, SHARED_DATASETS } from '../test/helpers/paths.js';
import { startRedis } from '../test/helpers/redis.js';

const N = Number(process.argv[2] ?? 12);
const T = Number(process.argv[3] ?? 2000);
const quiet: Logger = { info() {}, warn() {}, error: (m, f) => console.error(m, f) };
const SLEEP_WORKER = path.join(REPO_ROOT, 'bench/fixtures/sleep-worker.ts');

interface Figures {
  makespan: number;
  ideal: number;
  overhead: number;
  /** Mean seconds a run spent RUNNING beyond T: the worker's fork and start-up, events, outcome. */
  inRun: number;
}

async function measure(k: number, remote: boolean): Promise<Figures> {
  const redis = await startRedis();
  const root = mkdtempSync(path.join(os.tmpdir(), 'pretext-bench-cluster-'));
  const daemon = await startDaemon({
    listen: '127.0.0.1:0',
    stateDir: path.join(root, 'coordinator'),
    dataDir: SHARED_DATASETS,
    backend: 'cpu',
    queue: remote ? redis.url : undefined,
    maxConcurrentRuns: k,
    workerEntry: SLEEP_WORKER,
    workerEnv: { PRETEXT_SLEEP_MS: String(T) },
    log: quiet,
    agentHeartbeatMs: 500,
  });
  const agents: Agent[] = [];
  for (let i = 0; remote && i < k; i++) {
    agents.push(
      await startAgent({
        coordinator: daemon.address,
        queue: parseQueueUrl(redis.url),
        slots: 1,
        stateDir: path.join(root, `agent-${i}`),
        dataDir: SHARED_DATASETS,
        backend: 'cpu',
        agentId: `bench-${i}`,
        allowDownload: false,
        workerEntry: SLEEP_WORKER,
        workerEnv: { ...process.env, PRETEXT_SLEEP_MS: String(T) },
        log: quiet,
      }),
    );
  }
  // A daemon or agent that has been up a while has its spare workers booted: measure that.
  const ready = () =>
    remote ? agents.reduce((n, a) => n + a.spareWorkerPids().length, 0) : daemon.spareWorkerPids().length;
  const bootEnd = Date.now() + 60_000;
  while (ready() < k && Date.now() < bootEnd) await new Promise((r) => setTimeout(r, 50));
  const client = new PretextServiceClient(daemon.address, grpc.credentials.createInsecure());
  const call = <R>(fn: (cb: (e: grpc.ServiceError | null, r: R) => void) => void) =>
    new Promise<R>((res, rej) => fn((e, r) => (e ? rej(e) : res(r))));
  const t0 = performance.now();
  const ids: string[] = [];
  for (let i = 0; i < N; i++) {
    const r = await call<{ run?: Run }>((cb) =>
      client.startPretext(
        StartPretextRequest.fromPartial({
          name: `sleep ${i}`,
          config: {
            method: 'rotation',
            unlabeledLimit: 64,
            depth: 8,
            training: { epochs: 1, batchSize: 16 },
          },
        }),
        cb,
      ),
    );
    ids.push(r.run!.id);
  }
  let finished: Run[];
  for (;;) {
    const runs = await call<{ runs: Run[] }>((cb) =>
      client.listRuns(ListRunsRequest.fromPartial({ limit: 1000 }), cb),
    );
    const bad = runs.runs.find((r) => r.state === RunState.RUN_STATE_FAILED);
    if (bad) throw new Error(`run failed: ${bad.error}`);
    finished = runs.runs.filter((r) => r.state === RunState.RUN_STATE_SUCCEEDED);
    if (finished.length === N) break;
    await new Promise((r) => setTimeout(r, 20));
  }
  const makespan = (performance.now() - t0) / 1000;
  const inRun =
    finished.reduce((sum, r) => sum + (Number(r.finishedAtUnixMs) - Number(r.startedAtUnixMs) - T), 0) /
    N /
    1000;
  client.close();
  for (const a of agents) await a.close();
  await daemon.close();
  await redis.stop();
  rmSync(root, { recursive: true, force: true });
  const ideal = (N * T) / 1000 / k;
  return { makespan, ideal, overhead: (makespan * k) / N - T / 1000, inRun };
}

console.log(`dispatch scaling: N=${N} runs of T=${T} ms (a sleeping worker), k agents of 1 slot`);
console.log(
  'overhead/run = makespan·k/N − T; in-run = mean RUNNING time − T (worker fork + start-up + outcome);',
);
console.log('dispatch = overhead − in-run (queue, lease, BeginAttempt, hand-over to the next job).');
console.log(
  'mode          k  makespan  ideal N·T/k  limit 1.1·ideal+2s  overhead/run  in-run  dispatch  verdict',
);
for (const k of [1, 2, 3]) {
  for (const remote of [false, true]) {
    const m = await measure(k, remote);
    const limit = 1.1 * m.ideal + 2;
    const dispatch = m.overhead - m.inRun;
    const ok = m.makespan <= limit && m.overhead <= 0.2;
    console.log(
      `${remote ? 'coordinator' : 'single host'}   ${k}  ${m.makespan.toFixed(2).padStart(7)} s  ${m.ideal.toFixed(2).padStart(9)} s  ${limit.toFixed(2).padStart(15)} s  ${(m.overhead * 1000).toFixed(0).padStart(9)} ms  ${(m.inRun * 1000).toFixed(0).padStart(4)} ms  ${(dispatch * 1000).toFixed(0).padStart(5)} ms  ${ok ? 'ok' : 'MISSED'}`,
    );
  }
}
process.exit(0);
