// The contract resolves every request once: defaults filled, limits and cross-field rules
// checked, every error named by its field. Pure: no daemon, no tfjs.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  CheckpointChoice,
  type DeepPartial,
  DownstreamConfig,
  PretextConfig,
  Protocol,
  Selection,
  SubsetScheme,
} from '../../gen/ts/pretext/v1/run.js';
import { datasetEntry } from '../../server/shared/contract/catalog.js';
import { labelsUsed } from '../../server/shared/contract/selection.js';
import { StudyArm, StudyConfig } from '../../gen/ts/pretext/v1/study.js';
import {
  resolveDownstream,
  resolveEvaluate,
  resolvePretext,
  resolveStudy,
} from '../../server/shared/contract/resolve.js';
import { trainingSettings } from '../../server/shared/contract/training.js';
import { ContractError, quote } from '../../server/shared/contract/verdict.js';

const pretext = (p: DeepPartial<PretextConfig>) => PretextConfig.fromPartial(p);
const downstream = (p: DeepPartial<DownstreamConfig>) => DownstreamConfig.fromPartial(p);

/** The fields a resolver refused. */
function refused(fn: () => unknown): string[] {
  try {
    fn();
  } catch (e) {
    if (e instanceof ContractError) return e.errors.map((x) => x.field);
    throw e;
  }
  assert.fail('expected a ContractError');
}

const RESNET20 = { dataset: 'cifar10', architecture: 'resnet', depth: 20 };

describe('pretext configs', () => {
  it('fills the reference defaults', () => {
    const c = resolvePretext(pretext({ training: { epochs: 5, seed: 3 } }));
    assert.deepEqual(
      [c.method, c.dataset, c.architecture, c.depth, c.rotationsPerImage, c.contrastive],
      ['rotation', 'cifar10', 'resnet', 20, 1, undefined],
    );
    const t = c.training!;
    assert.deepEqual(
      [t.batchSize, t.learningRate, t.lrSchedule, t.plateauPatience, t.validationFraction, t.augment, t.seed],
      [32, 1e-3, 'reference', 10, 0.1, true, 3],
    );
  });
  it('names a missing training block alone', () => {
    assert.deepEqual(
      refused(() => resolvePretext(pretext({ method: 'rotation' }))),
      ['config.training'],
    );
  });
  it('draws a seed when given 0, and records it', () => {
    const seed = resolvePretext(pretext({ training: { epochs: 1 } })).training?.seed ?? 0;
    assert.ok(seed >= 1 && seed <= 2 ** 31 - 1);
  });
  it('gives each contrastive method its own defaults and refuses options it does not read', () => {
    const simclr = resolvePretext(pretext({ method: 'simclr', training: { epochs: 1 } })).contrastive;
    assert.deepEqual(simclr, {
      temperature: 0.1,
      queueSize: 0,
      projectionDim: 128,
      hiddenDim: 128,
      predictorDim: 0,
      augmentStrength: 1,
      knnK: 20,
    });
    const simsiam = resolvePretext(pretext({ method: 'simsiam', training: { epochs: 1 } })).contrastive;
    assert.deepEqual([simsiam?.projectionDim, simsiam?.hiddenDim, simsiam?.predictorDim], [2048, 2048, 512]);
    assert.equal(
      resolvePretext(pretext({ method: 'nnclr', training: { epochs: 1 } })).contrastive?.queueSize,
      10_000,
    );
    assert.deepEqual(
      refused(() =>
        resolvePretext(
          pretext({ method: 'simsiam', training: { epochs: 1 }, contrastive: { temperature: 0.5 } }),
        ),
      ),
      ['config.contrastive.temperature'],
    );
    // Contrastive methods augment their views themselves; the flag would be silently ignored.
    assert.equal(
      resolvePretext(pretext({ method: 'simclr', training: { epochs: 1 } })).training?.augment,
      false,
    );
    assert.deepEqual(
      refused(() => resolvePretext(pretext({ method: 'simclr', training: { epochs: 1, augment: true } }))),
      ['config.training.augment'],
    );
    assert.deepEqual(
      refused(() => resolvePretext(pretext({ method: 'simclr', training: { epochs: 1, batchSize: 1 } }))),
      ['config.training.batch_size'],
    );
  });
  it('refuses names that only exist on Object.prototype', () => {
    assert.deepEqual(
      refused(() => resolvePretext(pretext({ dataset: '__proto__', training: { epochs: 1 } }))),
      ['config.dataset'],
    );
    assert.deepEqual(
      refused(() => resolvePretext(pretext({ method: 'constructor', training: { epochs: 1 } }))),
      ['config.method'],
    );
  });
  it('reports every problem at once, each under its field', () => {
    const fields = refused(() =>
      resolvePretext(
        pretext({
          method: 'rotation',
          architecture: 'small_conv_0',
          rotationsPerImage: 2,
          unlabeledLimit: 5,
          contrastive: { knnK: 2 ** 32 - 1 },
          training: {
            epochs: 0,
            lrSchedule: 'step',
            validationFraction: 0.9,
            plateauPatience: 3,
            disablePlateau: true,
          },
        }),
      ),
    );
    assert.deepEqual(fields.sort(), [
      'config.architecture',
      'config.contrastive',
      'config.rotations_per_image',
      'config.training.epochs',
      'config.training.lr_schedule',
      'config.training.plateau_patience',
      'config.training.validation_fraction',
      'config.unlabeled_limit',
    ]);
  });
  it('quotes input cut to about 80 characters', () => {
    try {
      resolvePretext(pretext({ method: 'x'.repeat(100_000), training: { epochs: 1 } }));
      assert.fail('accepted');
    } catch (e) {
      assert.ok(e instanceof ContractError);
      assert.ok(e.message.length < 400, `message of ${e.message.length} characters`);
    }
    assert.equal(quote('y'.repeat(200)).length, 83);
  });
  it('is idempotent: a stored config resolves to itself', () => {
    const once = resolvePretext(
      pretext({ method: 'nnclr', architecture: 'small_conv_32', training: { epochs: 2 } }),
    );
    assert.deepEqual(resolvePretext(once), once);
  });
});

