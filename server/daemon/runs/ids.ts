// Run and study ids: a readable prefix and day, then 100 random bits in lowercase Crockford
// base32 (r-20261130-7k3m9x2q4w5e8r1t6y0z). At 100 bits two ids collide with a chance of
// about n²/2^101 — for a million runs, under 10^-18 — and the registry still retries on the
// rare conflict. Tests inject an `IdSource` to force collisions.
import { randomBytes } from 'node:crypto';

const ALPHABET = '0123456789abcdefghjkmnpqrstvwxyz';
const RANDOM_CHARS = 20;

/** Returns a fresh id for `prefix` ("r" for runs, "s" for studies). */
export type IdSource = (prefix: 'r' | 's', now: Date) => string;

export const randomId: IdSource = (prefix, now) => {
  const day = now.toISOString().slice(0, 10).replaceAll('-', '');
  const bytes = randomBytes(RANDOM_CHARS);
  let tail = '';
  for (const b of bytes) tail += ALPHABET[b & 31];
  return `${prefix}-${day}-${tail}`;
};

/** How many fresh ids an insert tries before it gives up. */
export const ID_ATTEMPTS = 5;

export function isPrimaryKeyConflict(err: unknown): boolean {
  return (
    typeof err === 'object' &&
    err !== null &&
    'code' in err &&
    (err.code === 'SQLITE_CONSTRAINT_PRIMARYKEY' || err.code === 'SQLITE_CONSTRAINT_UNIQUE')
  );
}

/**
 * Runs `insert` with fresh ids until one does not collide with an existing row; a failure
 * other than a key conflict is thrown at once.
 */
export function insertWithFreshId<T>(
  ids: IdSource,
  prefix: 'r' | 's',
  insert: (id: string) => T,
  attempts = ID_ATTEMPTS,
): T {
  for (let i = 1; ; i++) {
    const id = ids(prefix, new Date());
    try {
      return insert(id);
    } catch (err) {
      if (!isPrimaryKeyConflict(err) || i >= attempts) {
        if (isPrimaryKeyConflict(err)) {
          throw new IdExhaustedError(
            `${attempts} fresh ${prefix === 'r' ? 'run' : 'study'} ids in a row already existed`,
          );
        }
        throw err;
      }
    }
  }
}

export class IdExhaustedError extends Error {
  override name = 'IdExhaustedError';
}
