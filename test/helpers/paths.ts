// Paths tests share. Real data lives beside the checkout (../shared/datasets), read-only;
// the project itself never hard-codes it — only tests and benchmarks point the daemon there.
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const REPO_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
export const SHARED_DATASETS =
  process.env.PRETEXT_TEST_DATA_DIR ?? path.resolve(REPO_ROOT, '../shared/datasets');
export const CIFAR_DIR = path.join(SHARED_DATASETS, 'cifar-10-batches-bin');
export const STL_SAMPLE_DIR = path.join(SHARED_DATASETS, 'stl10-sample');
