// The GPU check (scripts/gpu-check.sh runs it, with the Vulkan driver chosen): webgpu gradients
// against native, ResNet20 train and inference img/s at batch 128 and 256 on webgpu and on native
// (every core), PyTorch on CUDA as the ceiling where PyTorch is present, then one JSON summary.
// Each measurement runs in its own process with its own time limit; a failed one is recorded
// and the check goes on. `--software` is the dry run on lavapipe: tiny batches and step counts,
// and PyTorch on the CPU, to exercise every step on a host without a GPU.
//
//   gpu-check.ts [--software] [--out FILE]
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { probeBackends } from '../server/worker/backend/index.js';
import type { WorkerResult } from './backend-worker.js';

const args = process.argv.slice(2);
const software = args.includes('--software');
const outIndex = args.indexOf('--out');
const here = path.dirname(fileURLToPath(import.meta.url));
const out =
  outIndex >= 0 && args[outIndex + 1]
    ? path.resolve(args[outIndex + 1]!)
    : path.resolve(
        here,
        '..',
        'gpu-check-results',
        `gpu-check-${new Date().toISOString().replace(/[:.]/g, '-')}.json`,
      );

// On a GPU: ResNet20 at the batches the issue asks for. On lavapipe (~100× slower): the same
// code paths at sizes that finish in a few minutes on 2 cores.
const SIZES = software
  ? { batches: [8, 16], warmup: 1, train: 2, infer: 2, gradBatch: 4, stepTimeoutS: 240 }
  : { batches: [128, 256], warmup: 3, train: 20, infer: 20, gradBatch: 8, stepTimeoutS: 150 };

function log(message: string): void {
  process.stderr.write(`gpu-check: ${message}\n`);
}

/** Runs a child to completion; its last stdout line parsed as JSON, or the failure. */
function runJson(what: string, command: string, argv: string[], timeoutS: number): Record<string, unknown> {
  const t0 = Date.now();
  const r = spawnSync(command, argv, {
    encoding: 'utf8',
    timeout: timeoutS * 1000,
    cwd: path.resolve(here, '..'),
  });
  const seconds = Math.round((Date.now() - t0) / 100) / 10;
  const last = r.stdout?.trim().split('\n').pop() ?? '';
  try {
    const parsed = JSON.parse(last) as Record<string, unknown>;
    log(`${what}: done in ${seconds} s`);
    return { ...parsed, seconds };
  } catch {
    const why = r.error ? String(r.error.message) : `exit ${r.status ?? r.signal}`;
    log(`${what}: failed (${why})`);
    return { error: `${why}: ${(r.stderr ?? '').trim().slice(-600)}`, seconds };
  }
}

const tsx = ['--import', 'tsx'];
const summary: Record<string, unknown> = {
  kind: software ? 'dry run on software Vulkan' : 'GPU',
  started: new Date().toISOString(),
  host: os.hostname(),
  cpu: `${os.cpus().length} × ${os.cpus()[0]?.model ?? 'unknown'}`,
  node: process.version,
  vulkan_icd: process.env.VK_ICD_FILENAMES ?? '(system default)',
  nvidia_smi: nvidiaSmi(),
  backends: probeBackends(),
};

function nvidiaSmi(): string {
  const r = spawnSync(
    'nvidia-smi',
    ['--query-gpu=name,driver_version,memory.total', '--format=csv,noheader'],
    {
      encoding: 'utf8',
      timeout: 20_000,
    },
  );
  return r.status === 0 ? r.stdout.trim() : 'nvidia-smi not available';
}

const native = probeBackends().find((b) => b.name === 'native')?.available ? 'native' : 'wasm';
log(`gradients: webgpu against ${native} (ResNet20, batch ${SIZES.gradBatch})`);
summary.gradient_check = runJson(
  'gradients',
  process.execPath,
  [...tsx, path.join(here, 'gpu-gradcheck.ts'), native, String(SIZES.gradBatch)],
  SIZES.stepTimeoutS,
);

