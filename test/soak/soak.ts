// The soak suite: `npm run soak -- --minutes N` (default 5). Loopback only, bounded in time,
// not part of `npm test`. Three parts, each against a pretextd process of its own:
//   1. kill rounds: real training runs (the production worker), the daemon SIGKILLed mid-epoch
//      (the first round exactly between a checkpoint and its epoch event), restarted, and after
//      every round each run's replayed log is checked: epochs once each, no gaps, seqs rising;
//      SQLite's integrity_check after every kill;
//   2. fuzzing: mutated valid messages and raw bytes for every method, counted by status code
//      (for the phase's time, and on until --requests (10,000) were sent, never past twice it);
//   3. at the same time, K watchers follow every run's events while a probe measures unary
//      latency; daemon RSS before and after.
// Human-readable lines first; the last line is one JSON object with every figure.
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import * as grpc from '@grpc/grpc-js';
import Database from 'better-sqlite3';
import type { RunEvent } from '../../gen/ts/pretext/v1/event.js';
import { type Run, RunState } from '../../gen/ts/pretext/v1/run.js';
import {
  PretextServiceClient,
  StartPretextRequest,
  StartStudyRequest,
  StreamMetricsRequest,
} from '../../gen/ts/pretext/v1/service.js';
import * as svc from '../../gen/ts/pretext/v1/service.js';
import { type DaemonProcess, killDaemon, spawnDaemon } from '../helpers/daemon-process.js';
import { REPO_ROOT } from '../helpers/paths.js';
import { fuzzTargets, mutate, send } from './fuzz.js';

const { values } = parseArgs({
  options: {
    minutes: { type: 'string', default: '5' },
    watchers: { type: 'string', default: '20' },
    concurrency: { type: 'string', default: '24' },
    requests: { type: 'string', default: '10000' },
  },
});
const minutes = Number(values.minutes);
if (!(minutes >= 1 && minutes <= 600)) throw new Error('--minutes must be in 1..600');
const totalMs = minutes * 60_000;
const killPhaseMs = totalMs * 0.35;
const fuzzPhaseMs = totalMs * 0.55;
const WATCHERS = Number(values.watchers);
const CONCURRENCY = Number(values.concurrency);
const MIN_REQUESTS = Number(values.requests);
const TINY_WORKER = path.join(REPO_ROOT, 'test/fixtures/tiny-worker.ts');
const TERMINAL = new Set([
  RunState.RUN_STATE_SUCCEEDED,
  RunState.RUN_STATE_FAILED,
  RunState.RUN_STATE_CANCELLED,
]);

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const say = (line: string) => console.log(`[soak ${new Date().toISOString().slice(11, 19)}] ${line}`);
const quantile = (xs: number[], q: number) => {
  if (xs.length === 0) return 0;
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor(q * s.length))]!;
};

function unary<Res>(
  client: PretextServiceClient,
  method: string,
  req: unknown,
  timeoutMs = 30_000,
): Promise<Res> {
  return new Promise((resolve, reject) => {
    const fn = (client as unknown as Record<string, (...a: unknown[]) => void>)[method]!;
    const type = (svc as unknown as Record<string, { fromPartial(o: unknown): unknown }>)[
      `${method[0]!.toUpperCase()}${method.slice(1)}Request`
    ]!;
    fn.call(
      client,
      type.fromPartial(req),
      new grpc.Metadata(),
      { deadline: Date.now() + timeoutMs },
      (err: Error | null, res: Res) => (err ? reject(err) : resolve(res)),
    );
  });
}

function history(client: PretextServiceClient, runId: string): Promise<RunEvent[]> {
  return new Promise((resolve, reject) => {
    const events: RunEvent[] = [];
    const s = client.streamMetrics(
      StreamMetricsRequest.fromPartial({ runId, historyOnly: true, skipSteps: true }),
    );
    s.on('data', (r: { event?: RunEvent }) => r.event && events.push(r.event));
    s.on('end', () => resolve(events));
    s.on('error', reject);
  });
}

function rssKb(pid: number): number {
  try {
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    return Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? 0);
  } catch {
    return 0;
  }
}

// ---------------------------------------------------------------- part 1: kill rounds

