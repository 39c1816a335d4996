// Study protocols. `reference` is the study's own setting (for GPU hosts); `cpu-quick` is sized
// to finish on 2 CPU cores in well under an hour, `cpu-resnet20` in about an hour with the
// reference's network; `demo` is the README's main job.
import { Selection } from '../../../gen/ts/pretext/v1/run.js';
import { StudyArm, StudyConfig } from '../../../gen/ts/pretext/v1/study.js';

// The CPU presets' downstream protocol. Cosine decay without plateau cuts: with the step
// schedule the validation accuracy froze after ~25 of 40 epochs in the first measured run.
const CPU_DOWNSTREAM = {
  testLimit: 0,
  training: {
    epochs: 40,
    batchSize: 32,
    learningRate: 1e-3,
    lrSchedule: 'cosine',
    disablePlateau: true,
    augment: true,
    validationLimit: 500,
  },
};

// Rotation pretext with the reference's network on CPU: 5 epochs of Adam 1e-3 with cosine decay,
// shift/flip augmentation, the epoch selected on 2,000 held-out images.
const RESNET20_ROTATION = {
  method: 'rotation',
  dataset: 'cifar10',
  architecture: 'resnet',
  depth: 20,
  training: {
    epochs: 5,
    batchSize: 128,
    learningRate: 1e-3,
    lrSchedule: 'cosine',
    disablePlateau: true,
    augment: true,
    validationLimit: 2000,
  },
};

const STUDY_PRESETS: Record<string, StudyConfig> = {
  // REFERENCE.md §1: all 50,000 images, one random rotation each, ResNet20, 200 epochs, batch 32,
  // Adam 1e-3 with the step schedule and plateau reduction, shift/flip augmentation.
  reference: StudyConfig.fromPartial({
    preset: 'reference',
    pretext: {
      method: 'rotation',
      dataset: 'cifar10',
      architecture: 'resnet',
      depth: 20,
      rotationsPerImage: 1,
      training: { epochs: 200, batchSize: 32, learningRate: 1e-3, lrSchedule: 'reference', augment: true },
    },
    labelBudgets: [100, 250, 625, 1250, 2500, 5000],
    folds: 3,
    arms: [StudyArm.STUDY_ARM_SL, StudyArm.STUDY_ARM_SSL_FINE_TUNE],
    downstream: {
      training: { epochs: 200, batchSize: 32, learningRate: 1e-3, lrSchedule: 'reference', augment: true },
    },
  }),
  // A narrow conv encoder and RotNet (all four rotations per image) on 10,000 images: the most
  // pretext signal per CPU second; budgets where the reference saw the largest gains.
  'cpu-quick': StudyConfig.fromPartial({
    preset: 'cpu-quick',
    pretext: {
      method: 'rotation',
      dataset: 'cifar10',
      architecture: 'small_conv_64',
      unlabeledLimit: 20_000,
      rotationsPerImage: 4,
      training: {
        epochs: 8,
        batchSize: 128,
        learningRate: 2e-3,
        lrSchedule: 'reference',
        augment: true,
        validationLimit: 2000,
      },
    },
    labelBudgets: [100, 250, 1000],
    folds: 2,
    arms: [StudyArm.STUDY_ARM_SL, StudyArm.STUDY_ARM_SSL_FINE_TUNE],
    downstream: CPU_DOWNSTREAM,
  }),
  // The reference's network (ResNet20 v1) on 2 CPU cores in about an hour — practical with the
  // native (oneDNN) backend at ~300 img/s: RotNet on 20,000 images for 5 epochs, then the
  // cpu-quick downstream protocol.
  'cpu-resnet20': StudyConfig.fromPartial({
    preset: 'cpu-resnet20',
    pretext: { ...RESNET20_ROTATION, unlabeledLimit: 20_000, rotationsPerImage: 4 },
    labelBudgets: [100, 250, 1000],
    folds: 2,
    arms: [StudyArm.STUDY_ARM_SL, StudyArm.STUDY_ARM_SSL_FINE_TUNE],
    downstream: CPU_DOWNSTREAM,
  }),
  // The reference's shape on 2 CPU cores (AVX2; measured in docs/results/cpu-reference): ResNet20,
  // rotation pretext on all 50,000 training images (2,000 held out to select its epoch) with one
  // rotation per image drawn once, as the reference does (RotNet's four rotations per image would
  // spend the same samples on a quarter of the epochs), all six budgets, 2 folds, model selection
  // within each budget. Downstream epochs scale with the budget: at least 300 optimizer steps, so
  // 100 labels train about as long as 1,250 do, and 5,000 labels get 10 epochs.
  'cpu-reference': StudyConfig.fromPartial({
    preset: 'cpu-reference',
    pretext: { ...RESNET20_ROTATION, rotationsPerImage: 1 },
    labelBudgets: [100, 250, 625, 1250, 2500, 5000],
    folds: 2,
    arms: [StudyArm.STUDY_ARM_SL, StudyArm.STUDY_ARM_SSL_FINE_TUNE],
    downstream: {
      testLimit: 0,
      selection: Selection.SELECTION_WITHIN_BUDGET,
      training: {
        epochs: 10,
        minSteps: 300,
        batchSize: 32,
        learningRate: 1e-3,
        lrSchedule: 'cosine',
        disablePlateau: true,
        augment: true,
      },
    },
  }),
  demo: StudyConfig.fromPartial({
    preset: 'demo',
    pretext: {
      method: 'rotation',
      dataset: 'cifar10',
      architecture: 'small_conv_32',
      unlabeledLimit: 5000,
      rotationsPerImage: 4,
      training: {
        epochs: 3,
        batchSize: 128,
        learningRate: 2e-3,
        augment: true,
        validationLimit: 1000,
        seed: 7,
      },
    },
    labelBudgets: [100, 1000],
    folds: 1,
    arms: [StudyArm.STUDY_ARM_SL, StudyArm.STUDY_ARM_SSL_FINE_TUNE],
    downstream: {
      testLimit: 2000,
      training: { epochs: 15, batchSize: 32, learningRate: 1e-3, augment: true, validationLimit: 500 },
    },
  }),
};

const PRESETS = new Map(Object.entries(STUDY_PRESETS));

export function presetNames(): string[] {
  return [...PRESETS.keys()];
}

/** A preset by name (a Map lookup: "__proto__" is unknown, not a prototype). */
export function studyPreset(name: string): StudyConfig | undefined {
  return PRESETS.get(name);
}
