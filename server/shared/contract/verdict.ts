// Field-level verdicts: a resolver collects every problem of a request (field path + what is
// wrong + what to do) so that a person fixes them in one go, whichever client sent it.

export interface FieldError {
  /** Path in the request, proto field names: "config.training.epochs". */
  field: string;
  /** What is wrong and what to do instead. */
  message: string;
}

/** A request that the contract refuses; the daemon answers INVALID_ARGUMENT with `errors`. */
export class ContractError extends Error {
  constructor(readonly errors: FieldError[]) {
    super(errors.map((e) => `${e.field}: ${e.message}`).join('; '));
    this.name = 'ContractError';
  }
}

const QUOTE_MAX = 80;

/** Client input as it appears in a message: numbers as they are, text JSON-quoted and cut to about 80 characters. */
export function quote(value: unknown): string {
  if (typeof value === 'number') return String(value);
  const s = typeof value === 'string' ? value : String(value);
  const cut = s.length > QUOTE_MAX ? `${s.slice(0, QUOTE_MAX)}…` : s;
  return JSON.stringify(cut);
}

/** Collects field errors; `done()` throws them all at once. */
export class Verdict {
  readonly errors: FieldError[] = [];

  fail(field: string, message: string): void {
    if (!this.errors.some((e) => e.field === field && e.message === message)) {
      this.errors.push({ field, message });
    }
  }

  /** Records `message` unless `ok`; returns `ok`. */
  check(ok: boolean, field: string, message: string): boolean {
    if (!ok) this.fail(field, message);
    return ok;
  }

  has(prefix?: string): boolean {
    return prefix === undefined
      ? this.errors.length > 0
      : this.errors.some(
          (e) =>
            e.field === prefix || (/^[.[]/.test(e.field.slice(prefix.length)) && e.field.startsWith(prefix)),
        );
  }

  done(): void {
    if (this.errors.length) throw new ContractError(this.errors);
  }
}

/** An integer field with limits; 0 means "default" where `zeroIsDefault`. */
export function intField(
  v: Verdict,
  field: string,
  value: number,
  limits: { min: number; max: number; default?: number; hint?: string },
): number {
  if (value === 0 && limits.default !== undefined) return limits.default;
  const hint = limits.hint ? `; ${limits.hint}` : '';
  if (!Number.isSafeInteger(value) || value < limits.min || value > limits.max) {
    const zero = limits.default !== undefined ? ` (0 = ${limits.default})` : '';
    v.fail(field, `must be an integer in ${limits.min}..${limits.max}${zero}, got ${quote(value)}${hint}`);
    return limits.default ?? limits.min;
  }
  return value;
}

/** A float field in (min, max] (or [min, max] with `inclusiveMin`); 0 means the default. */
export function floatField(
  v: Verdict,
  field: string,
  value: number,
  limits: { min: number; max: number; default: number; inclusiveMin?: boolean },
): number {
  if (value === 0) return limits.default;
  const aboveMin = limits.inclusiveMin ? value >= limits.min : value > limits.min;
  if (!Number.isFinite(value) || !aboveMin || value > limits.max) {
    const open = limits.inclusiveMin ? '[' : '(';
    v.fail(
      field,
      `must be in ${open}${limits.min}, ${limits.max}] (0 = ${limits.default}), got ${quote(value)}`,
    );
    return limits.default;
  }
  return value;
}

/** A name out of a fixed list; '' means the default. */
export function choiceField<T extends string>(
  v: Verdict,
  field: string,
  value: string,
  choices: readonly T[],
  fallback: T,
): T {
  if (value === '') return fallback;
  if ((choices as readonly string[]).includes(value)) return value as T;
  v.fail(field, `${quote(value)} is unknown; use one of: ${choices.join(', ')}`);
  return fallback;
}