interface KillFigures {
  rounds: number;
  window_kills: number;
  runs: number;
  runs_succeeded: number;
  epochs_logged: number;
  epochs_lost: number;
  epochs_duplicated: number;
  log_gaps: number;
  seq_order_violations: number;
  partial_epochs_retrained: number;
  integrity_failures: number;
  unexpected_daemon_exits: number;
  checks: number;
}

async function killRounds(deadline: number): Promise<KillFigures> {
  const stateDir = mkdtempSync(path.join(os.tmpdir(), 'pretext-soak-kill-'));
  const f: KillFigures = {
    rounds: 0,
    window_kills: 0,
    runs: 0,
    runs_succeeded: 0,
    epochs_logged: 0,
    epochs_lost: 0,
    epochs_duplicated: 0,
    log_gaps: 0,
    seq_order_violations: 0,
    partial_epochs_retrained: 0,
    integrity_failures: 0,
    unexpected_daemon_exits: 0,
    checks: 0,
  };
  const runIds: string[] = [];
  const request = (seed: number) =>
    StartPretextRequest.fromPartial({
      name: `soak ${seed}`,
      config: {
        unlabeledLimit: 400,
        depth: 8,
        training: { epochs: 6, batchSize: 32, maxStepsPerEpoch: 5, validationLimit: 40, seed },
      },
    });
  const args = ['--quiet', '--max-concurrent-runs', '2'];
  // Checks every run's replayed log: each epoch once, 1..k without gaps, seqs rising.
  const checkLogs = async (client: PretextServiceClient) => {
    f.checks++;
    for (const id of runIds) {
      const events = await history(client, id);
      const epochs = events.flatMap((e) => (e.payload?.$case === 'epoch' ? [e.payload.epoch.epoch] : []));
      const distinct = new Set(epochs);
      f.epochs_duplicated += epochs.length - distinct.size;
      const max = Math.max(0, ...epochs);
      for (let e = 1; e <= max; e++) if (!distinct.has(e)) f.log_gaps++;
      for (let i = 1; i < events.length; i++)
        if (events[i]!.seq <= events[i - 1]!.seq) f.seq_order_violations++;
    }
  };
  const integrity = () => {
    const db = new Database(path.join(stateDir, 'pretext.sqlite'), { readonly: true });
    try {
      const rows = db.pragma('integrity_check') as Array<{ integrity_check: string }>;
      if (rows.length !== 1 || rows[0]!.integrity_check !== 'ok') f.integrity_failures++;
    } finally {
      db.close();
    }
  };

  // Round 1: the worker kills the daemon just before epoch 2's event (after its checkpoint).
  let daemon: DaemonProcess = await spawnDaemon({
    stateDir,
    args,
    env: { PRETEXT_TEST_KILL_DAEMON_BEFORE_EPOCH: '2' },
  });
  let client = new PretextServiceClient(daemon.address, grpc.credentials.createInsecure());
  for (let i = 0; i < 2; i++) {
    runIds.push((await unary<{ run: Run }>(client, 'startPretext', request(100 + runIds.length))).run.id);
  }
  const windowKill = await Promise.race([daemon.exited, sleep(120_000).then(() => 'timeout')]);
  client.close();
  if (windowKill === 'SIGKILL') f.window_kills++;
  else await killDaemon(daemon);
  f.rounds++;
  integrity();
  say(`round 1: daemon killed between a checkpoint and its epoch event (${windowKill})`);

  // Later rounds: SIGKILL at a random moment inside an epoch.
  for (;;) {
    daemon = await spawnDaemon({ stateDir, args });
    client = new PretextServiceClient(daemon.address, grpc.credentials.createInsecure());
    await checkLogs(client);
    const runs = await Promise.all(runIds.map((id) => unary<{ run: Run }>(client, 'getRun', { runId: id })));
    const active = runs.filter((r) => !TERMINAL.has(r.run.state)).length;
    for (let i = active; i < 2; i++) {
      runIds.push((await unary<{ run: Run }>(client, 'startPretext', request(100 + runIds.length))).run.id);
    }
    if (Date.now() > deadline) break;
    // Wait for a step of an epoch the log does not have yet: the daemon dies mid-epoch.
    const midEpoch = await new Promise<boolean>((resolve) => {
      const s = client.streamMetrics(StreamMetricsRequest.fromPartial({ fromSeq: 0 }));
      const logged = new Map<string, number>();
      const timer = setTimeout(() => {
        s.cancel();
        resolve(false);
      }, 90_000);
      s.on('data', (r: { event?: RunEvent }) => {
        const e = r.event;
        if (e?.payload?.$case === 'epoch') logged.set(e.runId, e.payload.epoch.epoch);
        if (
          e?.payload?.$case === 'step' &&
          e.payload.step.epoch > (logged.get(e.runId) ?? 0) &&
          Date.now() - e.timeUnixMs < 1000
        ) {
          clearTimeout(timer);
          s.cancel();
          resolve(true);
        }
      });
      s.on('error', () => resolve(false));
    });
    await sleep(Math.random() * 1500);
    const running = (
      await unary<{ runs: Run[] }>(client, 'listRuns', { states: [RunState.RUN_STATE_RUNNING] })
    ).runs.length;
    client.close();
    if (daemon.child.exitCode !== null || daemon.child.signalCode !== null) f.unexpected_daemon_exits++;
    await killDaemon(daemon);
    f.rounds++;
    if (midEpoch) f.partial_epochs_retrained += running;
    integrity();
    say(
      `round ${f.rounds}: daemon SIGKILLed ${midEpoch ? 'mid-epoch' : '(no step seen)'} with ${running} runs training`,
    );
  }
  // Let the runs finish (bounded), then a final check and a graceful stop.
  const finishBy = Date.now() + 120_000;
  for (;;) {
    const runs = await Promise.all(runIds.map((id) => unary<{ run: Run }>(client, 'getRun', { runId: id })));
    if (runs.every((r) => TERMINAL.has(r.run.state)) || Date.now() > finishBy) {
      f.runs = runs.length;
      f.runs_succeeded = runs.filter((r) => r.run.state === RunState.RUN_STATE_SUCCEEDED).length;
      for (const r of runs) {
        if (r.run.state === RunState.RUN_STATE_SUCCEEDED) {
          const epochs = new Set(
            (await history(client, r.run.id)).flatMap((e) =>
              e.payload?.$case === 'epoch' ? [e.payload.epoch.epoch] : [],
            ),
          );
          f.epochs_logged += epochs.size;
          for (let e = 1; e <= (r.run.result?.epochsTrained ?? 0); e++) if (!epochs.has(e)) f.epochs_lost++;
        }
      }
      break;
    }
    await sleep(1000);
  }
  await checkLogs(client);
  client.close();
  daemon.child.kill('SIGTERM');
  await Promise.race([daemon.exited, sleep(20_000)]);
  await killDaemon(daemon);
  integrity();
  rmSync(stateDir, { recursive: true, force: true });
  return f;
}

