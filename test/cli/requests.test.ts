// Parsing what a person typed needs no daemon; judging the settings is the daemon's (see
// test/contract/conformance.test.ts).
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { CheckpointChoice, Protocol, SubsetScheme } from '../../gen/ts/pretext/v1/run.js';
import { resolveConnection } from '../../clients/ts/connection.js';
import { CliError, ExitCode } from '../../clients/ts/exit-codes.js';
import { bufferIo } from '../../cli/io.js';
import { main } from '../../cli/main.js';
import {
  ALL_FIELDS,
  downstreamRequest,
  evaluateRequest,
  flagOf,
  pretextRequest,
  studyRequest,
} from '../../clients/ts/requests.js';

const invalid = (fn: () => unknown, re: RegExp) =>
  assert.throws(
    fn,
    (e: unknown) => e instanceof CliError && e.exitCode === ExitCode.INVALID_ARGUMENT && re.test(e.message),
  );

describe('request builders (syntax only: the daemon judges the settings)', () => {
  it('sets only what was given; the daemon fills the rest', () => {
    const { config } = pretextRequest({ method: 'rotation', depth: '8', epochs: '2', maxStepsPerEpoch: '3' });
    assert.equal(config?.method, 'rotation');
    assert.equal(config?.depth, 8);
    assert.equal(config?.training?.epochs, 2);
    assert.equal(config?.training?.maxStepsPerEpoch, 3);
    assert.equal(config?.training?.batchSize, 0);
    // Unset, not false: augmentation is the method's default, whichever client sends.
    assert.equal(config?.training?.augment, undefined);
    assert.equal(config?.contrastive, undefined);
  });
  it('sends an explicit --no-augment as false', () => {
    assert.equal(pretextRequest({ epochs: '1', augment: false }).config?.training?.augment, false);
  });
  it('reports every malformed value at once, naming its flag', () => {
    invalid(
      () => pretextRequest({ depth: 'x', epochs: '1.5', lr: 'fast' }),
      /--depth "x": not a number.*\n.*--lr "fast": not a number/s,
    );
    invalid(() => pretextRequest({ seed: '1.5' }), /--seed "1.5": not an integer/);
    invalid(() => pretextRequest({ disablePlateau: 'maybe' }), /expected yes or no/);
  });
  it('passes names through for the daemon to judge', () => {
    const { config } = pretextRequest({ method: 'jigsaw', dataset: '__proto__', epochs: '1' });
    assert.equal(config?.method, 'jigsaw');
    assert.equal(config?.dataset, '__proto__');
  });
  it('takes contrastive options', () => {
    const { config } = pretextRequest({
      method: 'simclr',
      epochs: '1',
      temperature: '0.2',
      queueSize: '100',
    });
    assert.equal(config?.contrastive?.temperature, 0.2);
    assert.equal(config?.contrastive?.queueSize, 100);
  });
  it('needs exactly one of --from and --scratch', () => {
    invalid(() => downstreamRequest({ nLabels: '100', epochs: '1' }), /--from RUN.*--scratch/);
    invalid(() => downstreamRequest({ from: 'r-1', scratch: true, nLabels: '100', epochs: '1' }), /not both/);
  });
  it('maps enum names to the proto values', () => {
    const { config } = downstreamRequest({
      from: 'r-1',
      nLabels: '100',
      epochs: '1',
      checkpoint: 'last',
      protocol: 'linear-probe',
      subsetScheme: 'cumulative',
    });
    assert.equal(config?.checkpoint, CheckpointChoice.CHECKPOINT_CHOICE_LAST);
    assert.equal(config?.protocol, Protocol.PROTOCOL_LINEAR_PROBE);
    assert.equal(config?.subsetScheme, SubsetScheme.SUBSET_SCHEME_CUMULATIVE);
    invalid(
      () => downstreamRequest({ scratch: true, subsetScheme: 'random' }),
      /expected one of stratified-fold/,
    );
    assert.equal(evaluateRequest('r-1', { split: 'test', limit: '5', wait: true }).config?.limit, 5);
  });
  it('sends the study preset by name, with only the overrides set', () => {
    const req = studyRequest({
      preset: 'cpu-quick',
      budgets: ['100', '250'],
      epochs: '3',
      validateOnly: true,
    });
    assert.equal(req.config?.preset, 'cpu-quick');
    assert.deepEqual(req.config?.labelBudgets, [100, 250]);
    assert.equal(req.config?.downstream?.training?.epochs, 3);
    assert.equal(req.config?.downstream?.training?.batchSize, 0);
    assert.equal(req.config?.pretext, undefined);
    assert.equal(req.validateOnly, true);
    invalid(() => studyRequest({ arms: ['both'] }), /--arms "both"/);
  });
  it("keys every field by its flag's camelCase, the name commander stores it under", () => {
    for (const f of ALL_FIELDS) {
      assert.equal(
        f.key,
        f.flag.replace(/-([a-z])/g, (_, ch: string) => ch.toUpperCase()),
        f.flag,
      );
    }
    assert.equal(pretextRequest({ lr: '0.01' }).config?.training?.learningRate, 0.01);
  });
  it('names the flag of a refused field', () => {
    assert.equal(flagOf('config.training.epochs'), '--epochs');
    assert.equal(flagOf('config.downstream.training.batch_size'), '--batch-size');
    assert.equal(flagOf('config.label_budgets[2]'), '--budgets');
    assert.equal(flagOf('config.contrastive.knn_k'), '--knn-k');
  });
});

