// Sizes as settings take them (--min-free-disk 5GiB) and as messages show them, for the daemon
// and the clients alike.

// A Map: a unit like "constructor" must be unknown, not Object.prototype's.
const UNITS = new Map<string, number>([
  ['', 1],
  ['b', 1],
  ['k', 1e3],
  ['kb', 1e3],
  ['m', 1e6],
  ['mb', 1e6],
  ['g', 1e9],
  ['gb', 1e9],
  ['t', 1e12],
  ['tb', 1e12],
  ['kib', 2 ** 10],
  ['mib', 2 ** 20],
  ['gib', 2 ** 30],
  ['tib', 2 ** 40],
]);

/** "5GiB", "500MB", "0", "1048576" → bytes. */
export function parseBytes(text: string, flag: string): number {
  const m = /^\s*(\d+(?:\.\d+)?)\s*([a-z]*)\s*$/i.exec(text);
  const unit = m ? UNITS.get((m[2] ?? '').toLowerCase()) : undefined;
  if (!m || unit === undefined) {
    throw new Error(`${flag} "${text.slice(0, 40)}" is not a size (e.g. 5GiB, 500MB, 0 = off)`);
  }
  const bytes = Math.round(Number(m[1]) * unit);
  if (!Number.isSafeInteger(bytes)) throw new Error(`${flag} "${text.slice(0, 40)}" is too large`);
  return bytes;
}

/** 1536 → "1.5 KiB". */
export function formatBytes(n: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let v = n;
  let i = 0;
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024;
    i++;
  }
  return `${i === 0 ? v : v.toFixed(1)} ${units[i]}`;
}
