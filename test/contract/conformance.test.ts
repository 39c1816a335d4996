// One contract, whichever client asks: a table of invalid requests sent through the gRPC API,
// the CLI and the Python client gets the same field-level verdict (INVALID_ARGUMENT naming the
// field) from all three, and creates nothing — no run, so no worker is forked. Then the same
// minimal request from the CLI, the dashboard's form, Python and raw gRPC is stored identically.
import assert from 'node:assert/strict';
import { execFile, spawnSync } from 'node:child_process';
import { promisify } from 'node:util';
import { mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import * as grpc from '@grpc/grpc-js';
import { RunState } from '../../gen/ts/pretext/v1/run.js';
import {
  EvaluateRequest,
  StartDownstreamRequest,
  StartPretextRequest,
  StartStudyRequest,
} from '../../gen/ts/pretext/v1/service.js';
import { bufferIo } from '../../cli/io.js';
import { main } from '../../cli/main.js';
import { newForm, submitForm } from '../../client-tui/ui.js';
import { REPO_ROOT } from '../helpers/paths.js';
import { startTestDaemon, type TestDaemon } from '../helpers/daemon.js';

type Rpc = 'pretext' | 'downstream' | 'from' | 'evaluate' | 'study';
type Json = Record<string, unknown>;

interface Case {
  name: string;
  rpc: Rpc;
  /** Fields of the request's config, proto JSON (camelCase), merged into the rpc's base. */
  config: Json;
  /** The same settings as command-line flags, after the rpc's base command. */
  flags: string[];
  /** The field the verdict must name. */
  field: string;
}

const PARENT = '@parent';
const BASE: Record<Rpc, { config: Json; argv: string[] }> = {
  pretext: { config: { training: { epochs: 1 } }, argv: ['pretext', 'start', '--epochs', '1'] },
  downstream: {
    config: { nLabels: 100, training: { epochs: 1 } },
    argv: ['downstream', 'start', '--scratch', '--n-labels', '100', '--epochs', '1'],
  },
  from: {
    config: { pretextRunId: PARENT, nLabels: 100, training: { epochs: 1 } },
    argv: ['downstream', 'start', '--from', PARENT, '--n-labels', '100', '--epochs', '1'],
  },
  evaluate: { config: { targetRunId: PARENT }, argv: ['eval', PARENT] },
  study: { config: { preset: 'cpu-quick' }, argv: ['study', 'start', '--preset', 'cpu-quick'] },
};

const c = (rpc: Rpc, field: string, flags: string[], config: Json, name = flags.join(' ')): Case => ({
  name,
  rpc,
  field,
  flags,
  config,
});
const t = (training: Json) => ({ training: { epochs: 1, ...training } });
const simclr = (contrastive: Json) => ({ method: 'simclr', contrastive });

const CASES: Case[] = [
  // Pretext: names (including ones that only exist on Object.prototype) and backbones.
  c('pretext', 'config.method', ['--method', 'jigsaw'], { method: 'jigsaw' }),
  c('pretext', 'config.method', ['--method', 'constructor'], { method: 'constructor' }),
  c('pretext', 'config.dataset', ['--dataset', '__proto__'], { dataset: '__proto__' }),
  c('pretext', 'config.dataset', ['--dataset', 'imagenet'], { dataset: 'imagenet' }),
  c('pretext', 'config.architecture', ['--architecture', 'vgg16'], { architecture: 'vgg16' }),
  c('pretext', 'config.architecture', ['--architecture', 'small_conv_0'], { architecture: 'small_conv_0' }),
  c('pretext', 'config.architecture', ['--architecture', 'small_conv_9999'], {
    architecture: 'small_conv_9999',
  }),
  c('pretext', 'config.depth', ['--depth', '21'], { depth: 21 }),
  c('pretext', 'config.depth', ['--depth', '200'], { depth: 200 }),
  c('pretext', 'config.depth', ['--architecture', 'small_conv', '--depth', '20'], {
    architecture: 'small_conv',
    depth: 20,
  }),
  c('pretext', 'config.unlabeled_limit', ['--unlabeled-limit', '5'], { unlabeledLimit: 5 }),
  // Method × options.
  c('pretext', 'config.rotations_per_image', ['--rotations-per-image', '2'], { rotationsPerImage: 2 }),
  c('pretext', 'config.rotations_per_image', ['--method', 'simclr', '--rotations-per-image', '4'], {
    method: 'simclr',
    rotationsPerImage: 4,
  }),
  c('pretext', 'config.contrastive', ['--temperature', '0.5'], { contrastive: { temperature: 0.5 } }),
  c('pretext', 'config.training.augment', ['--method', 'simclr', '--augment'], {
    method: 'simclr',
    ...t({ augment: true }),
  }),
  c('pretext', 'config.training.batch_size', ['--method', 'simclr', '--batch-size', '1'], {
    method: 'simclr',
    ...t({ batchSize: 1 }),
  }),
  c('pretext', 'config.contrastive.temperature', ['--method', 'simsiam', '--temperature', '0.2'], {
    method: 'simsiam',
    contrastive: { temperature: 0.2 },
  }),
  c(
    'pretext',
    'config.contrastive.predictor_dim',
    ['--method', 'simclr', '--predictor-dim', '64'],
    simclr({ predictorDim: 64 }),
  ),
  c(
    'pretext',
    'config.contrastive.queue_size',
    ['--method', 'simclr', '--queue-size', '100'],
    simclr({ queueSize: 100 }),
  ),
  // Contrastive limits.
  c(
    'pretext',
    'config.contrastive.temperature',
    ['--method', 'simclr', '--temperature', '11'],
    simclr({ temperature: 11 }),
  ),
  c(
    'pretext',
    'config.contrastive.projection_dim',
    ['--method', 'simclr', '--projection-dim', '4294967295'],
    simclr({ projectionDim: 4294967295 }),
  ),
  c(
    'pretext',
    'config.contrastive.knn_k',
    ['--method', 'simclr', '--knn-k', '4294967295'],
    simclr({ knnK: 4294967295 }),
  ),
  c('pretext', 'config.contrastive.knn_k', ['--method', 'simclr', '--knn-k', '5000'], simclr({ knnK: 5000 })),
  c('pretext', 'config.contrastive.queue_size', ['--method', 'nnclr', '--queue-size', '2000000'], {
    method: 'nnclr',
    contrastive: { queueSize: 2000000 },
  }),
  c(
    'pretext',
    'config.contrastive.augment_strength',
    ['--method', 'simclr', '--augment-strength', '3'],
    simclr({ augmentStrength: 3 }),
  ),
  c('pretext', 'config.contrastive.hidden_dim', ['--method', 'simsiam', '--hidden-dim', '10000'], {
    method: 'simsiam',
    contrastive: { hiddenDim: 10000 },
  }),
  // Training limits.
  c('pretext', 'config.training.epochs', ['--epochs', '0'], t({ epochs: 0 })),
  c('pretext', 'config.training.epochs', ['--epochs', '10001'], t({ epochs: 10001 })),
  c('pretext', 'config.training.batch_size', ['--batch-size', '5000'], t({ batchSize: 5000 })),
  c('pretext', 'config.training.learning_rate', ['--lr', '11'], t({ learningRate: 11 })),
  c('pretext', 'config.training.learning_rate', ['--lr', '-1'], t({ learningRate: -1 })),
  c('pretext', 'config.training.lr_schedule', ['--lr-schedule', 'step'], t({ lrSchedule: 'step' })),
  c(
    'pretext',
    'config.training.plateau_patience',
    ['--plateau-patience', '3', '--disable-plateau'],
    t({ plateauPatience: 3, disablePlateau: true }),
  ),
  c(
    'pretext',
    'config.training.plateau_patience',
    ['--plateau-patience', '2000'],
    t({ plateauPatience: 2000 }),
  ),
  c(
    'pretext',
    'config.training.validation_fraction',
    ['--validation-fraction', '0.9'],
    t({ validationFraction: 0.9 }),
  ),
  c(
    'pretext',
    'config.training.validation_fraction',
    ['--validation-fraction', '-0.1'],
    t({ validationFraction: -0.1 }),
  ),
  c('pretext', 'config.training.seed', ['--seed', '2147483648'], t({ seed: 2147483648 })),
  c(
    'pretext',
    'config.training.max_steps_per_epoch',
    ['--max-steps-per-epoch', '2000000000'],
    t({ maxStepsPerEpoch: 2000000000 }),
  ),
  c(
    'pretext',
    'config.training.validation_limit',
    ['--validation-limit', '2000000000'],
    t({ validationLimit: 2000000000 }),
  ),
  c('pretext', 'config.training.min_steps', ['--min-steps', '100'], t({ minSteps: 100 })),
  c('pretext', 'config.training.precision', ['--precision', 'fp16'], t({ precision: 'fp16' })),
  // Downstream: selection protocol × budget × plateau.
  c('downstream', 'config.selection', ['--n-labels', '10'], { nLabels: 10 }),
  c(
    'downstream',
    'config.training.plateau_patience',
    ['--selection', 'last-epoch', '--plateau-patience', '3'],
    { selection: 'SELECTION_LAST_EPOCH', training: { epochs: 1, plateauPatience: 3 } },
  ),
  // Downstream: scheme × budget × dataset.
  c('downstream', 'config.n_labels', ['--n-labels', '7'], { nLabels: 7 }),
  c('downstream', 'config.n_labels', ['--n-labels', '30000'], { nLabels: 30000 }),
  c('downstream', 'config.fold', ['--fold', '500'], { fold: 500 }),
  c('downstream', 'config.n_labels', ['--n-labels', '250', '--subset-scheme', 'cumulative'], {
    nLabels: 250,
    subsetScheme: 'SUBSET_SCHEME_CUMULATIVE',
  }),
  c('downstream', 'config.fold', ['--n-labels', '2000', '--subset-scheme', 'cumulative', '--fold', '50'], {
    nLabels: 2000,
    subsetScheme: 'SUBSET_SCHEME_CUMULATIVE',
    fold: 50,
  }),
  c('downstream', 'config.n_labels', ['--subset-scheme', 'stl10-fold'], {
    subsetScheme: 'SUBSET_SCHEME_STL10_FOLD',
  }),
  c(
    'downstream',
    'config.n_labels',
    ['--dataset', 'stl10', '--subset-scheme', 'stl10-fold', '--n-labels', '1000'],
    { dataset: 'stl10', subsetScheme: 'SUBSET_SCHEME_STL10_FOLD', nLabels: 1000 },
  ),
  c(
    'downstream',
    'config.fold',
    ['--dataset', 'stl10', '--subset-scheme', 'stl10-fold', '--n-labels', '500', '--fold', '10'],
    { dataset: 'stl10', subsetScheme: 'SUBSET_SCHEME_STL10_FOLD', nLabels: 500, fold: 10 },
  ),
  c('downstream', 'config.n_labels', ['--dataset', 'stl10', '--n-labels', '3000'], {
    dataset: 'stl10',
    nLabels: 3000,
  }),
  c('downstream', 'config.dataset', ['--dataset', 'constructor'], { dataset: 'constructor' }),
  // Linear probe without a pretext run; options that need one.
  c('downstream', 'config.protocol', ['--protocol', 'linear-probe'], { protocol: 'PROTOCOL_LINEAR_PROBE' }),
  c('downstream', 'config.checkpoint', ['--checkpoint', 'last'], { checkpoint: 'CHECKPOINT_CHOICE_LAST' }),
  c('downstream', 'config.architecture', ['--architecture', 'small_conv_2000'], {
    architecture: 'small_conv_2000',
  }),
  c('downstream', 'config.test_limit', ['--test-limit', '2000000000'], { testLimit: 2000000000 }),
  c('downstream', 'config.training.epochs', ['--epochs', '0'], t({ epochs: 0 })),
  // From a pretext run: its dataset and backbone are the run's.
  c('from', 'config.dataset', ['--dataset', 'stl10'], { dataset: 'stl10' }),
  c('from', 'config.architecture', ['--architecture', 'small_conv'], { architecture: 'small_conv' }),
  c('from', 'config.depth', ['--depth', '32'], { depth: 32 }),
  // Evaluate.
  c('evaluate', 'config.split', ['--split', 'holdout'], { split: 'holdout' }),
  c('evaluate', 'config.limit', ['--limit', '2000000000'], { limit: 2000000000 }),
  // Studies: arms × budgets, folds, presets.
  c('study', 'config.label_budgets[0]', ['--budgets', '7', '--arms', 'ssl-fine-tune'], {
    labelBudgets: [7],
    arms: ['STUDY_ARM_SSL_FINE_TUNE'],
  }),
  c('study', 'config.label_budgets', ['--budgets', '100', '100'], { labelBudgets: [100, 100] }),
  c('study', 'config.label_budgets[0]', ['--budgets', '30000'], { labelBudgets: [30000] }),
  c('study', 'config.folds', ['--folds', '51'], { folds: 51 }),
  c('study', 'config.folds', ['--budgets', '5000', '--folds', '11'], { labelBudgets: [5000], folds: 11 }),
  c('study', 'config.preset', ['--preset', 'fast'], { preset: 'fast' }),
  c('study', 'config.pretext.training.epochs', ['--pretext-epochs', '20000'], {
    pretext: { training: { epochs: 20000 } },
  }),
];

function merge(base: Json, over: Json): Json {
  const out: Json = { ...base };
  for (const [k, v] of Object.entries(over)) {
    out[k] =
      v && typeof v === 'object' && !Array.isArray(v) && out[k] && typeof out[k] === 'object'
        ? merge(out[k] as Json, v as Json)
        : v;
  }
  return out;
}

function withParent(x: unknown, parent: string): unknown {
  if (typeof x === 'string') return x === PARENT ? parent : x;
  if (Array.isArray(x)) return x.map((v) => withParent(v, parent));
  if (x && typeof x === 'object') {
    return Object.fromEntries(Object.entries(x).map(([k, v]) => [k, withParent(v, parent)]));
  }
  return x;
}

const configOf = (k: Case, parent: string) => withParent(merge(BASE[k.rpc].config, k.config), parent) as Json;

/** The field names of an INVALID_ARGUMENT's `pretext-field-errors` trailer. */
function trailerFields(err: grpc.ServiceError): string[] {
  const raw = err.metadata.get('pretext-field-errors')[0];
  return (JSON.parse(String(raw)) as Array<{ field: string }>).map((e) => e.field).sort();
}

async function viaGrpc(d: TestDaemon, k: Case, parent: string): Promise<{ code: number; fields: string[] }> {
  const config = configOf(k, parent);
  const [method, req]: [string, unknown] =
    k.rpc === 'pretext'
      ? ['startPretext', StartPretextRequest.fromJSON({ config })]
      : k.rpc === 'study'
        ? ['startStudy', StartStudyRequest.fromJSON({ config })]
        : k.rpc === 'evaluate'
          ? ['evaluate', EvaluateRequest.fromJSON({ config })]
          : ['startDownstream', StartDownstreamRequest.fromJSON({ config })];
  try {
    await d.call(method, req);
    return { code: 0, fields: [] };
  } catch (e) {
    const err = e as grpc.ServiceError;
    return { code: err.code, fields: err.code === grpc.status.INVALID_ARGUMENT ? trailerFields(err) : [] };
  }
}

async function viaCli(
  addr: string,
  k: Case,
  parent: string,
): Promise<{ code: number; fields: string[]; stderr: string }> {
  const argv = withParent([...BASE[k.rpc].argv, ...k.flags], parent) as string[];
  const io = bufferIo();
  const code = await main(['--addr', addr, ...argv], io);
  const fields = [...io.stderr().matchAll(/^\s+(config\.\S+?)(?: \(--[\w-]+\))?: /gm)].map(
    (m) => m[1] as string,
  );
  return { code, fields: fields.sort(), stderr: io.stderr() };
}

const PYTHON = process.env.PRETEXT_PYTHON ?? '/usr/bin/python3';
const pythonMissing =
  spawnSync(PYTHON, ['-c', 'import grpc, google.protobuf'], { encoding: 'utf8' }).status === 0
    ? false
    : `${PYTHON} with grpc and protobuf is not installed (apt-get install python3-grpcio python3-protobuf)`;

// Asynchronous: the daemon runs in this process, so a blocking spawn would starve it.
const run = promisify(execFile);

/** Python through pretext_client, from clients/python; resolves with its stdout. */
async function python(script: string, ...args: string[]): Promise<string> {
  const { stdout } = await run(PYTHON, ['-c', script, ...args], {
    cwd: path.join(REPO_ROOT, 'clients/python'),
    env: { ...process.env, PYTHONDONTWRITEBYTECODE: '1' },
    timeout: 120_000,
  });
  return stdout;
}

/** Every case through pretext_client in one Python process: [{code, fields}] in order. */
async function viaPython(
  addr: string,
  cases: Case[],
  parent: string,
): Promise<Array<{ code: string; fields: string[] }>> {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'pretext-conformance-'));
  const input = path.join(dir, 'cases.json');
  writeFileSync(input, JSON.stringify(cases.map((k) => ({ rpc: k.rpc, config: configOf(k, parent) }))));
  const script = `
import json, re, sys
from pretext_client import Client, PretextError

def snake(x):
    if isinstance(x, dict):
        return {re.sub(r"[A-Z]", lambda m: "_" + m.group(0).lower(), k): snake(v) for k, v in x.items()}
    if isinstance(x, list):
        return [snake(v) for v in x]
    return x

out = []
with Client(sys.argv[1], timeout=30) as c:
    for case in json.load(open(sys.argv[2])):
        cfg = snake(case["config"])
        try:
            if case["rpc"] == "pretext":
                c.start_pretext(cfg)
            elif case["rpc"] in ("downstream", "from"):
                c.start_downstream(cfg)
            elif case["rpc"] == "evaluate":
                target = cfg.pop("target_run_id")
                c.evaluate(target, **cfg)
            else:
                c.start_study(cfg)
            out.append({"code": "OK", "fields": []})
        except PretextError as e:
            out.append({"code": e.code.name, "fields": sorted(f.field for f in e.field_errors)})
print(json.dumps(out))
`;
  const stdout = await python(script, addr, input);
  return JSON.parse(stdout.trim().split('\n').pop() ?? '[]');
}