describe('downstream configs', () => {
  it('takes the backbone and dataset from the pretext run', () => {
    const c = resolveDownstream(
      downstream({ pretextRunId: 'r-1', nLabels: 250, training: { epochs: 1 } }),
      RESNET20,
    );
    assert.deepEqual(
      [c.dataset, c.architecture, c.depth, c.checkpoint, c.protocol, c.subsetScheme],
      [
        'cifar10',
        'resnet',
        20,
        CheckpointChoice.CHECKPOINT_CHOICE_BEST,
        Protocol.PROTOCOL_FINE_TUNE,
        SubsetScheme.SUBSET_SCHEME_STRATIFIED_FOLD,
      ],
    );
    assert.equal(c.training?.plateauPatience, 5);
    assert.equal(c.training?.augment, true);
  });
  it('checks the label budget against the scheme and the dataset', () => {
    const scratch = (p: DeepPartial<DownstreamConfig>) => () =>
      resolveDownstream(downstream({ training: { epochs: 1 }, ...p }), undefined);
    assert.deepEqual(refused(scratch({ nLabels: 0 })), ['config.n_labels']);
    assert.deepEqual(refused(scratch({ nLabels: 7 })), ['config.n_labels']);
    assert.deepEqual(refused(scratch({ nLabels: 30_000 })), ['config.n_labels']);
    assert.deepEqual(refused(scratch({ nLabels: 5000, fold: 10 })), ['config.fold']);
    // The reference notebook's cumulative folds grow by N/50 = 1,000 images on CIFAR-10.
    assert.deepEqual(
      refused(scratch({ nLabels: 250, subsetScheme: SubsetScheme.SUBSET_SCHEME_CUMULATIVE })),
      ['config.n_labels'],
    );
    assert.equal(
      scratch({ nLabels: 2000, fold: 49, subsetScheme: SubsetScheme.SUBSET_SCHEME_CUMULATIVE })().fold,
      49,
    );
    assert.deepEqual(
      refused(scratch({ nLabels: 1000, subsetScheme: SubsetScheme.SUBSET_SCHEME_STL10_FOLD })),
      ['config.n_labels'],
    );
    const stl = scratch({ dataset: 'stl10', subsetScheme: SubsetScheme.SUBSET_SCHEME_STL10_FOLD, fold: 9 })();
    assert.equal(stl.nLabels, 500);
  });
  it('refuses what only applies with a pretext run, and the reverse', () => {
    assert.deepEqual(
      refused(() =>
        resolveDownstream(
          downstream({
            nLabels: 100,
            protocol: Protocol.PROTOCOL_LINEAR_PROBE,
            checkpoint: CheckpointChoice.CHECKPOINT_CHOICE_LAST,
            training: { epochs: 1 },
          }),
          undefined,
        ),
      ).sort(),
      ['config.checkpoint', 'config.protocol'],
    );
    assert.deepEqual(
      refused(() =>
        resolveDownstream(
          downstream({
            pretextRunId: 'r-1',
            nLabels: 100,
            dataset: 'stl10',
            architecture: 'small_conv',
            training: { epochs: 1 },
          }),
          RESNET20,
        ),
      ).sort(),
      ['config.architecture', 'config.dataset'],
    );
  });
  it('hands the worker typed training settings without re-checking', () => {
    const c = resolveDownstream(
      downstream({ nLabels: 100, training: { epochs: 3, disablePlateau: true, lrSchedule: 'cosine' } }),
      undefined,
    );
    const t = trainingSettings(c.training);
    assert.deepEqual([t.epochs, t.plateauPatience, t.lrSchedule, t.augment], [3, 0, 'cosine', true]);
  });
  it('selection: within_budget by default; the labels each protocol uses; its rules', () => {
    const cifar = datasetEntry('cifar10')!;
    const scratch = (p: DeepPartial<DownstreamConfig>) =>
      resolveDownstream(
        downstream({ nLabels: 100, training: { epochs: 2, validationLimit: 500 }, ...p }),
        undefined,
      );
    const within = scratch({});
    assert.equal(within.selection, Selection.SELECTION_WITHIN_BUDGET);
    assert.deepEqual(labelsUsed(cifar, within), { train: 80, selection: 20, extra: 0, total: 100 });
    const extra = scratch({ selection: Selection.SELECTION_EXTRA_LABELED });
    assert.deepEqual(labelsUsed(cifar, extra), { train: 100, selection: 500, extra: 500, total: 600 });
    const last = scratch({ selection: Selection.SELECTION_LAST_EPOCH });
    assert.deepEqual(labelsUsed(cifar, last), { train: 100, selection: 0, extra: 0, total: 100 });
    assert.equal(last.training?.disablePlateau, true, 'no split for plateau reduction to watch');
    // One image per class to select and one to train: 20 labels at least.
    assert.deepEqual(
      refused(() => scratch({ nLabels: 10 })),
      ['config.selection'],
    );
    assert.equal(scratch({ nLabels: 10, selection: Selection.SELECTION_LAST_EPOCH }).nLabels, 10);
    assert.deepEqual(
      refused(() =>
        scratch({ selection: Selection.SELECTION_LAST_EPOCH, training: { epochs: 1, plateauPatience: 3 } }),
      ),
      ['config.training.plateau_patience'],
    );
    assert.deepEqual(
      refused(() => scratch({ selection: 9 as Selection })),
      ['config.selection'],
    );
  });
  it('min_steps raises the epochs of small budgets, and only of downstream runs', () => {
    // 80 training images at batch 32 = 3 steps an epoch: 300 steps need 100 epochs.
    const small = resolveDownstream(
      downstream({ nLabels: 100, training: { epochs: 10, minSteps: 300, batchSize: 32 } }),
      undefined,
    );
    assert.equal(small.training?.epochs, 100);
    const large = resolveDownstream(
      downstream({ nLabels: 5000, training: { epochs: 10, minSteps: 300, batchSize: 32 } }),
      undefined,
    );
    assert.equal(large.training?.epochs, 10, '125 steps an epoch already give 1,250');
    assert.equal(
      resolveDownstream(small, undefined).training?.epochs,
      100,
      'resolving again changes nothing',
    );
    assert.deepEqual(
      refused(() => resolvePretext(pretext({ training: { epochs: 1, minSteps: 10 } }))),
      ['config.training.min_steps'],
    );
  });
});

