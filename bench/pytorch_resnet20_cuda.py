#!/usr/bin/env python3
"""The GPU check's ceiling: pretext's ResNet20 v1 (Keras layout: 3x3 stem, 3 stages x 3 blocks
of 16/32/64 filters, 1x1 projection shortcuts without BN, 8x8 average pool, dense 10) under
PyTorch, trained with Adam (batch 128 by default) and run for inference (batch 256), on CUDA
(channels-last, cuDNN autotuning). `--device cpu` runs the same code on the CPU (the GPU
check's dry run on a host without a GPU). Prints one JSON line; exit 0 even when PyTorch or
CUDA is absent (the line then says why).
"""
import argparse
import json
import sys
import time


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--device", default="cuda")
    ap.add_argument("--train-batch", type=int, default=128)
    ap.add_argument("--infer-batch", type=int, default=256)
    ap.add_argument("--warmup", type=int, default=5)
    ap.add_argument("--train-steps", type=int, default=30)
    ap.add_argument("--infer-steps", type=int, default=30)
    a = ap.parse_args()
    try:
        import torch
        from torch import nn
    except ImportError as e:
        print(json.dumps({"available": False, "reason": f"PyTorch is not installed ({e})"}))
        return
    if a.device.startswith("cuda") and not torch.cuda.is_available():
        print(json.dumps({"available": False, "reason": "PyTorch has no CUDA device", "torch": torch.__version__}))
        return
    dev = torch.device(a.device)
    torch.backends.cudnn.benchmark = True
    torch.manual_seed(1)

    def layer(cin, cout, k=3, stride=1, bn=True, act=True):
        mods = [nn.Conv2d(cin, cout, k, stride, padding=k // 2)]
        if bn:
            mods.append(nn.BatchNorm2d(cout, eps=1e-3, momentum=0.01))
        if act:
            mods.append(nn.ReLU())
        return nn.Sequential(*mods)

    class Block(nn.Module):
        def __init__(self, cin, cout, stride):
            super().__init__()
            self.a = layer(cin, cout, stride=stride)
            self.b = layer(cout, cout, act=False)
            self.short = layer(cin, cout, k=1, stride=stride, bn=False, act=False) if stride != 1 else None

        def forward(self, x):
            y = self.b(self.a(x))
            return torch.relu((self.short(x) if self.short is not None else x) + y)

    blocks = [layer(3, 16)]
    cin = 16
    for stage, cout in enumerate([16, 32, 64]):
        for i in range(3):
            blocks.append(Block(cin, cout, 2 if stage > 0 and i == 0 else 1))
            cin = cout
    model = nn.Sequential(*blocks, nn.AvgPool2d(8), nn.Flatten(), nn.Linear(64, 10)).to(dev)
    model = model.to(memory_format=torch.channels_last)
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    loss_fn = nn.CrossEntropyLoss()

    def sync():
        if dev.type == "cuda":
            torch.cuda.synchronize()

    x = torch.rand(a.train_batch, 3, 32, 32, device=dev).to(memory_format=torch.channels_last)
    y = torch.randint(0, 10, (a.train_batch,), device=dev)
    model.train()
    times = []
    for step in range(a.warmup + a.train_steps):
        sync()
        t0 = time.perf_counter()
        opt.zero_grad(set_to_none=True)
        loss = loss_fn(model(x), y)
        loss.backward()
        opt.step()
        loss.item()
        if step >= a.warmup:
            times.append(time.perf_counter() - t0)
    train = a.train_batch * len(times) / sum(times)

    xi = torch.rand(a.infer_batch, 3, 32, 32, device=dev).to(memory_format=torch.channels_last)
    model.eval()
    itimes = []
    with torch.no_grad():
        for step in range(a.warmup + a.infer_steps):
            sync()
            t0 = time.perf_counter()
            model(xi).float().cpu()
            if step >= a.warmup:
                itimes.append(time.perf_counter() - t0)
    infer = a.infer_batch * len(itimes) / sum(itimes)
    name = torch.cuda.get_device_name(dev) if dev.type == "cuda" else "cpu"
    print(
        json.dumps(
            {
                "available": True,
                "device": name,
                "torch": torch.__version__,
                "cuda": torch.version.cuda,
                "train_batch": a.train_batch,
                "infer_batch": a.infer_batch,
                "train_img_s": round(train, 1),
                "infer_img_s": round(infer, 1),
            }
        )
    )


if __name__ == "__main__":
    sys.exit(main())
