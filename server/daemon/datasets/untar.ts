// Extracts an uploaded tar into a fresh folder, refusing (PERMISSION_DENIED) any entry that
// could land outside it: absolute names, ".." components, symlinks and hard links. Only regular
// files and folders are written; the sum of file sizes is capped.
import fs from 'node:fs';
import path from 'node:path';
import { pipeline } from 'node:stream/promises';
import { status } from '@grpc/grpc-js';
import tar from 'tar-stream';
import { invalidArgument, RpcError } from '../rpc/errors.js';

export async function extractTar(archive: string, dest: string, maxBytes: number): Promise<void> {
  fs.mkdirSync(dest, { recursive: true });
  const extract = tar.extract();
  let total = 0;
  const input = fs.createReadStream(archive);
  input.on('error', (err) => extract.destroy(err));
  input.pipe(extract);
  try {
    for await (const entry of extract) {
      const h = entry.header;
      const name = h.name.replace(/\\/g, '/');
      const quoted = JSON.stringify(name.slice(0, 80));
      if (path.posix.isAbsolute(name) || /^[a-zA-Z]:/.test(name) || name.split('/').includes('..'))
        throw new RpcError(status.PERMISSION_DENIED, `archive entry ${quoted} points outside the folder`);
      if (h.type === 'symlink' || h.type === 'link')
        throw new RpcError(
          status.PERMISSION_DENIED,
          `archive entry ${quoted} is a link; send the files themselves`,
        );
      const target = path.join(dest, name);
      if (h.type === 'directory') {
        fs.mkdirSync(target, { recursive: true });
        entry.resume();
        continue;
      }
      if (h.type !== 'file' && h.type !== 'contiguous-file') {
        entry.resume(); // pax headers and other metadata: nothing to write
        continue;
      }
      total += h.size ?? 0;
      if (total > maxBytes)
        throw new RpcError(status.RESOURCE_EXHAUSTED, `the archive unpacks to more than ${maxBytes} bytes`);
      fs.mkdirSync(path.dirname(target), { recursive: true });
      await pipeline(entry, fs.createWriteStream(target));
    }
  } catch (err) {
    input.destroy();
    if (err instanceof RpcError) throw err;
    if ((err as NodeJS.ErrnoException).code === 'ENOSPC')
      throw new RpcError(status.RESOURCE_EXHAUSTED, 'no space left to unpack the upload');
    throw invalidArgument(
      `the upload is not a readable tar archive: ${(err as Error).message.slice(0, 120)}`,
    );
  }
}