// ---------------------------------------------------------------- parts 2 and 3: fuzzing, watchers

interface FuzzFigures {
  requests: number;
  by_code: Record<string, number>;
  by_method: Record<string, number>;
  internal_or_unknown_samples: Array<{ method: string; kind: string; code: string; details: string }>;
  daemon_crashes: number;
  watchers: number;
  watcher_events: number;
  watcher_errors: number;
  unary_calls: number;
  unary_p50_ms: number;
  unary_p99_ms: number;
  fuzz_seconds: number;
  rss_timeline_mb: number[];
  rss_start_mb: number;
  rss_peak_mb: number;
  rss_end_mb: number;
  rss_end_vs_start: number;
}

async function fuzzAndWatch(durationMs: number): Promise<FuzzFigures> {
  const stateDir = mkdtempSync(path.join(os.tmpdir(), 'pretext-soak-fuzz-'));
  // Runs the fuzzer creates never train (the worker hangs until the watchdog): this part is
  // about the daemon's door, not about training.
  const daemon = await spawnDaemon({
    stateDir,
    workerEntry: TINY_WORKER,
    env: { PRETEXT_TINY_HANG: '1' },
    args: ['--quiet'],
  });
  const client = new PretextServiceClient(daemon.address, grpc.credentials.createInsecure());
  const raw = new grpc.Client(daemon.address, grpc.credentials.createInsecure());
  const f: FuzzFigures = {
    requests: 0,
    by_code: {},
    by_method: {},
    internal_or_unknown_samples: [],
    daemon_crashes: 0,
    watchers: WATCHERS,
    watcher_events: 0,
    watcher_errors: 0,
    unary_calls: 0,
    unary_p50_ms: 0,
    unary_p99_ms: 0,
    fuzz_seconds: 0,
    rss_timeline_mb: [],
    rss_start_mb: 0,
    rss_peak_mb: 0,
    rss_end_mb: 0,
    rss_end_vs_start: 0,
  };
  let crashed = false;
  void daemon.exited.then(() => {
    crashed = true;
  });
  const seedRun = (
    await unary<{ run: Run }>(
      client,
      'startPretext',
      StartPretextRequest.fromPartial({
        config: { unlabeledLimit: 64, depth: 8, training: { epochs: 1, batchSize: 16 } },
      }),
    )
  ).run;
  const study = (
    await unary<{ study: { id: string } }>(
      client,
      'startStudy',
      StartStudyRequest.fromPartial({
        config: {
          pretextRunId: '',
          pretext: { training: { epochs: 1 } },
          labelBudgets: [100],
          folds: 1,
          downstream: { training: { epochs: 1 } },
        },
      }),
    )
  ).study;
  const targets = fuzzTargets(seedRun.id, study.id);

  const fuzzOnce = async () => {
    const target = targets[Math.floor(Math.random() * targets.length)]!;
    const seed = target.seeds[Math.floor(Math.random() * target.seeds.length)]!;
    const { kind, bytes } = Math.random() < 0.1 ? { kind: 'valid', bytes: seed } : mutate(seed);
    const { code, details } = await send(raw, target, bytes, 10_000);
    f.requests++;
    f.by_code[code] = (f.by_code[code] ?? 0) + 1;
    f.by_method[target.method] = (f.by_method[target.method] ?? 0) + 1;
    if ((code === 'INTERNAL' || code === 'UNKNOWN') && f.internal_or_unknown_samples.length < 20) {
      f.internal_or_unknown_samples.push({
        method: target.method,
        kind,
        code,
        details: details.slice(0, 200),
      });
    }
  };
  // Watchers and load start together; the first fifth of the phase warms the daemon up
  // (JIT, caches, SQLite pages), then its RSS is the baseline the end is compared with.
  const start = Date.now();
  const warmUntil = start + durationMs * 0.2;
  const end = start + durationMs;
  // Bounded: past `end` only until MIN_REQUESTS were sent, and never past twice the phase.
  const hardEnd = start + durationMs * 2;
  const going = () => !crashed && Date.now() < hardEnd && (Date.now() < end || f.requests < MIN_REQUESTS);
  say(
    `fuzzing for ${Math.round(durationMs / 1000)} s (at least ${MIN_REQUESTS} requests) with ${CONCURRENCY} senders, ${WATCHERS} watchers, a latency probe`,
  );
  // Watchers: every run's live events.
  const watchers = Array.from({ length: WATCHERS }, () => {
    const s = client.streamMetrics(StreamMetricsRequest.fromPartial({ fromSeq: 0 }));
    s.on('data', () => f.watcher_events++);
    s.on('error', (err: grpc.ServiceError) => {
      if (err.code !== grpc.status.CANCELLED) f.watcher_errors++;
    });
    return s;
  });
  // Latency probe: GetRun, ListRuns, GetServerInfo in turn.
  const latencies: number[] = [];
  const probe = (async () => {
    const calls: Array<[string, unknown]> = [
      ['getRun', { runId: seedRun.id }],
      ['listRuns', { limit: 20 }],
      ['getServerInfo', {}],
    ];
    for (let i = 0; going(); i++) {
      const [method, req] = calls[i % calls.length]!;
      const t0 = performance.now();
      try {
        await unary(client, method, req);
        latencies.push(performance.now() - t0);
      } catch {
        // counted by the fuzzer's figures only
      }
      f.rss_peak_mb = Math.max(f.rss_peak_mb, rssKb(daemon.pid) / 1024);
      await sleep(20);
    }
  })();
  const senders = Array.from({ length: CONCURRENCY }, async () => {
    while (going()) await fuzzOnce();
  });
  let lastReport = Date.now();
  while (going()) {
    await sleep(1000);
    const rss = rssKb(daemon.pid) / 1024;
    if (f.rss_start_mb === 0 && Date.now() >= warmUntil) f.rss_start_mb = rss;
    if (Date.now() - lastReport > 30_000) {
      lastReport = Date.now();
      f.rss_timeline_mb.push(Math.round(rss));
      say(
        `${f.requests} fuzzed requests so far, daemon RSS ${rss.toFixed(0)} MB; ${JSON.stringify(f.by_code)}`,
      );
    }
  }
  await Promise.all([...senders, probe]);
  for (const s of watchers) s.cancel();
  f.unary_calls = latencies.length;
  f.unary_p50_ms = quantile(latencies, 0.5);
  f.unary_p99_ms = quantile(latencies, 0.99);
  if (crashed) f.daemon_crashes++;
  f.fuzz_seconds = Math.round((Date.now() - start) / 1000);
  // Idle a moment, then the RSS the daemon settles back to.
  await sleep(15_000);
  f.rss_end_mb = rssKb(daemon.pid) / 1024;
  f.rss_end_vs_start = f.rss_start_mb > 0 ? f.rss_end_mb / f.rss_start_mb : 0;
  client.close();
  raw.close();
  daemon.child.kill('SIGTERM');
  await Promise.race([daemon.exited, sleep(20_000)]);
  await killDaemon(daemon);
  rmSync(stateDir, { recursive: true, force: true });
  return f;
}