describe('one verdict from every client', () => {
  let d: TestDaemon;
  let parent = '';

  before(async () => {
    d = await startTestDaemon();
    // The pretext run the `from` and `evaluate` cases name (trained by the tiny worker).
    const res = await d.call<{ run: { id: string } }>(
      'startPretext',
      StartPretextRequest.fromPartial({
        config: { architecture: 'resnet', depth: 8, training: { epochs: 1 } },
      }),
    );
    parent = res.run.id;
    await d.waitState(parent, [RunState.RUN_STATE_SUCCEEDED]);
  });
  after(async () => d?.stop());

  it(`${CASES.length} invalid requests: INVALID_ARGUMENT naming the field, from gRPC, the CLI and Python; nothing created`, {
    timeout: 300_000,
  }, async () => {
    assert.ok(CASES.length >= 60, `only ${CASES.length} cases`);
    const fromPython = pythonMissing ? undefined : await viaPython(d.daemon.address, CASES, parent);
    for (const [i, k] of CASES.entries()) {
      const label = `${k.rpc} ${k.name}`;
      const g = await viaGrpc(d, k, parent);
      assert.equal(g.code, grpc.status.INVALID_ARGUMENT, `${label}: gRPC code ${g.code}`);
      assert.ok(
        g.fields.includes(k.field),
        `${label}: gRPC named ${g.fields.join(', ')}, expected ${k.field}`,
      );
      const cli = await viaCli(d.daemon.address, k, parent);
      assert.equal(cli.code, 2, `${label}: CLI exit ${cli.code}\n${cli.stderr}`);
      assert.deepEqual(cli.fields, g.fields, `${label}: CLI verdict differs\n${cli.stderr}`);
      if (fromPython) {
        const p = fromPython[i];
        assert.equal(p?.code, 'INVALID_ARGUMENT', `${label}: Python ${p?.code}`);
        assert.deepEqual(p?.fields, g.fields, `${label}: Python verdict differs`);
      }
    }
    // Nothing was created: the one run is the parent, so no worker was forked for any case.
    const { runs } = await d.call<{ runs: unknown[] }>('listRuns', {});
    assert.equal(runs.length, 1);
    const { studies } = await d.call<{ studies: unknown[] }>('listStudies', {});
    assert.equal(studies.length, 0);
  });

  it('--dry-run and validate_only answer with the resolved config and create nothing', async () => {
    const io = bufferIo();
    const code = await main(
      [
        '--addr',
        d.daemon.address,
        'downstream',
        'start',
        '--scratch',
        '--n-labels',
        '250',
        '--epochs',
        '3',
        '--dry-run',
      ],
      io,
    );
    assert.equal(code, 0, io.stderr());
    const out = JSON.parse(io.stdout()) as { valid: boolean; run: { id?: string; downstream: Json } };
    assert.equal(out.valid, true);
    assert.equal(out.run.id ?? '', '');
    const training = out.run.downstream.training as Json;
    assert.deepEqual([training.epochs, training.batchSize, training.augment], [3, 32, true]);
    const studyIo = bufferIo();
    assert.equal(
      await main(
        ['--addr', d.daemon.address, 'study', 'start', '--preset', 'cpu-quick', '--folds', '1', '--dry-run'],
        studyIo,
      ),
      0,
      studyIo.stderr(),
    );
    const study = JSON.parse(studyIo.stdout()) as { study: { runsTotal: number; config: Json } };
    assert.equal(study.study.runsTotal, 1 + 3 * 1 * 2);
    const { runs } = await d.call<{ runs: unknown[] }>('listRuns', {});
    assert.equal(runs.length, 1);
  });

  it('the same minimal request from the CLI, the dashboard form, Python and raw gRPC is stored identically', {
    timeout: 120_000,
  }, async () => {
    const ids: string[] = [];
    // Raw gRPC: only the required field.
    const raw = await d.call<{ run: { id: string } }>(
      'startPretext',
      StartPretextRequest.fromPartial({ config: { training: { epochs: 2 } } }),
    );
    ids.push(raw.run.id);
    // CLI.
    const io = bufferIo();
    assert.equal(
      await main(['--addr', d.daemon.address, 'pretext', 'start', '--epochs', '2'], io),
      0,
      io.stderr(),
    );
    ids.push(io.stdout().split('\t')[0] as string);
    // The dashboard's form, as it opens, with only the required field typed.
    const form = newForm('pretext');
    const submitted = submitForm({ ...form, values: { ...form.values, epochs: '2' } });
    assert.ok(submitted.effect?.type === 'startPretext', submitted.errors.join('; '));
    const tui = await d.call<{ run: { id: string } }>('startPretext', submitted.effect.req);
    ids.push(tui.run.id);
    // Python.
    if (!pythonMissing) {
      const out = await python(
        'import sys\nfrom pretext_client import Client\nwith Client(sys.argv[1]) as c: print(c.start_pretext(training={"epochs": 2}).id)',
        d.daemon.address,
      );
      ids.push(out.trim());
    }
    const configs = [];
    for (const id of ids) {
      const { run } = await d.call<{
        run: { config?: { $case: string; pretext?: { training?: { seed: number } } } };
      }>('getRun', { runId: id });
      const cfg = structuredClone(run.config);
      // Seed 0 asks the daemon to draw one per run (and record it): the one field that differs.
      assert.ok((cfg?.pretext?.training?.seed ?? 0) > 0);
      if (cfg?.pretext?.training) cfg.pretext.training.seed = 0;
      configs.push(cfg);
    }
    for (const cfg of configs.slice(1)) assert.deepEqual(cfg, configs[0]);
    assert.equal(
      configs[0]?.pretext?.training && (configs[0].pretext.training as { augment?: boolean }).augment,
      true,
    );
  });
});
