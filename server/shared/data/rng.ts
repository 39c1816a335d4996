// Seeded PRNG (sfc32) whose whole state is four uint32 words, so a checkpoint can store it
// and a resumed run draws exactly the numbers it would have drawn.

const TWO_POW_32 = 4294967296;

/** splitmix32: spreads a seed over the state words so that nearby seeds give unrelated streams. */
function splitmix32(x: number): [number, number] {
  let z = (x + 0x9e3779b9) >>> 0;
  const next = z;
  z = Math.imul(z ^ (z >>> 16), 0x85ebca6b);
  z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35);
  return [next, (z ^ (z >>> 16)) >>> 0];
}

export class Rng {
  private a = 0;
  private b = 0;
  private c = 0;
  private d = 0;

  /** Any finite number is accepted; seeds up to 2^53 keep both their low and high 32 bits. */
  constructor(seed: number) {
    if (!Number.isFinite(seed)) throw new RangeError(`Rng seed must be finite, got ${seed}`);
    const s = Math.trunc(Math.abs(seed));
    const lo = s >>> 0;
    const hi = Math.floor(s / TWO_POW_32) >>> 0;
    let x = (lo ^ Math.imul(hi, 0x27d4eb2d)) >>> 0;
    let out: number;
    [x, out] = splitmix32(x);
    this.a = out;
    [x, out] = splitmix32(x);
    this.b = out;
    [x, out] = splitmix32(x);
    this.c = out;
    this.d = 1;
    // Discard the first outputs: sfc32 mixes slowly from a fresh state.
    for (let i = 0; i < 12; i++) this.nextUint32();
  }

  nextUint32(): number {
    const t = (((this.a + this.b) | 0) + this.d) | 0;
    this.d = (this.d + 1) | 0;
    this.a = this.b ^ (this.b >>> 9);
    this.b = (this.c + (this.c << 3)) | 0;
    this.c = (this.c << 21) | (this.c >>> 11);
    this.c = (this.c + t) | 0;
    return t >>> 0;
  }

  /** Uniform in [0, 1). */
  next(): number {
    return this.nextUint32() / TWO_POW_32;
  }

  /** Uniform integer in [0, n); unbiased (rejection sampling). */
  int(n: number): number {
    if (!(n >= 1) || n > TWO_POW_32 || !Number.isInteger(n)) {
      throw new RangeError(`Rng.int needs an integer in [1, 2^32], got ${n}`);
    }
    const limit = TWO_POW_32 - (TWO_POW_32 % n);
    for (;;) {
      const r = this.nextUint32();
      if (r < limit) return r % n;
    }
  }

  /** Uniform in [lo, hi). */
  uniform(lo: number, hi: number): number {
    return lo + (hi - lo) * this.next();
  }

  /** Standard normal (Box-Muller; no cached spare, so the state stays the four words). */
  normal(): number {
    let u = this.next();
    while (u === 0) u = this.next();
    const v = this.next();
    return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * v);
  }

  /** Fisher-Yates, in place. */
  shuffle<T>(a: T[] | Int32Array): void {
    for (let i = a.length - 1; i > 0; i--) {
      const j = this.int(i + 1);
      const t = a[i] as T;
      a[i] = a[j] as T;
      a[j] = t;
    }
  }

  getState(): number[] {
    return [this.a >>> 0, this.b >>> 0, this.c >>> 0, this.d >>> 0];
  }

  static fromState(s: number[]): Rng {
    if (s.length !== 4 || s.some((v) => !Number.isInteger(v) || v < 0 || v >= TWO_POW_32)) {
      throw new RangeError('Rng state must be four uint32 words');
    }
    const r = new Rng(0);
    r.a = s[0]! | 0;
    r.b = s[1]! | 0;
    r.c = s[2]! | 0;
    r.d = s[3]! | 0;
    return r;
  }
}
