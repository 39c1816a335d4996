// `pretext dataset add | ls | show | rm`: imported datasets. `add` uploads a folder (a tar of
// it, resumable: running it again after a cut continues from what the daemon holds).
import { Dataset } from '../../gen/ts/pretext/v1/datasets.js';
import type { Connection } from '../../clients/ts/connection.js';
import { uploadFolder } from '../../clients/ts/dataset-upload.js';
import { CliError, ExitCode } from '../../clients/ts/exit-codes.js';
import { formatBytes, table } from '../../clients/ts/format.js';
import { IMPORT } from '../../server/shared/contract/datasets.js';
import type { Io } from '../io.js';
import { json } from './read.js';

export interface DatasetAddFlags {
  side?: string;
  for?: string;
  seed?: string;
  testShare?: string;
  maxFailedShare?: string;
  json?: boolean;
}

function num(v: string | undefined, flag: string, min: number, max: number, integer: boolean): number {
  if (v === undefined) return 0;
  const n = Number(v);
  if (!Number.isFinite(n) || n < min || n > max || (integer && !Number.isInteger(n)))
    throw new CliError(
      `${flag} "${v.slice(0, 40)}" must be ${integer ? 'an integer' : 'a number'} in ${min}..${max}`,
      ExitCode.INVALID_ARGUMENT,
    );
  return n;
}

const sum = (a: number[]) => a.reduce((x, y) => x + y, 0);

export async function datasetAdd(
  conn: Connection,
  io: Io,
  name: string,
  folder: string,
  o: DatasetAddFlags,
): Promise<number> {
  const options = {
    side: num(o.side, '--side', IMPORT.side.min, IMPORT.side.max, true),
    seed: num(o.seed, '--seed', 0, 2 ** 31 - 1, true),
    testShare: num(o.testShare, '--test-share', IMPORT.testShare.min, IMPORT.testShare.max, false),
    maxFailedShare: num(o.maxFailedShare, '--max-failed-share', 0, 1, false),
    architecture: o.for ?? '',
  };
  let last = 0;
  const ds = await uploadFolder(conn.client, name, folder, {
    options,
    metadata: conn.metadata(),
    onProgress: (sent, total) => {
      const now = Date.now();
      if (io.errIsTty && (now - last > 200 || sent === total)) {
        last = now;
        io.err(`\ruploading ${formatBytes(sent)} of ${formatBytes(total)}`);
      }
    },
  });
  if (io.errIsTty) io.err('\n');
  if (o.json) {
    io.out(json(Dataset.toJSON(ds)));
    return ExitCode.OK;
  }
  io.out(`${summary(ds)}\n`);
  if (ds.skippedCount) io.out(`${ds.skippedCount} files skipped: pretext dataset show ${ds.name}\n`);
  return ExitCode.OK;
}

function summary(d: Dataset): string {
  return `dataset ${d.name}: ${d.classNames.length} classes, ${sum(d.trainPerClass)} train, ${sum(d.testPerClass)} test${d.testCarved ? ` (carved, seed ${d.testSeed})` : ''}, ${d.unlabeled} unlabeled, ${d.side}×${d.side} px`;
}

export async function datasetList(conn: Connection, io: Io, o: { json?: boolean }): Promise<number> {
  const res = await conn.call(conn.client.listDatasets, {});
  if (o.json) {
    io.out(json(res.datasets.map((d) => Dataset.toJSON(d))));
    return ExitCode.OK;
  }
  if (!res.datasets.length) {
    io.out('no imported datasets (add one: pretext dataset add NAME ./folder)\n');
    return ExitCode.OK;
  }
  const rows = [
    ['name', 'classes', 'train', 'test', 'unlabeled', 'side', 'skipped', 'size', 'runs'],
    ...res.datasets.map((d) => [
      d.name,
      String(d.classNames.length),
      String(sum(d.trainPerClass)),
      String(sum(d.testPerClass)),
      String(d.unlabeled),
      String(d.side),
      String(d.skippedCount),
      formatBytes(d.bytes),
      String(d.activeRuns),
    ]),
  ];
  io.out(`${table(rows, 120)}\n`);
  return ExitCode.OK;
}

export async function datasetShow(
  conn: Connection,
  io: Io,
  name: string,
  o: { json?: boolean },
): Promise<number> {
  const { dataset: d } = await conn.call(conn.client.getDataset, { name });
  if (!d) throw new CliError(`no dataset ${name}`, ExitCode.NOT_FOUND);
  if (o.json) {
    io.out(json(Dataset.toJSON(d)));
    return ExitCode.OK;
  }
  io.out(`${summary(d)}\nchecksum ${d.checksum}\n`);
  const rows = [
    ['class', 'train', 'test'],
    ...d.classNames.map((c, i) => [c, String(d.trainPerClass[i] ?? 0), String(d.testPerClass[i] ?? 0)]),
  ];
  io.out(`${table(rows, 120)}\n`);
  if (d.skipped.length) {
    io.out(`skipped ${d.skipped.length}:\n`);
    for (const s of d.skipped) io.out(`  ${s.path}: ${s.reason}\n`);
  }
  return ExitCode.OK;
}

export async function datasetRemove(conn: Connection, io: Io, name: string): Promise<number> {
  await conn.call(conn.client.deleteDataset, { name });
  io.out(`dataset ${name} deleted\n`);
  return ExitCode.OK;
}