const throughput: Record<string, unknown>[] = [];
for (const backend of ['webgpu', native]) {
  for (const batch of SIZES.batches) {
    log(`throughput: ${backend}, ResNet20, train and infer at batch ${batch}`);
    throughput.push({
      backend,
      batch,
      ...runJson(
        `${backend} batch ${batch}`,
        process.execPath,
        [
          ...tsx,
          path.join(here, 'backend-worker.ts'),
          backend,
          String(SIZES.warmup),
          String(SIZES.train),
          String(SIZES.infer),
          String(batch),
          String(batch),
        ],
        SIZES.stepTimeoutS,
      ),
    });
  }
}
summary.throughput = throughput.map((t) => {
  const r = t as Partial<WorkerResult> & Record<string, unknown>;
  return r.error
    ? { backend: t.backend, batch: t.batch, error: r.error }
    : {
        backend: r.backend,
        detail: r.detail,
        threads: r.threads,
        batch: t.batch,
        train_img_s: r.train_img_s,
        infer_img_s: r.infer_img_s,
        train_img_s_best: r.train_img_s_best,
        infer_img_s_best: r.infer_img_s_best,
        peak_rss_mb: r.peak_rss_mb,
        loss_first: r.loss_first,
        loss_last: r.loss_last,
        seconds: r.seconds,
      };
});

const python = ['/usr/bin/python3', 'python3'].find(
  (p) => spawnSync(p, ['-c', 'import torch'], { encoding: 'utf8' }).status === 0,
);
if (!python) {
  summary.pytorch = { available: false, reason: 'PyTorch is not installed' };
  log('PyTorch: absent');
} else {
  const torch: Record<string, unknown>[] = [];
  for (const batch of SIZES.batches) {
    log(`PyTorch ${software ? 'CPU' : 'CUDA'}: batch ${batch}`);
    torch.push(
      runJson(
        `PyTorch batch ${batch}`,
        python,
        [
          path.join(here, 'pytorch_resnet20_cuda.py'),
          '--device',
          software ? 'cpu' : 'cuda',
          '--train-batch',
          String(batch),
          '--infer-batch',
          String(batch),
          '--warmup',
          String(SIZES.warmup),
          '--train-steps',
          String(SIZES.train),
          '--infer-steps',
          String(SIZES.infer),
        ],
        SIZES.stepTimeoutS,
      ),
    );
  }
  summary.pytorch = torch;
}

// webgpu against the ceiling and against native, per batch.
const rateOf = (backend: string, batch: number, key: 'train_img_s' | 'infer_img_s') =>
  (summary.throughput as Record<string, unknown>[]).find((t) => t.backend === backend && t.batch === batch)?.[
    key
  ] as number | undefined;
summary.ratios = SIZES.batches.map((batch) => {
  const torch = Array.isArray(summary.pytorch)
    ? (summary.pytorch as Record<string, unknown>[]).find((t) => t.train_batch === batch)
    : undefined;
  const ratio = (a?: number, b?: unknown) =>
    a && typeof b === 'number' && b > 0 ? Math.round((a / b) * 1000) / 1000 : null;
  return {
    batch,
    webgpu_vs_native_train: ratio(
      rateOf('webgpu', batch, 'train_img_s'),
      rateOf(native, batch, 'train_img_s'),
    ),
    webgpu_vs_native_infer: ratio(
      rateOf('webgpu', batch, 'infer_img_s'),
      rateOf(native, batch, 'infer_img_s'),
    ),
    webgpu_vs_pytorch_train: ratio(rateOf('webgpu', batch, 'train_img_s'), torch?.train_img_s),
    webgpu_vs_pytorch_infer: ratio(rateOf('webgpu', batch, 'infer_img_s'), torch?.infer_img_s),
  };
});
summary.finished = new Date().toISOString();
const gradOk = (summary.gradient_check as { ok?: boolean }).ok === true;
const webgpuRan = (summary.throughput as Record<string, unknown>[]).some(
  (t) => t.backend === 'webgpu' && !t.error,
);
summary.ok = gradOk && webgpuRan;

fs.mkdirSync(path.dirname(out), { recursive: true });
fs.writeFileSync(out, `${JSON.stringify(summary, null, 2)}\n`);
log(`summary written to ${out}`);
console.log(JSON.stringify(summary));
process.exit(summary.ok ? 0 : 1);
