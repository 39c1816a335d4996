// The Prometheus endpoint: scraped over HTTP while a run trains, parsed, and checked against
// what the daemon is doing (runs by state, queue, per-run figures, event log and SQLite
// sizes, streams, RPC counts by method and code, worker RSS, free disk).
import assert from 'node:assert/strict';
import { statfsSync } from 'node:fs';
import { test } from 'node:test';
import * as grpc from '@grpc/grpc-js';
import { type Run, RunState } from '../../gen/ts/pretext/v1/run.js';
import { StreamMetricsRequest } from '../../gen/ts/pretext/v1/service.js';
import { parseMetricsListen } from '../../server/daemon/metrics.js';
import { startTestDaemon, tinyPretext } from '../helpers/daemon.js';
import { scrape, value } from '../helpers/metrics.js';

test('--metrics-listen: a port alone binds loopback; HOST:PORT as given; nonsense is refused', () => {
  assert.deepEqual(parseMetricsListen('9464'), { host: '127.0.0.1', port: 9464 });
  assert.deepEqual(parseMetricsListen('0.0.0.0:9464'), { host: '0.0.0.0', port: 9464 });
  assert.deepEqual(parseMetricsListen('[::1]:0'), { host: '::1', port: 0 });
  assert.throws(() => parseMetricsListen('nine'), /--metrics-listen "nine" is not PORT or HOST:PORT/);
  assert.throws(() => parseMetricsListen('99999'), /out of range/);
});

test('a scrape during a run reports runs, queue, training, storage, streams, RPCs, RSS and disk', async () => {
  const d = await startTestDaemon({ metricsListen: '127.0.0.1:0' });
  try {
    const address = d.daemon.metricsAddress;
    assert.ok(address, 'no metrics address');
    assert.match(address, /^127\.0\.0\.1:\d+$/);
    const { run } = await d.call<{ run: Run }>('startPretext', tinyPretext({ epochs: 500, steps: 5 }));
    const { run: queued } = await d.call<{ run: Run }>('startPretext', tinyPretext({ epochs: 1, seed: 9 }));
    await d.stream({ runId: run.id }, (ev) => ev.filter((e) => e.payload?.$case === 'step').length >= 3);
    await assert.rejects(d.call('getRun', { runId: 'r-20260101-000000' }));
    // One stream stays open while we scrape.
    const open = d.client.streamMetrics(
      StreamMetricsRequest.fromPartial({ runId: run.id }),
      new grpc.Metadata(),
    );
    open.on('error', () => {});
    await new Promise<void>((resolve) => open.once('data', () => resolve()));

    for (let i = 0; i < 300 && d.daemon.spareWorkerPids().length < 1; i++)
      await new Promise((r) => setTimeout(r, 100));
    const { samples, types } = await scrape(address);
    assert.equal(value(samples, 'pretext_runs', { state: 'running' }), 1);
    assert.equal(value(samples, 'pretext_runs', { state: 'queued' }), 1);
    assert.equal(value(samples, 'pretext_runs', { state: 'failed' }), 0);
    assert.equal(value(samples, 'pretext_queue_length'), 1);
    const ips = value(samples, 'pretext_run_images_per_second', { run_id: run.id });
    assert.ok(ips !== undefined && ips > 0, `img/s ${ips}`);
    assert.ok((value(samples, 'pretext_run_epoch', { run_id: run.id }) ?? 0) >= 1);
    const loss = value(samples, 'pretext_run_loss', { run_id: run.id });
    assert.ok(loss !== undefined && Number.isFinite(loss) && loss > 0, `loss ${loss}`);
    assert.equal(value(samples, 'pretext_run_loss', { run_id: queued.id }), undefined);
    assert.ok((value(samples, 'pretext_event_log_events') ?? 0) >= 5);
    assert.ok((value(samples, 'pretext_event_log_last_seq') ?? 0) >= 5);
    // In WAL mode the newest pages sit in the -wal file until a checkpoint.
    const sqlite =
      (value(samples, 'pretext_sqlite_bytes', { file: 'db' }) ?? 0) +
      (value(samples, 'pretext_sqlite_bytes', { file: 'wal' }) ?? 0);
    assert.ok(sqlite > 8192, `sqlite ${sqlite} bytes`);
    assert.ok((value(samples, 'pretext_streams_open') ?? 0) >= 1);
    assert.ok((value(samples, 'pretext_event_watchers') ?? 0) >= 1);
    assert.equal(value(samples, 'pretext_rpc_requests_total', { method: 'StartPretext', code: 'OK' }), 2);
    assert.equal(value(samples, 'pretext_rpc_requests_total', { method: 'GetRun', code: 'NOT_FOUND' }), 1);
    assert.equal(
      value(samples, 'pretext_rpc_duration_seconds_count', { method: 'StartPretext', code: 'OK' }),
      2,
    );
    assert.equal(types.get('pretext_rpc_duration_seconds'), 'histogram');
    assert.equal(types.get('pretext_rpc_requests_total'), 'counter');
    const [pid] = d.daemon.workerPids();
    const rss = value(samples, 'pretext_worker_rss_bytes', { run_id: run.id, pid: String(pid) });
    assert.ok(rss !== undefined && rss > 20 * 2 ** 20, `worker RSS ${rss}`);
    const free = value(samples, 'pretext_disk_free_bytes', { dir: 'state' }) ?? 0;
    const fs = statfsSync(d.stateDir);
    assert.ok(Math.abs(free - fs.bavail * fs.bsize) < 512 * 2 ** 20, `free ${free}`);
    assert.ok((value(samples, 'pretext_disk_free_bytes', { dir: 'data' }) ?? 0) > 0);
    assert.equal(value(samples, 'pretext_starting_paused'), 0);
    // The spare that replaced the one the run took (1 slot: 1 spare), booted before the scrape.
    assert.equal(value(samples, 'pretext_spare_workers'), 1);
    assert.equal(value(samples, 'pretext_agent_online'), undefined, 'no agents on a single host');
    assert.ok((value(samples, 'pretextd_process_resident_memory_bytes') ?? 0) > 0);

    // An ended run leaves the per-run series; other paths are 404.
    open.cancel();
    await d.call('cancelRun', { runId: run.id });
    await d.waitState(run.id, [RunState.RUN_STATE_CANCELLED]);
    await d.call('cancelRun', { runId: queued.id }).catch(() => {});
    await d.waitState(queued.id, [RunState.RUN_STATE_CANCELLED, RunState.RUN_STATE_SUCCEEDED]);
    const after = await scrape(address);
    assert.equal(value(after.samples, 'pretext_run_images_per_second', { run_id: run.id }), undefined);
    assert.equal(value(after.samples, 'pretext_runs', { state: 'running' }), 0);
    assert.equal(value(after.samples, 'pretext_streams_open'), 0);
    assert.equal((await fetch(`http://${address}/`)).status, 404);
  } finally {
    await d.stop();
  }
});

test('without --metrics-listen there is no endpoint', async () => {
  const d = await startTestDaemon();
  try {
    assert.equal(d.daemon.metricsAddress, undefined);
  } finally {
    await d.stop();
  }
});
