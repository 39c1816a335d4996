#!/usr/bin/python3
"""The ResNet20 PyTorch peer's training step under torch.autocast("cpu", dtype=torch.bfloat16):
the peer against which pretext's bf16 convolutions are compared. The network is the shared peer
script's (../shared/peers/pytorch_resnet20_bench.py, or PRETEXT_PEER_SCRIPT), Adam, batch 128,
channels-last. Prints one line: "train_img_s=... peak_rss_mib=... step_ms=[...]".
Usage: /usr/bin/python3 bench/pytorch_resnet20_autocast.py [--steps 10] [--warmup 2] [--threads 2]
"""
import argparse
import importlib.util
import os
import resource
import time


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--steps", type=int, default=10)
    ap.add_argument("--warmup", type=int, default=2)
    ap.add_argument("--threads", type=int, default=2)
    args = ap.parse_args()
    here = os.path.dirname(os.path.abspath(__file__))
    script = os.environ.get("PRETEXT_PEER_SCRIPT") or os.path.join(here, "../../shared/peers/pytorch_resnet20_bench.py")
    spec = importlib.util.spec_from_file_location("peer", script)
    peer = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(peer)

    import torch

    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    model = peer.build_model(torch).to(memory_format=torch.channels_last)
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    loss_fn = torch.nn.CrossEntropyLoss()
    g = torch.Generator().manual_seed(0)
    xs = [torch.randn(128, 3, 32, 32, generator=g).contiguous(memory_format=torch.channels_last) for _ in range(2)]
    ys = [torch.randint(0, 4, (128,), generator=g) for _ in range(2)]

    def step(i):
        opt.zero_grad(set_to_none=True)
        with torch.autocast("cpu", dtype=torch.bfloat16):
            out = model(xs[i % 2])
        loss = loss_fn(out.float(), ys[i % 2])
        loss.backward()
        opt.step()

    for i in range(args.warmup):
        step(i)
    ms = []
    for i in range(args.steps):
        t0 = time.perf_counter()
        step(i)
        ms.append((time.perf_counter() - t0) * 1000)
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0
    print(f"train_img_s={128 * len(ms) * 1000 / sum(ms):.1f} peak_rss_mib={rss:.0f} step_ms={[round(m) for m in ms]} "
          f"threads={args.threads} torch={torch.__version__}")


if __name__ == "__main__":
    main()
