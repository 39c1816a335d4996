// training.precision: a contract field (fp32 | bf16) the daemon checks against its host at the
// RPC, so a bf16 request on a CPU without AVX512-BF16/AMX is refused before anything is queued.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { status } from '@grpc/grpc-js';
import type { Run } from '../../gen/ts/pretext/v1/run.js';
import { probeNative } from '../../server/shared/backends/native-addon.js';
import { cpuinfoHasBf16, precisionUnavailable } from '../../server/shared/backends/precision.js';
import { startTestDaemon } from '../helpers/daemon.js';

const ZEN4 = 'processor\t: 0\nflags\t\t: fpu sse2 avx2 avx512f avx512_bf16 avx512_vnni\n';
const ZEN3 = 'processor\t: 0\nflags\t\t: fpu sse2 avx2 fma\n';
const SPR = 'flags\t\t: avx512f amx_tile amx_bf16 amx_int8\n';

test('cpuinfo flags: AVX512-BF16 or AMX-BF16 give bf16, AVX2 alone does not', () => {
  assert.equal(cpuinfoHasBf16(ZEN4), true);
  assert.equal(cpuinfoHasBf16(SPR), true);
  assert.equal(cpuinfoHasBf16(ZEN3), false);
  assert.equal(cpuinfoHasBf16(''), false);
});

test('precisionUnavailable: fp32 everywhere; bf16 only on native with the CPU for it', () => {
  assert.equal(precisionUnavailable('fp32', 'cpu', ZEN3), undefined);
  assert.match(
    precisionUnavailable('bf16', 'wasm', ZEN4) ?? '',
    /needs the native backend; this pretextd runs "wasm"/,
  );
  assert.match(precisionUnavailable('bf16', 'native', ZEN3) ?? '', /neither: use precision fp32/);
  if (probeNative()[0]) assert.equal(precisionUnavailable('bf16', 'auto', ZEN4), undefined);
});

test('StartPretext: an unknown precision is INVALID_ARGUMENT; bf16 on this host is refused or accepted as its CPU says', async () => {
  const d = await startTestDaemon({ backend: 'auto' });
  try {
    const config = (precision: string) => ({
      method: 'rotation',
      architecture: 'small_conv_8',
      unlabeledLimit: 200,
      training: { epochs: 1, precision },
    });
    await assert.rejects(d.call('startPretext', { config: config('fp16'), validateOnly: true }), {
      code: status.INVALID_ARGUMENT,
      details: /config.training.precision: "fp16" is unknown; use one of: fp32, bf16/,
    });
    const fp32 = await d.call<{ run: Run }>('startPretext', { config: config(''), validateOnly: true });
    assert.equal(fp32.run.config?.$case === 'pretext' && fp32.run.config.pretext.training?.precision, 'fp32');
    const hostHasBf16 = probeNative()[0] && cpuinfoHasBf16(readFileSync('/proc/cpuinfo', 'utf8'));
    const bf16 = d.call<{ run: Run }>('startPretext', { config: config('bf16'), validateOnly: true });
    if (hostHasBf16) {
      const { run } = await bf16;
      assert.equal(run.config?.$case === 'pretext' && run.config.pretext.training?.precision, 'bf16');
    } else {
      await assert.rejects(bf16, {
        code: status.FAILED_PRECONDITION,
        details: /config.training.precision: precision bf16 needs/,
      });
      // A study asking for it is refused the same way, and creates nothing.
      await assert.rejects(
        d.call('startStudy', { config: { preset: 'demo', pretext: { training: { precision: 'bf16' } } } }),
        { code: status.FAILED_PRECONDITION, details: /precision bf16 needs/ },
      );
      assert.equal((await d.call<{ runs: Run[] }>('listRuns', {})).runs.length, 0);
    }
  } finally {
    await d.stop();
  }
});
