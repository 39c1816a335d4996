// Command-line form of writeCifarFolder, for the Python client's tests:
//   node --import tsx test/helpers/write-image-folder.ts DIR COUNT [JPEG_EVERY]
import { writeCifarFolder } from './image-folder.js';

const [dir, count, jpegEvery] = process.argv.slice(2);
if (!dir || !count) {
  console.error('usage: write-image-folder.ts DIR COUNT [JPEG_EVERY]');
  process.exit(2);
}
await writeCifarFolder(dir, { count: Number(count), jpegEvery: Number(jpegEvery ?? 0) });
