// Where a run's checkpoints live, by the proto's CheckpointChoice.
import path from 'node:path';
import { CheckpointChoice } from '../../../gen/ts/pretext/v1/run.js';

export type CheckpointKind = 'best' | 'last';

/** UNSPECIFIED means best (the proto's default). */
export function checkpointName(choice: CheckpointChoice): CheckpointKind {
  return choice === CheckpointChoice.CHECKPOINT_CHOICE_LAST ? 'last' : 'best';
}

export function checkpointDir(runDir: string, kind: CheckpointKind): string {
  return path.join(runDir, 'checkpoints', kind);
}
