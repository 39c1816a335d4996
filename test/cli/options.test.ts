// Option validation happens before anything is sent: these need no daemon.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { CheckpointChoice, Protocol, SubsetScheme } from '../../gen/ts/pretext/v1/run.js';
import { resolveConnection } from '../../clients/ts/connection.js';
import { CliError, ExitCode } from '../../clients/ts/exit-codes.js';
import { bufferIo } from '../../cli/io.js';
import { main } from '../../cli/main.js';
import { buildDownstreamConfig, buildEvaluateConfig, buildPretextConfig } from '../../cli/options.js';

const invalid = (fn: () => unknown, re: RegExp) =>
  assert.throws(
    fn,
    (e: unknown) => e instanceof CliError && e.exitCode === ExitCode.INVALID_ARGUMENT && re.test(e.message),
  );

describe('pretext options', () => {
  it('builds a config with the given values and reference defaults left to the daemon', () => {
    const c = buildPretextConfig({
      method: 'rotation',
      depth: '8',
      epochs: '2',
      maxStepsPerEpoch: '3',
      augment: false,
    });
    assert.equal(c.method, 'rotation');
    assert.equal(c.depth, 8);
    assert.equal(c.training?.epochs, 2);
    assert.equal(c.training?.maxStepsPerEpoch, 3);
    assert.equal(c.training?.augment, false);
    assert.equal(c.training?.batchSize, 0);
    assert.equal(c.contrastive, undefined);
  });
  it('augments by default, as the reference does', () => {
    assert.equal(buildPretextConfig({ epochs: '1' }).training?.augment, true);
  });
  it('reports every bad option at once', () => {
    invalid(
      () => buildPretextConfig({ method: 'jigsaw', depth: '21', epochs: '0', lr: 'x', learningRate: '-1' }),
      /--method "jigsaw".*\n.*--depth "21": must be 6n\+2.*\n.*--epochs "0"/s,
    );
  });
  it('requires epochs and rejects options of other methods', () => {
    invalid(() => buildPretextConfig({}), /--epochs is required/);
    invalid(
      () => buildPretextConfig({ epochs: '1', temperature: '0.5' }),
      /do not apply to the rotation method/,
    );
    invalid(() => buildPretextConfig({ epochs: '1', unlabeledLimit: '5' }), /at least 20/);
    invalid(() => buildPretextConfig({ epochs: '1', seed: '1.5' }), /not an integer/);
    invalid(() => buildPretextConfig({ epochs: '1', validationFraction: '0.9' }), /<= 0.5/);
    invalid(
      () => buildPretextConfig({ epochs: '1', plateauPatience: '3', disablePlateau: true }),
      /contradict/,
    );
  });
  it('takes contrastive options for contrastive methods', () => {
    const c = buildPretextConfig({ method: 'simclr', epochs: '1', temperature: '0.2', queueSize: '100' });
    assert.equal(c.contrastive?.temperature, 0.2);
    assert.equal(c.contrastive?.queueSize, 100);
  });
});

describe('downstream and evaluate options', () => {
  it('needs exactly one of --from and --scratch', () => {
    invalid(
      () => buildDownstreamConfig({ nLabels: '100', epochs: '1' }, undefined, false),
      /--from RUN.*--scratch/,
    );
    invalid(() => buildDownstreamConfig({ nLabels: '100', epochs: '1' }, 'r-1', true), /not both/);
  });
  it('checks the label budget and folds like the daemon', () => {
    invalid(
      () => buildDownstreamConfig({ nLabels: '105', epochs: '1' }, undefined, true),
      /multiple of the class count/,
    );
    invalid(
      () => buildDownstreamConfig({ nLabels: '25000', fold: '2', epochs: '1' }, undefined, true),
      /fold 2 is out of range/,
    );
    invalid(() => buildDownstreamConfig({ epochs: '1' }, undefined, true), /--n-labels is required/);
    invalid(
      () =>
        buildDownstreamConfig({ nLabels: '100', epochs: '1', subsetScheme: 'stl10-fold' }, undefined, true),
      /needs --dataset stl10/,
    );
    invalid(
      () => buildDownstreamConfig({ nLabels: '100', epochs: '1', depth: '20' }, 'r-1', false),
      /--scratch only/,
    );
  });
  it('maps names to the proto enums', () => {
    const d = buildDownstreamConfig(
      {
        nLabels: '1000',
        fold: '3',
        epochs: '5',
        checkpoint: 'last',
        protocol: 'linear-probe',
        subsetScheme: 'cumulative',
      },
      'r-1',
      false,
    );
    assert.equal(d.pretextRunId, 'r-1');
    assert.equal(d.checkpoint, CheckpointChoice.CHECKPOINT_CHOICE_LAST);
    assert.equal(d.protocol, Protocol.PROTOCOL_LINEAR_PROBE);
    assert.equal(d.subsetScheme, SubsetScheme.SUBSET_SCHEME_CUMULATIVE);
    const e = buildEvaluateConfig('r-1', { split: 'validation', limit: '50' });
    assert.deepEqual(e, {
      targetRunId: 'r-1',
      checkpoint: CheckpointChoice.CHECKPOINT_CHOICE_BEST,
      split: 'validation',
      limit: 50,
    });
    invalid(() => buildEvaluateConfig('r 1', {}), /invalid run id/);
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
  it('exits 2 on a bad option and sends nothing', async () => {
    const io = bufferIo();
    // Port 1 is never a daemon: a request would fail with 3, so 2 proves validation came first.
    const code = await main(['--addr', '127.0.0.1:1', 'pretext', 'start', '--epochs', '0'], io);
    assert.equal(code, ExitCode.INVALID_ARGUMENT);
    assert.match(io.stderr(), /--epochs "0": must be >= 1/);
  });
  it('exits 2 on an unknown command or option', async () => {
    assert.equal(await main(['frobnicate'], bufferIo()), ExitCode.INVALID_ARGUMENT);
    assert.equal(await main(['runs', '--bogus'], bufferIo()), ExitCode.INVALID_ARGUMENT);
    assert.equal(await main(['show'], bufferIo()), ExitCode.INVALID_ARGUMENT);
  });
  it('prints the validated request with --dry-run', async () => {
    const io = bufferIo();
    const code = await main(
      ['downstream', 'start', '--scratch', '--n-labels', '250', '--epochs', '3', '--dry-run'],
      io,
    );
    assert.equal(code, ExitCode.OK);
    const req = JSON.parse(io.stdout());
    assert.equal(req.config.nLabels, 250);
    assert.equal(req.config.training.epochs, 3);
    assert.equal(req.config.pretextRunId, undefined);
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
