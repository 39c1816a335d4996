// Fuzzed requests for every PretextService method: valid messages (encoded by the generated
// code) mutated at the byte level, plus raw random bytes, sent with identity serializers so
// the daemon's decoder sees exactly these bytes. Every answer is counted by its status code.
import { randomFillSync } from 'node:crypto';
import * as grpc from '@grpc/grpc-js';
import * as svc from '../../gen/ts/pretext/v1/service.js';

type Encoder = { encode(m: unknown): { finish(): Uint8Array }; fromPartial(o: unknown): unknown };

export interface FuzzTarget {
  method: string;
  streaming: boolean;
  seeds: Buffer[];
}

function enc(type: string, partial: unknown): Buffer {
  const t = (svc as unknown as Record<string, Encoder>)[type]!;
  return Buffer.from(t.encode(t.fromPartial(partial)).finish());
}

/** Valid seed messages per method; `runId`/`studyId` are ids the daemon knows. */
export function fuzzTargets(runId: string, studyId: string): FuzzTarget[] {
  const pretext = {
    method: 'rotation',
    dataset: 'cifar10',
    unlabeledLimit: 64,
    depth: 8,
    training: { epochs: 1, batchSize: 16, maxStepsPerEpoch: 1, seed: 7 },
  };
  const downstream = { nLabels: 100, training: { epochs: 1 }, pretextRunId: runId };
  const t = (method: string, type: string, partials: unknown[], streaming = false): FuzzTarget => ({
    method,
    streaming,
    seeds: partials.map((p) => enc(type, p)),
  });
  return [
    t('GetServerInfo', 'GetServerInfoRequest', [{}]),
    t('StartPretext', 'StartPretextRequest', [
      { config: pretext, name: 'fuzz' },
      { config: { ...pretext, method: 'simclr', contrastive: { temperature: 0.5 } } },
    ]),
    t('StartDownstream', 'StartDownstreamRequest', [
      { config: downstream },
      { config: { ...downstream, pretextRunId: '' } },
    ]),
    t('Evaluate', 'EvaluateRequest', [{ config: { targetRunId: runId, split: 'test', limit: 10 } }]),
    t(
      'StreamMetrics',
      'StreamMetricsRequest',
      [
        { runId, historyOnly: true },
        { runId: '', fromSeq: 1, historyOnly: true, skipSteps: true },
      ],
      true,
    ),
    t('GetRun', 'GetRunRequest', [{ runId }]),
    t('ListRuns', 'ListRunsRequest', [{ states: [1, 2], kinds: [1], limit: 5 }, { parentRunId: runId }]),
    t('CancelRun', 'CancelRunRequest', [{ runId }]),
    t('ResumeRun', 'ResumeRunRequest', [{ runId }]),
    t('StartStudy', 'StartStudyRequest', [
      {
        config: { pretext, labelBudgets: [100], folds: 1, downstream: { training: { epochs: 1 } } },
      },
      { config: { pretextRunId: runId, labelBudgets: [100], folds: 1 } },
    ]),
    t('GetStudy', 'GetStudyRequest', [{ studyId }]),
    t('ListStudies', 'ListStudiesRequest', [{ limit: 5 }]),
    t('CancelStudy', 'CancelStudyRequest', [{ studyId }]),
  ];
}

function varint(n: bigint): number[] {
  const out: number[] = [];
  while (n >= 0x80n) {
    out.push(Number(n & 0x7fn) | 0x80);
    n >>= 7n;
  }
  out.push(Number(n));
  return out;
}

const pick = <T>(xs: readonly T[]): T => xs[Math.floor(Math.random() * xs.length)]!;
const int = (n: number) => Math.floor(Math.random() * n);
const randomBytes = (n: number) => randomFillSync(Buffer.alloc(n));

const BIG = [2n ** 53n, 2n ** 60n, 2n ** 63n, 2n ** 64n - 1n, 2n ** 32n - 1n, 2n ** 31n];

/** One mutation of a seed message, or raw bytes. */
export function mutate(seed: Buffer): { kind: string; bytes: Buffer } {
  const field = 1 + int(12);
  switch (int(10)) {
    case 0: {
      const b = Buffer.from(seed);
      for (let i = 0, n = 1 + int(4); i < n && b.length; i++) b[int(b.length)]! ^= 1 << int(8);
      return { kind: 'bitflip', bytes: b };
    }
    case 1:
      return { kind: 'truncate', bytes: seed.subarray(0, int(seed.length + 1)) };
    case 2: {
      const at = int(seed.length + 1);
      return {
        kind: 'insert',
        bytes: Buffer.concat([seed.subarray(0, at), randomBytes(1 + int(8)), seed.subarray(at)]),
      };
    }
    case 3:
      return {
        kind: 'big-varint',
        bytes: Buffer.concat([seed, Buffer.from([(field << 3) | 0, ...varint(pick(BIG))])]),
      };
    case 4: {
      const len = pick([100, 10_000, 100_000]);
      const s = Buffer.alloc(len, pick(['x', '_', '\u00e9', '/']));
      return {
        kind: 'long-string',
        bytes: Buffer.concat([seed, Buffer.from([(field << 3) | 2, ...varint(BigInt(s.length))]), s]),
      };
    }
    case 5: {
      const n = pick([1000, 40_000, 300_000]);
      const body = randomBytes(n);
      for (let i = 0; i < n; i++) body[i] = 1 + (body[i]! % 5);
      return {
        kind: 'huge-repeated',
        bytes: Buffer.concat([seed, Buffer.from([(field << 3) | 2, ...varint(BigInt(body.length))]), body]),
      };
    }
    case 6:
      return { kind: 'concat', bytes: Buffer.concat([seed, seed]) };
    case 7:
      return { kind: 'empty', bytes: Buffer.alloc(0) };
    case 8:
      return {
        kind: 'wrong-wire-type',
        bytes: Buffer.concat([Buffer.from([(field << 3) | pick([1, 5, 3, 4, 6, 7])]), seed]),
      };
    default:
      return { kind: 'raw', bytes: randomBytes(int(200)) };
  }
}

const identity = (b: Buffer) => b;

/** Sends one request; resolves with the status code name (never rejects). */
export function send(
  client: grpc.Client,
  target: FuzzTarget,
  bytes: Buffer,
  timeoutMs: number,
): Promise<{ code: string; details: string }> {
  const path = `/pretext.v1.PretextService/${target.method}`;
  const deadline = Date.now() + timeoutMs;
  return new Promise((resolve) => {
    if (!target.streaming) {
      client.makeUnaryRequest(path, identity, identity, bytes, { deadline }, (err) =>
        resolve({ code: grpc.status[err ? err.code : grpc.status.OK]!, details: err?.details ?? '' }),
      );
      return;
    }
    const s = client.makeServerStreamRequest(path, identity, identity, bytes, new grpc.Metadata(), {
      deadline,
    });
    let messages = 0;
    s.on('data', () => {
      // A live stream never ends by itself: a few events are proof enough that it works.
      if (++messages === 20) s.cancel();
    });
    s.on('end', () => resolve({ code: 'OK', details: '' }));
    s.on('error', (err: grpc.ServiceError) =>
      resolve({
        code: err.code === grpc.status.CANCELLED && messages >= 20 ? 'OK' : grpc.status[err.code]!,
        details: err.details,
      }),
    );
  });
}
