// Models out: `pretext export`, `pretext embed`, `pretext predict`.
import { readFile, rm } from 'node:fs/promises';
import path from 'node:path';
import { type Projection, writeEmbeddingPlot } from '../../clients/ts/embedding-plot.js';
import type { Connection } from '../../clients/ts/connection.js';
import { CliError, ExitCode } from '../../clients/ts/exit-codes.js';
import {
  checkpointChoice,
  collectEmbeddings,
  downloadExport,
  type Embeddings,
  extractArchive,
  writeEmbeddings,
} from '../../clients/ts/models-out.js';
import { PredictRequest, PredictResponse } from '../../gen/ts/pretext/v1/service.js';
import {
  EMBED_SPLITS,
  EXPORT_FORMATS,
  MAX_IMAGES_PER_CALL,
  MAX_TOP_K,
} from '../../server/shared/contract/models-out.js';
import type { Io } from '../io.js';
import { json } from './read.js';

const bad = (msg: string) => new CliError(msg, ExitCode.INVALID_ARGUMENT);

function choice(name: string | undefined) {
  try {
    return checkpointChoice(name);
  } catch (err) {
    throw bad((err as Error).message);
  }
}

function count(value: string | undefined, flag: string, max = Number.MAX_SAFE_INTEGER): number {
  if (value === undefined) return 0;
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0 || n > max)
    throw bad(`--${flag} must be an integer in 0..${max}, got "${value.slice(0, 40)}"`);
  return n;
}

export interface ExportFlags {
  format?: string;
  out?: string;
  checkpoint?: string;
  json?: boolean;
}

export async function exportCommand(
  conn: Connection,
  io: Io,
  runId: string,
  o: ExportFlags,
): Promise<number> {
  const format = o.format ?? 'onnx';
  if (!(EXPORT_FORMATS as readonly string[]).includes(format))
    throw bad(`--format must be one of ${EXPORT_FORMATS.join(', ')}, got "${format.slice(0, 40)}"`);
  const dir = path.resolve(o.out ?? `${runId}-${format}`);
  const archive = path.join(dir, `.${runId}-${format}.tar`);
  const res = await downloadExport(conn, { runId, format, checkpoint: choice(o.checkpoint) }, archive, {
    onProgress: (done, total) => {
      if (io.errIsTty) io.err(`\r${(done / 1e6).toFixed(1)} / ${(total / 1e6).toFixed(1)} MB`);
    },
  });
  if (io.errIsTty) io.err('\n');
  const files = await extractArchive(archive, dir);
  await rm(archive, { force: true });
  const info = res.info;
  if (o.json) {
    io.out(
      json({
        dir,
        files,
        sha256: info.sha256,
        bytes: info.totalBytes,
        checkpoint: info.checkpoint,
        epoch: info.epoch,
        in_progress: info.inProgress,
      }),
    );
  } else {
    io.out(`${dir}\n`);
    io.err(
      `${format} export of ${runId} (${info.checkpoint} checkpoint, epoch ${info.epoch}${info.inProgress ? ', run still training' : ''}): ${files.join(', ')}\n`,
    );
  }
  return ExitCode.OK;
}

export interface EmbedFlags {
  dataset?: string;
  split?: string;
  limit?: string;
  offset?: string;
  image?: string[];
  out?: string;
  checkpoint?: string;
  plot?: boolean;
  beside?: string;
  projection?: string;
  json?: boolean;
}

export async function embedCommand(conn: Connection, io: Io, runId: string, o: EmbedFlags): Promise<number> {
  if (!o.out) throw bad('--out FILE.npy is required (embeddings as float32 rows)');
  const projection = (o.projection ?? 'umap') as Projection;
  if (projection !== 'umap' && projection !== 'pca') throw bad('--projection must be umap or pca');
  const checkpoint = choice(o.checkpoint);
  let source: Parameters<typeof collectEmbeddings>[1]['source'];
  if (o.image?.length) {
    if (o.split || o.dataset) throw bad('give either --image files or --dataset/--split, not both');
    if (o.image.length > MAX_IMAGES_PER_CALL) throw bad(`at most ${MAX_IMAGES_PER_CALL} images per call`);
    source = { $case: 'images', images: { images: await Promise.all(o.image.map((f) => readFile(f))) } };
  } else {
    const split = o.split ?? 'test';
    if (!(EMBED_SPLITS as readonly string[]).includes(split))
      throw bad(`--split must be one of ${EMBED_SPLITS.join(', ')}, got "${split.slice(0, 40)}"`);
    source = {
      $case: 'split',
      split: {
        dataset: o.dataset ?? '',
        split,
        limit: count(o.limit, 'limit'),
        offset: count(o.offset, 'offset'),
      },
    };
  }
  const runs = [runId, ...(o.beside ? [o.beside] : [])];
  const got: Embeddings[] = [];
  for (const id of runs) got.push(await collectEmbeddings(conn, { runId: id, checkpoint, source }));
  const e = got[0]!;
  const files = await writeEmbeddings(e, o.out);
  if (o.plot) {
    const stem = o.out.endsWith('.npy') ? o.out.slice(0, -4) : o.out;
    files.push(
      ...(await writeEmbeddingPlot(
        got.map((g, i) => ({
          title: `${runs[i]} (${g.info.model?.checkpoint} checkpoint)`,
          embeddings: g.embeddings,
          dim: g.dim,
          labels: g.labels,
          classNames: g.info.model?.classNames ?? [],
        })),
        stem,
        projection,
      )),
    );
  }
  if (o.json) io.out(json({ files, count: e.info.count, dim: e.dim, model: e.info.model }));
  else {
    io.out(`${files[0]}\n`);
    io.err(`${e.info.count} × ${e.dim} embeddings; wrote ${files.join(', ')}\n`);
  }
  return ExitCode.OK;
}

export interface PredictFlags {
  topK?: string;
  checkpoint?: string;
  json?: boolean;
}

export async function predictCommand(
  conn: Connection,
  io: Io,
  runId: string,
  images: string[],
  o: PredictFlags,
): Promise<number> {
  if (images.length === 0) throw bad('give at least one image file (PNG or JPEG)');
  if (images.length > MAX_IMAGES_PER_CALL) throw bad(`at most ${MAX_IMAGES_PER_CALL} images per call`);
  const topK = count(o.topK, 'top-k', MAX_TOP_K);
  const bytes = await Promise.all(
    images.map((f) =>
      readFile(f).catch((err: NodeJS.ErrnoException) => {
        throw bad(`cannot read ${f}: ${err.code ?? err.message}`);
      }),
    ),
  );
  const res = await conn.call(
    conn.client.predict,
    PredictRequest.fromPartial({ runId, checkpoint: choice(o.checkpoint), images: bytes, topK }),
    120_000,
  );
  if (o.json) {
    io.out(json({ ...(PredictResponse.toJSON(res) as object), files: images }));
    return ExitCode.OK;
  }
  res.predictions.forEach((p, i) => {
    const top = p.top.map((c) => `${c.className} ${(c.probability * 100).toFixed(1)}%`).join(', ');
    io.out(`${images[i]}\t${top}\n`);
  });
  return ExitCode.OK;
}
