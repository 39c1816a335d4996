// Where a run's checkpoint is on disk, as the daemon sees it (no tfjs): `checkpoints/<which>`,
// or `<which>.old` during the moment a new one is swapped in. A checkpoint is complete when its
// state.json exists; its modification time identifies the contents.
import { statSync } from 'node:fs';
import path from 'node:path';
import type { CheckpointWhich } from '../../shared/inference-protocol.js';

export function checkpointStamp(runDir: string, which: CheckpointWhich): number | undefined {
  const dir = path.join(runDir, 'checkpoints', which);
  for (const d of [dir, `${dir}.old`]) {
    try {
      return Math.floor(statSync(path.join(d, 'state.json')).mtimeMs);
    } catch {
      // not there: try the next
    }
  }
  return undefined;
}
