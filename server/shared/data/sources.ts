// Where each dataset comes from and what its files must be. Tests inject their own sources
// (a small archive served from 127.0.0.1, their own sums) through ResolveOptions.sources.

export type DatasetName = 'cifar10' | 'stl10';

export interface FileSpec {
  /** Name inside the dataset folder (and inside the archive's top folder). */
  name: string;
  /** Must be present for the folder to count as complete (and in the archive). */
  required: boolean;
  /** Exact size in bytes, when known. */
  size?: number;
  /** SHA-256 of the official file, when known. */
  sha256?: string;
}

export interface DatasetSource {
  name: DatasetName;
  /** Folder the archive unpacks to, inside the data dir. */
  folder: string;
  /** Archive file name, inside the data dir. */
  archive: string;
  url: string;
  /** Published archive size, MD5 and SHA-256 (each optional; every one given is checked). */
  archiveSize?: number;
  md5?: string;
  sha256?: string;
  files: FileSpec[];
  /** Members the archive must hold (its top folder is `folder`); other members are skipped. */
  archiveRequired: string[];
}

const CIFAR_BATCH_BYTES = 10_000 * 3073;

export const OFFICIAL_SOURCES: Readonly<Record<DatasetName, DatasetSource>> = {
  cifar10: {
    name: 'cifar10',
    folder: 'cifar-10-batches-bin',
    archive: 'cifar-10-binary.tar.gz',
    url: 'https://www.cs.toronto.edu/~kriz/cifar-10-binary.tar.gz',
    archiveSize: 170_052_171,
    md5: 'c32a1d4ab5d03f1284b67883e8d87530',
    sha256: 'c4a38c50a1bc5f3a1c5537f2155ab9d68f9f25eb1ed8d9ddda3db29a59bca1dd',
    // SHA-256 of the official members (the published sums of the original files).
    files: [
      {
        name: 'data_batch_1.bin',
        required: true,
        size: CIFAR_BATCH_BYTES,
        sha256: 'cee916563c9f80d84e3cc88e17fdc0941787f1244f00a67874d45b261883ada5',
      },
      {
        name: 'data_batch_2.bin',
        required: true,
        size: CIFAR_BATCH_BYTES,
        sha256: 'a591ca11fa1708a91ee40f54b3da4784ccd871ecf2137de63f51ada8b3fa57ed',
      },
      {
        name: 'data_batch_3.bin',
        required: true,
        size: CIFAR_BATCH_BYTES,
        sha256: 'bbe8596564c0f86427f876058170b84dac6670ddf06d79402899d93ceea26f67',
      },
      {
        name: 'data_batch_4.bin',
        required: true,
        size: CIFAR_BATCH_BYTES,
        sha256: '014e562d6e23c72197cc727519169a60359f5eccd8945ad5a09d710285ff4e48',
      },
      {
        name: 'data_batch_5.bin',
        required: true,
        size: CIFAR_BATCH_BYTES,
        sha256: '755304fc0b379caeae8c14f0dac912fbc7d6cd469eb67a1029a08a39453a9add',
      },
      {
        name: 'test_batch.bin',
        required: true,
        size: CIFAR_BATCH_BYTES,
        sha256: '8e2eb146ae340b09e24670f29cabc6326dba54da8789dab6768acf480273f65b',
      },
      { name: 'batches.meta.txt', required: false },
    ],
    archiveRequired: [
      'data_batch_1.bin',
      'data_batch_2.bin',
      'data_batch_3.bin',
      'data_batch_4.bin',
      'data_batch_5.bin',
      'test_batch.bin',
      'batches.meta.txt',
    ],
  },
  stl10: {
    name: 'stl10',
    folder: 'stl10_binary',
    archive: 'stl10_binary.tar.gz',
    url: 'https://ai.stanford.edu/~acoates/stl10/stl10_binary.tar.gz',
    md5: '91f7769df0f17e558f3565bffb0c7dfb',
    // STL-10 folders may hold any whole number of records (e.g. a sample), so only the
    // archive is checked against published facts; readers check record structure.
    files: [
      { name: 'class_names.txt', required: true },
      { name: 'train_X.bin', required: false },
      { name: 'train_y.bin', required: false },
      { name: 'test_X.bin', required: false },
      { name: 'test_y.bin', required: false },
      { name: 'unlabeled_X.bin', required: false },
      { name: 'fold_indices.txt', required: false },
    ],
    archiveRequired: [
      'class_names.txt',
      'train_X.bin',
      'train_y.bin',
      'test_X.bin',
      'test_y.bin',
      'unlabeled_X.bin',
      'fold_indices.txt',
    ],
  },
};

export function sourceFor(name: DatasetName, override?: Partial<DatasetSource>): DatasetSource {
  return { ...OFFICIAL_SOURCES[name], ...override, name };
}
