#!/usr/bin/env python3
"""Embeddings out of pretextd into numpy: a kNN classifier on a run's backbone features, and the
exported ONNX model run by onnxruntime where it is installed.

    python3 examples/embeddings_knn.py RUN_ID [--bank-limit 2000] [--test-limit 500] [--k 20]

Embeds the first --bank-limit images of the train split (the labelled bank) and the first
--test-limit test images, classifies each test image by a weighted vote of its k nearest bank
images (cosine similarity, weight exp(sim / 0.07), as the daemon's kNN monitor), and prints the
accuracy. Then exports the run as ONNX and, with onnxruntime, checks that its features equal the
daemon's on a few test images.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile

from _connect import add_connection_args, connect

from pretext_client import PretextError

TEMPERATURE = 0.07


def knn_predict(bank, bank_labels, queries, k: int, num_classes: int):
    import numpy as np

    def unit(x):
        return x / np.maximum(np.linalg.norm(x, axis=1, keepdims=True), 1e-6)

    b, q = unit(bank.astype(np.float64)), unit(queries.astype(np.float64))
    k = min(k, len(b))
    predicted = np.empty(len(q), dtype=np.int64)
    for start in range(0, len(q), 512):
        sims = q[start:start + 512] @ b.T
        top = np.argpartition(-sims, k - 1, axis=1)[:, :k]
        for i, row in enumerate(top):
            votes = np.zeros(num_classes)
            np.add.at(votes, bank_labels[row], np.exp(sims[i, row] / TEMPERATURE))
            predicted[start + i] = int(np.argmax(votes))  # ties: the lower class index
    return predicted


def png_bytes(pixels) -> bytes:
    """An RGB uint8 (h, w, 3) array as PNG bytes (stdlib only: zlib + struct)."""
    import struct
    import zlib

    h, w, _ = pixels.shape
    raw = b"".join(b"\x00" + pixels[y].tobytes() for y in range(h))

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    header = struct.pack(">IIBBBBB", w, h, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b"")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    add_connection_args(parser)
    parser.add_argument("run_id")
    parser.add_argument("--bank-limit", type=int, default=2000)
    parser.add_argument("--test-limit", type=int, default=500)
    parser.add_argument("--k", type=int, default=20)
    args = parser.parse_args()
    try:
        import numpy as np
    except ImportError:
        print("this example needs numpy (apt-get install python3-numpy)", file=sys.stderr)
        return 2
    try:
        with connect(args) as c:
            bank = c.embed(args.run_id, split="train", limit=args.bank_limit, with_labels=True)
            test = c.embed(args.run_id, split="test", limit=args.test_limit, with_labels=True)
            classes = len(bank.class_names)
            pred = knn_predict(bank.embeddings, bank.labels, test.embeddings, args.k, classes)
            acc = float(np.mean(pred == test.labels))
            print(f"kNN (k={args.k}) on {len(test.labels)} test images, bank of {len(bank.labels)}: "
                  f"accuracy {acc * 100:.2f}%")
            try:
                import onnxruntime as ort
            except ImportError:
                print("onnxruntime is not installed: skipping the ONNX check")
                return 0
            with tempfile.TemporaryDirectory() as tmp:
                exported = c.export(args.run_id, os.path.join(tmp, "model.onnx"))
                meta = exported.metadata
                h, w, _ = meta["input_shape"]
                mean = np.asarray(meta["normalization"]["mean"], dtype=np.float32).reshape(h, w, 3)
                # The same 8 random images through the daemon (as PNG) and through onnxruntime.
                rng = np.random.default_rng(0)
                pixels = rng.integers(0, 256, size=(8, h, w, 3), dtype=np.uint8)
                daemon = c.embed(args.run_id, images=[png_bytes(p) for p in pixels])
                session = ort.InferenceSession(exported.path, providers=["CPUExecutionProvider"])
                x = (pixels.astype(np.float32) / 255.0 - mean).astype(np.float32)
                features = session.run(["features"], {meta["input_name"]: x})[0]
                diff = float(np.max(np.abs(features - daemon)))
                print(f"ONNX (onnxruntime) vs daemon features on 8 images: max |diff| {diff:.2e}")
                if diff > 1e-4:
                    return 1
    except PretextError as err:
        print(f"error: {err}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
