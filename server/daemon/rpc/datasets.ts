// Dataset RPCs: ImportDataset, UploadDataset (client streaming), UploadStatus, ListDatasets,
// GetDataset, DeleteDataset. The work is in daemon/datasets/; here are the wire and its checks.
import fs from 'node:fs';
import { type ServerReadableStream, type ServerUnaryCall, type sendUnaryData, status } from '@grpc/grpc-js';
import type {
  DeleteDatasetRequest,
  DeleteDatasetResponse,
  GetDatasetRequest,
  GetDatasetResponse,
  ImportDatasetRequest,
  ImportDatasetResponse,
  ListDatasetsRequest,
  ListDatasetsResponse,
  UploadDatasetRequest,
  UploadDatasetResponse,
  UploadStatusRequest,
  UploadStatusResponse,
} from '../../../gen/ts/pretext/v1/datasets.js';
import type { Datasets } from '../datasets/datasets.js';
import type { DiskGuard } from '../disk/guard.js';
import { failedPrecondition, invalidArgument, RpcError } from './errors.js';

export interface DatasetRpcDeps {
  datasets: Datasets;
  disk: DiskGuard;
  toServiceError(name: string, err: unknown): { code: status; details: string };
}

/** Progress events while receiving, at most this often. */
const RECEIVE_PROGRESS_MS = 1000;

export function datasetHandlers(deps: DatasetRpcDeps) {
  const { datasets } = deps;
  const unary =
    <Req, Res>(name: string, fn: (req: Req) => Promise<Res> | Res) =>
    (call: ServerUnaryCall<Req, Res>, callback: sendUnaryData<Res>) => {
      Promise.resolve()
        .then(() => fn(call.request))
        .then(
          (res) => callback(null, res),
          (err: unknown) => callback(deps.toServiceError(name, err)),
        );
    };

  return {
    importDataset: unary<ImportDatasetRequest, ImportDatasetResponse>('ImportDataset', async (req) => {
      deps.disk.assertCanStart();
      return { dataset: await datasets.importFromRoot(req.name, req.path, req.options) };
    }),
    uploadStatus: unary<UploadStatusRequest, UploadStatusResponse>('UploadStatus', (req) => ({
      receivedBytes: datasets.uploadStatus(req.name, req.sha256),
    })),
    listDatasets: unary<ListDatasetsRequest, ListDatasetsResponse>('ListDatasets', () => ({
      datasets: datasets.list(),
    })),
    getDataset: unary<GetDatasetRequest, GetDatasetResponse>('GetDataset', (req) => ({
      dataset: datasets.get(req.name),
    })),
    deleteDataset: unary<DeleteDatasetRequest, DeleteDatasetResponse>('DeleteDataset', (req) => {
      datasets.delete(req.name);
      return {};
    }),
    uploadDataset: (
      call: ServerReadableStream<UploadDatasetRequest, UploadDatasetResponse>,
      callback: sendUnaryData<UploadDatasetResponse>,
    ) => {
      receive(call, deps).then(
        (res) => callback(null, res),
        (err: unknown) => callback(deps.toServiceError('UploadDataset', err)),
      );
    },
  };
}

/**
 * Appends the call's chunks to the upload's part file (each chunk must start where the file
 * ends, so a resumed upload continues at UploadStatus's offset), then verifies and imports it.
 * A call cut off midway leaves the part file for the next call.
 */
async function receive(
  call: ServerReadableStream<UploadDatasetRequest, UploadDatasetResponse>,
  deps: DatasetRpcDeps,
): Promise<UploadDatasetResponse> {
  const { datasets } = deps;
  let header: { name: string; totalBytes: number; sha256: string } | undefined;
  let begun: ReturnType<Datasets['beginUpload']> | undefined;
  let release: (() => void) | undefined;
  let fd: number | undefined;
  let received = 0;
  let lastProgress = 0;
  // A client that goes away ends the loop below (its part file stays, to be resumed).
  call.on('cancelled', () => call.destroy(new RpcError(status.CANCELLED, 'the client cancelled the upload')));
  try {
    for await (const msg of call as AsyncIterable<UploadDatasetRequest>) {
      const part = msg.part;
      if (!header) {
        if (part?.$case !== 'header')
          throw invalidArgument('the first message of an upload must be its header');
        deps.disk.assertCanStart();
        const h = part.header;
        header = { name: h.name, totalBytes: Number(h.totalBytes), sha256: h.sha256 };
        begun = datasets.beginUpload(h.name, header.totalBytes, h.sha256, h.options);
        release = datasets.claim(h.name);
        received = begun.received;
        fd = fs.openSync(begun.part, 'a');
        continue;
      }
      if (part?.$case !== 'chunk') throw invalidArgument('only chunks may follow the header');
      const offset = Number(part.chunk.offset);
      const data = part.chunk.data;
      if (offset !== received) {
        throw failedPrecondition(
          `chunk at offset ${offset}, but the daemon holds ${received} bytes of this upload; resume from ${received}`,
        );
      }
      if (received + data.length > header.totalBytes) {
        throw invalidArgument(`the chunks exceed the header's total_bytes ${header.totalBytes}`);
      }
      fs.writeSync(fd!, data);
      received += data.length;
      const now = Date.now();
      if (now - lastProgress >= RECEIVE_PROGRESS_MS || received === header.totalBytes) {
        lastProgress = now;
        datasets.progress({
          name: header.name,
          phase: 'receiving',
          done: received,
          total: header.totalBytes,
          error: '',
        });
      }
    }
    if (!header || !begun) throw invalidArgument('an upload needs a header and its chunks');
    fs.closeSync(fd!);
    fd = undefined;
    if (received < header.totalBytes) {
      throw failedPrecondition(
        `the upload ended at ${received} of ${header.totalBytes} bytes; resume from ${received}`,
      );
    }
    return { dataset: await datasets.finishUpload(header.name, begun.part, header.sha256, begun.options) };
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOSPC')
      throw new RpcError(status.RESOURCE_EXHAUSTED, 'no space left on the daemon for this upload');
    throw err;
  } finally {
    if (fd !== undefined) fs.closeSync(fd);
    release?.();
  }
}
