// Whether this host can run a precision, without loading tfjs or the addon: the daemon refuses
// a bf16 request it could only fail later, the worker asks the addon itself when it starts.
import fs from 'node:fs';
import { probeNative } from './native-addon.js';

/** CPU flags that give oneDNN bf16 convolutions (AVX512-BF16 on Zen 4 / Cooper Lake, AMX on Sapphire Rapids). */
const BF16_FLAGS = ['avx512_bf16', 'amx_bf16'];

/** Whether /proc/cpuinfo's text lists a flag oneDNN's bf16 convolutions need. */
export function cpuinfoHasBf16(cpuinfo: string): boolean {
  const flags = new Set(
    cpuinfo
      .split('\n')
      .filter((l) => /^flags\s*:/.test(l))
      .flatMap((l) =>
        l
          .slice(l.indexOf(':') + 1)
          .trim()
          .split(/\s+/),
      ),
  );
  return BF16_FLAGS.some((f) => flags.has(f));
}

function readCpuinfo(): string {
  try {
    return fs.readFileSync('/proc/cpuinfo', 'utf8');
  } catch {
    return '';
  }
}

/**
 * Why a run asking for `precision` cannot run on this host with the daemon's `backend`, or
 * undefined when it can. fp32 runs everywhere.
 */
export function precisionUnavailable(
  precision: string,
  backend: string,
  cpuinfo = readCpuinfo(),
): string | undefined {
  if (precision !== 'bf16') return undefined;
  if (backend !== 'auto' && backend !== 'native')
    return `precision bf16 needs the native backend; this pretextd runs "${backend}": use precision fp32`;
  const [native, reason] = probeNative();
  if (!native) return `precision bf16 needs the native backend, which is unavailable here (${reason})`;
  if (!cpuinfoHasBf16(cpuinfo))
    return "precision bf16 needs a CPU with AVX512-BF16 or AMX, and this host's has neither: use precision fp32";
  return undefined;
}
