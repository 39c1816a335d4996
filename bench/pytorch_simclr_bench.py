#!/usr/bin/python3
"""PyTorch peer of bench/contrastive-worker.ts: SimCLR training speed on 96x96 images.

The reference's STL-10 encoder (four stride-2 Conv(128, 3x3, valid, ReLU) -> Flatten ->
Dense(128, ReLU)), the projection MLP (128 -> ReLU -> 128), NT-Xent at temperature 0.1, Adam,
two views of `--batch` images per step, channels-last, on `--threads` cores. Prints one line:
"train_img_s=... peak_rss_mib=... step_ms=[...]" (images, not views, per second).
Usage: /usr/bin/python3 bench/pytorch_simclr_bench.py [--batch 256] [--steps 3] [--warmup 1]
"""
import argparse
import resource
import time


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--batch", type=int, default=256)
    ap.add_argument("--steps", type=int, default=3)
    ap.add_argument("--warmup", type=int, default=1)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--bf16", action="store_true", help="torch.autocast('cpu', dtype=torch.bfloat16)")
    args = ap.parse_args()

    import torch
    import torch.nn as nn
    import torch.nn.functional as F

    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    width = 128
    layers = []
    cin = 3
    for _ in range(4):
        layers += [nn.Conv2d(cin, width, 3, stride=2), nn.ReLU()]
        cin = width
    encoder = nn.Sequential(*layers, nn.Flatten(), nn.Linear(width * 5 * 5, width), nn.ReLU())
    projector = nn.Sequential(nn.Linear(width, width), nn.ReLU(), nn.Linear(width, width))
    model = nn.Sequential(encoder, projector).to(memory_format=torch.channels_last)
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)

    def nt_xent(za, zb, t=0.1):
        n = za.shape[0]
        z = F.normalize(torch.cat([za, zb]), dim=1)
        sim = z @ z.t() / t
        sim = sim - torch.eye(2 * n) * 1e9
        targets = torch.cat([torch.arange(n, 2 * n), torch.arange(0, n)])
        return F.cross_entropy(sim, targets)

    xa = torch.randn(args.batch, 3, 96, 96).contiguous(memory_format=torch.channels_last)
    xb = torch.randn(args.batch, 3, 96, 96).contiguous(memory_format=torch.channels_last)

    def step():
        opt.zero_grad(set_to_none=True)
        if args.bf16:
            with torch.autocast("cpu", dtype=torch.bfloat16):
                za, zb = model(xa), model(xb)
            loss = nt_xent(za.float(), zb.float())
        else:
            loss = nt_xent(model(xa), model(xb))
        loss.backward()
        opt.step()
        return float(loss)

    for _ in range(args.warmup):
        step()
    ms = []
    for _ in range(args.steps):
        t0 = time.perf_counter()
        step()
        ms.append((time.perf_counter() - t0) * 1000)
    img_s = args.batch * len(ms) * 1000 / sum(ms)
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0
    print(f"train_img_s={img_s:.2f} peak_rss_mib={rss:.0f} step_ms={[round(m) for m in ms]} "
          f"batch={args.batch} threads={args.threads} torch={torch.__version__}")


if __name__ == "__main__":
    main()
