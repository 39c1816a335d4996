// Version and code revision recorded with every run, so results can be traced to code.
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const PROJECT_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');

export const VERSION: string = (
  JSON.parse(readFileSync(path.join(PROJECT_ROOT, 'package.json'), 'utf8')) as { version: string }
).version;

let revision: string | undefined;

/** Git revision of the code (with "-dirty" when the work tree has changes), or "unknown". */
export function codeRevision(): string {
  if (revision !== undefined) return revision;
  revision = process.env.PRETEXT_CODE_REVISION ?? 'unknown';
  if (!process.env.PRETEXT_CODE_REVISION) {
    try {
      const git = (args: string[]) =>
        execFileSync('git', args, { cwd: PROJECT_ROOT, stdio: ['ignore', 'pipe', 'ignore'] })
          .toString()
          .trim();
      const head = git(['rev-parse', '--short=12', 'HEAD']);
      const dirty = git(['status', '--porcelain', '--untracked-files=no']) !== '';
      revision = dirty ? `${head}-dirty` : head;
    } catch {
      // not a git checkout (an installed package): keep "unknown"
    }
  }
  return revision;
}