describe('evaluate configs', () => {
  it('fills split and checkpoint, and refuses the kNN bank as a split', () => {
    const c = resolveEvaluate(
      { targetRunId: 'r-1', checkpoint: 0, split: '', limit: 0 },
      { method: 'rotation' },
    );
    assert.deepEqual([c.split, c.checkpoint], ['test', CheckpointChoice.CHECKPOINT_CHOICE_BEST]);
    assert.deepEqual(
      refused(() =>
        resolveEvaluate(
          { targetRunId: 'r-1', checkpoint: 0, split: 'train', limit: 0 },
          { method: 'simclr' },
        ),
      ),
      ['config.split'],
    );
    assert.deepEqual(
      refused(() =>
        resolveEvaluate(
          { targetRunId: 'r-1', checkpoint: 9 as CheckpointChoice, split: 'holdout', limit: 0 },
          { method: 'rotation' },
        ),
      ).sort(),
      ['config.checkpoint', 'config.split'],
    );
  });

  it('refuses the validation split of a run that held none out (last_epoch)', () => {
    const ask = (selection: Selection, split: string) => {
      const run = () =>
        resolveEvaluate(
          { targetRunId: 'r-1', checkpoint: 0, split, limit: 0 },
          { method: 'supervised', selection },
        );
      try {
        run();
        return [];
      } catch {
        return refused(run);
      }
    };
    assert.deepEqual(ask(Selection.SELECTION_LAST_EPOCH, 'validation'), ['config.split']);
    assert.deepEqual(ask(Selection.SELECTION_LAST_EPOCH, 'test'), []);
    assert.deepEqual(ask(Selection.SELECTION_WITHIN_BUDGET, 'validation'), []);
    assert.deepEqual(ask(Selection.SELECTION_EXTRA_LABELED, 'validation'), []);
  });
});

