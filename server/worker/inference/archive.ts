// Export archives: an uncompressed tar of named files, byte-for-byte the same for the same
// checkpoint (fixed owner, mode and time), so a resumed download can check its sha256.
import { createHash } from 'node:crypto';
import tar from 'tar-stream';

export interface ArchiveFile {
  name: string;
  data: Uint8Array;
}

export async function tarArchive(files: ArchiveFile[], mtime: Date): Promise<Uint8Array> {
  const pack = tar.pack();
  const chunks: Buffer[] = [];
  pack.on('data', (c) => chunks.push(c as Buffer));
  const ended = new Promise<void>((resolve, reject) => {
    pack.on('end', () => resolve());
    pack.on('error', reject);
  });
  for (const f of files) {
    await new Promise<void>((resolve, reject) =>
      pack.entry(
        { name: f.name, size: f.data.byteLength, mode: 0o644, mtime, uid: 0, gid: 0, uname: '', gname: '' },
        Buffer.from(f.data.buffer, f.data.byteOffset, f.data.byteLength),
        (err) => (err ? reject(err) : resolve()),
      ),
    );
  }
  pack.finalize();
  await ended;
  return new Uint8Array(Buffer.concat(chunks));
}

export function sha256Hex(data: Uint8Array): string {
  return createHash('sha256').update(data).digest('hex');
}