// ---------------------------------------------------------------- main

const t0 = Date.now();
say(`soak for ${minutes} min: kill rounds, then fuzzing with watchers (loopback only)`);
const kill = await killRounds(t0 + killPhaseMs);
say(
  `kill rounds: ${kill.rounds} (${kill.window_kills} at the checkpoint/event window), ${kill.runs} runs (${kill.runs_succeeded} succeeded), ` +
    `epochs lost ${kill.epochs_lost}, duplicated ${kill.epochs_duplicated}, log gaps ${kill.log_gaps}, ` +
    `partial epochs retrained ${kill.partial_epochs_retrained}, integrity failures ${kill.integrity_failures}`,
);
const fuzz = await fuzzAndWatch(Math.max(30_000, t0 + killPhaseMs + fuzzPhaseMs - Date.now()));
say(`fuzzing: ${fuzz.requests} requests; by code ${JSON.stringify(fuzz.by_code)}`);
say(`by method ${JSON.stringify(fuzz.by_method)}`);
for (const s of fuzz.internal_or_unknown_samples) say(`  ${s.code} ${s.method} (${s.kind}): ${s.details}`);
say(
  `watchers: ${fuzz.watchers}, ${fuzz.watcher_events} events, ${fuzz.watcher_errors} errors; unary p50 ${fuzz.unary_p50_ms.toFixed(1)} ms, p99 ${fuzz.unary_p99_ms.toFixed(1)} ms over ${fuzz.unary_calls} calls`,
);
say(
  `daemon RSS: ${fuzz.rss_start_mb.toFixed(0)} MB at the start, ${fuzz.rss_peak_mb.toFixed(0)} MB peak, ${fuzz.rss_end_mb.toFixed(0)} MB at the end`,
);
const internal = (fuzz.by_code.INTERNAL ?? 0) + (fuzz.by_code.UNKNOWN ?? 0);
const pass = {
  no_internal_or_unknown: internal === 0,
  no_daemon_crash: fuzz.daemon_crashes === 0 && kill.unexpected_daemon_exits === 0,
  epochs_once_each: kill.epochs_duplicated === 0 && kill.log_gaps === 0 && kill.epochs_lost === 0,
  integrity_ok: kill.integrity_failures === 0,
  rss_within_20_percent: fuzz.rss_end_vs_start > 0 && fuzz.rss_end_vs_start <= 1.2,
};
console.log(
  JSON.stringify({
    minutes,
    wall_s: Math.round((Date.now() - t0) / 1000),
    machine: `${os.cpus().length} cores, load ${os
      .loadavg()
      .map((l) => l.toFixed(1))
      .join('/')}`,
    kill,
    fuzz,
    pass,
    ok: Object.values(pass).every(Boolean),
  }),
);
process.exit(Object.values(pass).every(Boolean) ? 0 : 1);