describe('studies', () => {
  it('expands a preset and overlays only what the request sets', () => {
    const s = resolveStudy(
      StudyConfig.fromPartial({
        preset: 'cpu-quick',
        labelBudgets: [250, 100],
        downstream: { training: { epochs: 3 } },
      }),
      undefined,
    );
    assert.deepEqual(s.config.labelBudgets, [100, 250]);
    assert.equal(s.config.folds, 2);
    assert.equal(s.config.downstream?.training?.epochs, 3);
    assert.equal(s.config.downstream?.training?.batchSize, 32);
    assert.equal(s.pretext?.architecture, 'small_conv_64');
    // 2 budgets × 2 folds × 2 arms, every child resolved.
    assert.equal(s.children.length, 8);
    const sl = s.children.find((c) => c.arm === StudyArm.STUDY_ARM_SL);
    assert.equal(sl?.config.architecture, 'small_conv_64');
    const pair = s.children.filter((c) => c.nLabels === 100 && c.fold === 1);
    assert.equal(
      new Set(pair.map((c) => c.config.training?.seed)).size,
      1,
      'both arms of a fold share the seed',
    );
  });
  it('validates every arm before anything exists (budget 7 with SSL arms only)', () => {
    assert.deepEqual(
      refused(() =>
        resolveStudy(
          StudyConfig.fromPartial({
            preset: 'cpu-quick',
            arms: [StudyArm.STUDY_ARM_SSL_FINE_TUNE],
            labelBudgets: [7],
          }),
          undefined,
        ),
      ),
      ['config.label_budgets[0]'],
    );
  });
  it('refuses unknown presets, duplicate budgets, folds that do not fit and unknown arms', () => {
    assert.deepEqual(
      refused(() => resolveStudy(StudyConfig.fromPartial({ preset: 'fast' }), undefined)),
      ['config.preset'],
    );
    const base = { preset: 'cpu-quick' };
    assert.deepEqual(
      refused(() => resolveStudy(StudyConfig.fromPartial({ ...base, labelBudgets: [100, 100] }), undefined)),
      ['config.label_budgets'],
    );
    assert.deepEqual(
      refused(() =>
        resolveStudy(StudyConfig.fromPartial({ ...base, labelBudgets: [5000], folds: 11 }), undefined),
      ),
      ['config.folds'],
    );
    assert.deepEqual(
      refused(() => resolveStudy(StudyConfig.fromPartial({ ...base, arms: [9 as StudyArm] }), undefined)),
      ['config.arms'],
    );
  });
  it('drops the preset pretext run when the request names an existing one', () => {
    const s = resolveStudy(StudyConfig.fromPartial({ preset: 'cpu-quick', pretextRunId: 'r-1' }), {
      dataset: 'cifar10',
      architecture: 'resnet',
      depth: 8,
    });
    assert.equal(s.pretext, undefined);
    assert.equal(s.children.find((c) => c.arm === StudyArm.STUDY_ARM_SL)?.config.depth, 8);
  });
});
