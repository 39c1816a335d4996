// Request validation, authentication, TLS, health and reflection over real gRPC.
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import { type Run, RunState } from '../../gen/ts/pretext/v1/run.js';
import { GetServerInfoRequest, PretextServiceClient } from '../../gen/ts/pretext/v1/service.js';
import { startDaemon } from '../../server/daemon/daemon.js';
import { startTestDaemon, type TestDaemon, tinyPretext } from '../helpers/daemon.js';
import { makeCert } from '../helpers/certs.js';
import { SHARED_DATASETS } from '../helpers/paths.js';

const code = (c: grpc.status, message?: RegExp) => (err: unknown) => {
  const e = err as grpc.ServiceError;
  assert.equal(e.code, c, `expected ${grpc.status[c]}, got ${grpc.status[e.code]}: ${e.details}`);
  if (message) assert.match(e.details, message);
  return true;
};

describe('request validation', () => {
  let d: TestDaemon;
  let finished: Run;
  before(async () => {
    d = await startTestDaemon();
    const { run } = await d.call<{ run: Run }>('startPretext', tinyPretext({ epochs: 1, steps: 1 }));
    finished = await d.waitState(run.id, [RunState.RUN_STATE_SUCCEEDED]);
  });
  after(async () => {
    await d.stop();
  });

  test('bad pretext configs are INVALID_ARGUMENT with a message that names the field', async () => {
    const cases: Array<[unknown, RegExp]> = [
      [{}, /config: is required/],
      [{ config: { training: {} } }, /config.training.epochs: is required/],
      [{ config: { depth: 21, training: { epochs: 1 } } }, /config.depth: 21 is not a ResNet v1 depth/],
      [{ config: { method: 'jigsaw', training: { epochs: 1 } } }, /config.method: "jigsaw" is unknown/],
      [{ config: { dataset: 'mnist', training: { epochs: 1 } } }, /config.dataset: "mnist" is unknown/],
      [{ config: { rotationsPerImage: 3, training: { epochs: 1 } } }, /rotations_per_image/],
      [{ config: { training: { epochs: 1, validationFraction: 0.9 } } }, /validation_fraction/],
      [
        { config: { training: { epochs: 1, lrSchedule: 'warp' } } },
        /config.training.lr_schedule: "warp" is unknown/,
      ],
      [{ config: { training: { epochs: 1 } }, name: 'x'.repeat(300) }, /name is longer/],
    ];
    for (const [req, msg] of cases) {
      await assert.rejects(d.call('startPretext', req), code(grpc.status.INVALID_ARGUMENT, msg));
    }
  });

  test('bad downstream configs', async () => {
    const base = { training: { epochs: 1 } };
    await assert.rejects(
      d.call('startDownstream', { config: { ...base, nLabels: 7 } }),
      code(
        grpc.status.INVALID_ARGUMENT,
        /config.n_labels: 7 does not divide cifar10.s 50000 training images/,
      ),
    );
    await assert.rejects(
      d.call('startDownstream', { config: { ...base } }),
      code(grpc.status.INVALID_ARGUMENT, /n_labels/),
    );
    await assert.rejects(
      d.call('startDownstream', { config: { ...base, nLabels: 100, fold: 500 } }),
      code(
        grpc.status.INVALID_ARGUMENT,
        /config.fold: 500 is out of range: stratified_fold has folds 0..499/,
      ),
    );
    await assert.rejects(
      d.call('startDownstream', { config: { ...base, nLabels: 100, pretextRunId: 'r-nope' } }),
      code(grpc.status.NOT_FOUND, /r-nope does not exist/),
    );
    await assert.rejects(
      d.call('startDownstream', {
        config: { ...base, nLabels: 100, pretextRunId: finished.id, dataset: 'stl10' },
      }),
      code(grpc.status.INVALID_ARGUMENT, /differs from the pretext run's dataset/),
    );
  });

  test('unknown and malformed ids, impossible state changes', async () => {
    await assert.rejects(d.call('getRun', { runId: 'r-missing' }), code(grpc.status.NOT_FOUND));
    await assert.rejects(
      d.call('getRun', { runId: '' }),
      code(grpc.status.INVALID_ARGUMENT, /run_id is required/),
    );
    await assert.rejects(d.call('getRun', { runId: '../../etc' }), code(grpc.status.INVALID_ARGUMENT));
    await assert.rejects(
      d.call('cancelRun', { runId: finished.id }),
      code(grpc.status.FAILED_PRECONDITION, /already ended/),
    );
    await assert.rejects(d.call('resumeRun', { runId: finished.id }), code(grpc.status.FAILED_PRECONDITION));
    await assert.rejects(d.call('listRuns', { limit: 5000 }), code(grpc.status.INVALID_ARGUMENT));
    await assert.rejects(d.stream({ runId: 'r-missing' }), code(grpc.status.NOT_FOUND));
    await assert.rejects(
      d.call('evaluate', { config: { targetRunId: finished.id, split: 'holdout' } }),
      code(grpc.status.INVALID_ARGUMENT, /config.split: "holdout" is unknown/),
    );
    // The daemon is still fine and the registry intact.
    const { run } = await d.call<{ run: Run }>('getRun', { runId: finished.id });
    assert.equal(run.state, RunState.RUN_STATE_SUCCEEDED);
  });

  test('health and reflection work for generic clients', async () => {
    const healthDef = protoLoader.loadSync(
      path.join(path.dirname(require_('grpc-health-check')), '../../proto/health/v1/health.proto'),
      { enums: String },
    );
    const health = grpc.loadPackageDefinition(healthDef) as unknown as {
      grpc: { health: { v1: { Health: grpc.ServiceClientConstructor } } };
    };
    const hc = new health.grpc.health.v1.Health(d.daemon.address, grpc.credentials.createInsecure());
    const res = await new Promise<{ status: string }>((resolve, reject) =>
      (hc as unknown as { check: (...args: unknown[]) => void }).check(
        { service: 'pretext.v1.PretextService' },
        (err: Error, r: { status: string }) => (err ? reject(err) : resolve(r)),
      ),
    );
    assert.equal(res.status, 'SERVING');
    hc.close();

    const reflDef = protoLoader.loadSync('grpc/reflection/v1/reflection.proto', {
      includeDirs: [path.join(path.dirname(require_('@grpc/reflection')), '../proto')],
    });
    const refl = grpc.loadPackageDefinition(reflDef) as unknown as {
      grpc: { reflection: { v1: { ServerReflection: grpc.ServiceClientConstructor } } };
    };
    const rc = new refl.grpc.reflection.v1.ServerReflection(
      d.daemon.address,
      grpc.credentials.createInsecure(),
    );
    const call = (
      rc as unknown as { serverReflectionInfo(): grpc.ClientDuplexStream<unknown, unknown> }
    ).serverReflectionInfo();
    const reply = await new Promise<{ listServicesResponse: { service: Array<{ name: string }> } }>(
      (resolve, reject) => {
        call.on('data', (r) => resolve(r as { listServicesResponse: { service: Array<{ name: string }> } }));
        call.on('error', reject);
        call.write({ listServices: '' });
      },
    );
    call.end();
    rc.close();
    assert.ok(reply.listServicesResponse.service.some((s) => s.name === 'pretext.v1.PretextService'));
  });
});

function require_(pkg: string): string {
  return import.meta.resolve(pkg).replace('file://', '');
}

describe('authentication and TLS', () => {
  test('with a token, calls need the right bearer token; health does not', async () => {
    const d = await startTestDaemon({ token: 's3cret-token' });
    try {
      const info = await d.call<{ version: string }>('getServerInfo', {});
      assert.ok(info.version);
      const none = new grpc.Metadata();
      await assert.rejects(
        d.call('getServerInfo', {}, none),
        code(grpc.status.UNAUTHENTICATED, /needs "authorization: Bearer/),
      );
      const wrong = new grpc.Metadata();
      wrong.set('authorization', 'Bearer nope');
      await assert.rejects(
        d.call('listRuns', {}, wrong),
        code(grpc.status.UNAUTHENTICATED, /token is wrong/),
      );
      // Streams are guarded too.
      const s = d.client.streamMetrics({ runId: '', fromSeq: 0, historyOnly: true, skipSteps: false }, none);
      await assert.rejects(
        new Promise((resolve, reject) => {
          s.on('data', () => {});
          s.on('end', resolve);
          s.on('error', reject);
        }),
        code(grpc.status.UNAUTHENTICATED),
      );
    } finally {
      await d.stop();
    }
  });

  test('refuses a non-loopback address without a token', async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'pretext-test-'));
    try {
      await assert.rejects(
        startDaemon({ listen: '0.0.0.0:0', stateDir: dir, dataDir: SHARED_DATASETS, quiet: true }),
        /not a loopback address/,
      );
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test('serves TLS with a certificate; a plaintext client cannot talk to it', async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'pretext-tls-'));
    makeCert(dir);
    const cert = readFileSync(path.join(dir, 'cert.pem'), 'utf8');
    const d = await startTestDaemon({
      tlsCert: cert,
      tlsKey: readFileSync(path.join(dir, 'key.pem'), 'utf8'),
    });
    try {
      const tls = new PretextServiceClient(d.daemon.address, grpc.credentials.createSsl(Buffer.from(cert)));
      const info = await new Promise<{ version: string }>((resolve, reject) =>
        tls.getServerInfo(GetServerInfoRequest.fromPartial({}), (err, r) => (err ? reject(err) : resolve(r))),
      );
      assert.ok(info.version);
      tls.close();
      const plain = new PretextServiceClient(d.daemon.address, grpc.credentials.createInsecure());
      await assert.rejects(
        new Promise((resolve, reject) =>
          plain.getServerInfo({}, new grpc.Metadata(), { deadline: Date.now() + 3000 }, (err, r) =>
            err ? reject(err) : resolve(r),
          ),
        ),
        code(grpc.status.UNAVAILABLE),
      );
      plain.close();
    } finally {
      await d.stop();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
