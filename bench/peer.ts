// The PyTorch peer (../shared/peers/pytorch_resnet20_bench.py, Debian's python3-torch) on the
// same cores, for the pretext/PyTorch ratios.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export interface PeerResult {
  train_img_s: number | null;
  infer_img_s: number | null;
  note: string;
}

const PYTHON = '/usr/bin/python3';

export function peerScript(): string {
  return (
    process.env.PRETEXT_PEER_SCRIPT ??
    path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../shared/peers/pytorch_resnet20_bench.py')
  );
}

export function runPeer(quick: boolean): PeerResult {
  const script = peerScript();
  if (!fs.existsSync(script))
    return { train_img_s: null, infer_img_s: null, note: `peer script absent (${script})` };
  const probe = spawnSync(PYTHON, ['-c', 'import torch'], { encoding: 'utf8' });
  if (probe.status !== 0) {
    return {
      train_img_s: null,
      infer_img_s: null,
      note: 'PyTorch peer skipped: python3-torch is not installed (apt-get install -y python3-torch)',
    };
  }
  const steps = quick
    ? ['--train-steps', '6', '--infer-steps', '6', '--warmup', '2', '--wait-idle', '0', '--max-time', '30']
    : [
        '--train-steps',
        '30',
        '--infer-steps',
        '30',
        '--warmup',
        '5',
        '--wait-idle',
        '10',
        '--max-time',
        '120',
      ];
  const r = spawnSync(PYTHON, [script, '--configs', 'train:eager_cl,infer:eager_cl', ...steps], {
    encoding: 'utf8',
    timeout: quick ? 150_000 : 900_000,
  });
  const last = r.stdout?.trim().split('\n').pop() ?? '';
  const train = /train_img_s=([\d.]+)/.exec(last);
  const infer = /infer_img_s=([\d.]+)/.exec(last);
  if (!train || !infer) {
    return {
      train_img_s: null,
      infer_img_s: null,
      note: `peer failed (rc ${r.status}): ${(r.stderr ?? '').slice(-300)}`,
    };
  }
  return { train_img_s: Number(train[1]), infer_img_s: Number(infer[1]), note: last };
}