describe('connection options', () => {
  it('prefers flags over environment over defaults', () => {
    assert.equal(resolveConnection({}, {}).addr, '127.0.0.1:50051');
    assert.equal(resolveConnection({}, { PRETEXT_ADDR: 'h:1' }).addr, 'h:1');
    assert.equal(resolveConnection({ addr: 'x:2' }, { PRETEXT_ADDR: 'h:1' }).addr, 'x:2');
    assert.equal(resolveConnection({}, { PRETEXT_TOKEN: 't' }).token, 't');
    assert.equal(resolveConnection({ token: 'f' }, { PRETEXT_TOKEN: 't' }).token, 'f');
    invalid(() => resolveConnection({ addr: 'nohostport' }, {}), /expected host:port/);
    invalid(() => resolveConnection({ token: 'a', tokenFile: 'b' }, {}), /not both/);
    invalid(() => resolveConnection({ tokenFile: '/nonexistent/token' }, {}), /cannot read token file/);
    invalid(
      () => resolveConnection({}, { PRETEXT_TLS_CA: '/nonexistent/ca.pem' }),
      /cannot read TLS CA file/,
    );
  });
});

describe('pretext command line without a daemon', () => {
  it('exits 2 on a malformed option and sends nothing', async () => {
    const io = bufferIo();
    // Port 1 is never a daemon: a request would fail with 3, so 2 proves parsing came first.
    const code = await main(['--addr', '127.0.0.1:1', 'pretext', 'start', '--epochs', 'ten'], io);
    assert.equal(code, ExitCode.INVALID_ARGUMENT);
    assert.match(io.stderr(), /--epochs "ten": not a number/);
  });
  it('exits 2 on an unknown command or option', async () => {
    assert.equal(await main(['frobnicate'], bufferIo()), ExitCode.INVALID_ARGUMENT);
    assert.equal(await main(['runs', '--bogus'], bufferIo()), ExitCode.INVALID_ARGUMENT);
    assert.equal(await main(['show'], bufferIo()), ExitCode.INVALID_ARGUMENT);
  });
  it('documents the exit codes and every command in --help', async () => {
    const io = bufferIo();
    assert.equal(await main(['--help'], io), ExitCode.OK);
    const help = io.stdout();
    for (const cmd of [
      'info',
      'runs',
      'show',
      'pretext',
      'downstream',
      'eval',
      'watch',
      'cancel',
      'resume',
      'tui',
    ]) {
      assert.match(help, new RegExp(`\\n  ${cmd}\\b`));
    }
    for (const code of ['0', '1', '2', '3', '4', '5']) assert.match(help, new RegExp(`\\n  ${code}  `));
    assert.match(help, /PRETEXT_TOKEN/);
    const sub = bufferIo();
    assert.equal(await main(['pretext', 'start', '--help'], sub), ExitCode.OK);
    for (const flag of [
      '--method',
      '--epochs',
      '--batch-size',
      '--lr-schedule',
      '--no-augment',
      '--temperature',
      '--dry-run',
    ]) {
      assert.ok(sub.stdout().includes(flag), flag);
    }
  });
  it('exits 3 with a clear message when the daemon is not reachable', async () => {
    const io = bufferIo();
    assert.equal(await main(['--addr', '127.0.0.1:1', 'runs'], io), ExitCode.UNREACHABLE);
    assert.match(io.stderr(), /cannot reach pretextd at 127\.0\.0\.1:1: connection refused/);
  });
});
