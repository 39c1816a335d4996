// The PyTorch peer (../shared/peers/pytorch_resnet20_bench.py, Debian's python3-torch) on the
// same cores, for the pretext/PyTorch ratios. Run once per round of the interleaved bench.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export interface PeerResult {
  train_img_s: number | null;
  infer_img_s: number | null;
  /** Peak RSS of the training child (MiB), when the peer reports it. */
  train_peak_rss_mb?: number | null;
  note: string;
}

export const PYTHON = '/usr/bin/python3';

export function peerScript(): string {
  return (
    process.env.PRETEXT_PEER_SCRIPT ??
    path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../shared/peers/pytorch_resnet20_bench.py')
  );
}

/** Why the peer cannot run here, or undefined when it can. */
export function peerMissing(script = peerScript()): string | undefined {
  if (!fs.existsSync(script)) return `peer script absent (${script})`;
  const probe = spawnSync(PYTHON, ['-c', 'import torch'], { encoding: 'utf8' });
  if (probe.status !== 0)
    return 'PyTorch peer skipped: python3-torch is not installed (apt-get install -y python3-torch)';
  return undefined;
}

export interface PeerSteps {
  warmup: number;
  trainSteps: number;
  inferSteps: number;
  /** Upper bound of timed seconds per configuration. */
  maxTime: number;
}

/** One peer measurement: ResNet20 train (batch 128) and inference (batch 256), eager channels-last. */
export function runPeer(steps: PeerSteps): PeerResult {
  const missing = peerMissing();
  if (missing) return { train_img_s: null, infer_img_s: null, note: missing };
  const r = spawnSync(
    PYTHON,
    [
      peerScript(),
      '--configs',
      'train:eager_cl,infer:eager_cl',
      '--train-steps',
      String(steps.trainSteps),
      '--infer-steps',
      String(steps.inferSteps),
      '--warmup',
      String(steps.warmup),
      // No waiting for an idle machine and no "clean step" selection: the interleaving is what
      // makes the two sides comparable, and both sides time every step.
      '--wait-idle',
      '0',
      '--min-clean',
      '100000',
      '--max-time',
      String(steps.maxTime),
    ],
    { encoding: 'utf8', timeout: 600_000 },
  );
  const last = r.stdout?.trim().split('\n').pop() ?? '';
  const train = /train_img_s=([\d.]+)/.exec(last);
  const infer = /infer_img_s=([\d.]+)/.exec(last);
  const rss = /peak_rss_train_mib=([\d.]+)/.exec(last);
  if (!train || !infer) {
    return {
      train_img_s: null,
      infer_img_s: null,
      note: `peer failed (rc ${r.status}): ${(r.stderr ?? '').slice(-300)}`,
    };
  }
  return {
    train_img_s: Number(train[1]),
    infer_img_s: Number(infer[1]),
    train_peak_rss_mb: rss ? Number(rss[1]) : null,
    note: last,
  };
}
