"""Models out through the Python client against a real pretextd: embeddings as numpy whose kNN
accuracy equals the daemon's kNN monitor (within 1 point), an ONNX export with its metadata,
predictions from a downstream run, and the errors of bad input."""

from __future__ import annotations

import importlib.util
import os
import subprocess
import sys
import tempfile
import unittest
from typing import Optional

import grpc

from pretext_client import Client, InvalidArgumentError, NotFoundError, PretextError, RunState, TrainingOptions

from .daemon import MAIN, Daemon

EXAMPLES = os.path.join(os.path.dirname(__file__), "..", "examples")
RUN_TIMEOUT = float(os.environ.get("PRETEXT_TEST_RUN_TIMEOUT", "300"))

try:
    import numpy as np
except ImportError:  # pragma: no cover - numpy is in CI's apt line
    np = None  # type: ignore[assignment]

DAEMON: Optional[Daemon] = None
RUNS: dict = {}


def load_example():
    spec = importlib.util.spec_from_file_location("embeddings_knn", os.path.join(EXAMPLES, "embeddings_knn.py"))
    assert spec and spec.loader
    sys.path.insert(0, EXAMPLES)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def setUpModule() -> None:
    global DAEMON
    if np is None:
        raise unittest.SkipTest("numpy is not installed (apt-get install python3-numpy)")
    if not os.path.exists(MAIN):
        raise unittest.SkipTest(f"the daemon is not in this tree ({MAIN} missing)")
    DAEMON = Daemon().start()
    with client() as c:
        # SimCLR on 2,000 images for a few steps; the kNN monitor's held-out queries are kept to
        # 10 images (validation_limit), so its bank is all but 10 of the 2,000 labelled images.
        pre = c.start_pretext(
            method="simclr", dataset="cifar10", unlabeled_limit=2000, architecture="small_conv_32",
            training=TrainingOptions(epochs=1, batch_size=64, max_steps_per_epoch=8, validation_limit=10, seed=5),
        )
        down = c.start_downstream(
            dataset="cifar10", architecture="small_conv_16", n_labels=500, test_limit=100,
            training=TrainingOptions(epochs=1, batch_size=32, max_steps_per_epoch=3, validation_limit=100, seed=3),
        )
        RUNS["pretext"] = c.wait(pre.id, timeout=RUN_TIMEOUT)
        RUNS["downstream"] = c.wait(down.id, timeout=RUN_TIMEOUT)


def tearDownModule() -> None:
    if DAEMON is not None:
        DAEMON.stop()
        DAEMON.cleanup()


def client() -> Client:
    assert DAEMON is not None
    return Client(DAEMON.address, timeout=60)


def succeeded(test: unittest.TestCase, key: str):
    run = RUNS[key]
    if run.state != RunState.SUCCEEDED:
        test.fail(f"{key} run {run.id} ended {run.state}: {run.error}\n{DAEMON.stderr_tail() if DAEMON else ''}")
    return run


class EmbedTest(unittest.TestCase):
    def test_knn_on_embeddings_equals_the_daemon_monitor(self) -> None:
        run = succeeded(self, "pretext")
        example = load_example()
        with client() as c:
            daemon_acc = c.evaluate(run.id, split="test", limit=500, wait=True, timeout=RUN_TIMEOUT).result.accuracy
            bank = c.embed(run.id, split="train", limit=2000, with_labels=True)
            test = c.embed(run.id, split="test", limit=500, with_labels=True)
        self.assertEqual(bank.embeddings.dtype, np.float32)
        self.assertEqual(bank.embeddings.shape, (2000, 32))
        self.assertEqual(test.embeddings.shape, (500, 32))
        self.assertEqual(list(test.indices[:3]), [0, 1, 2])
        self.assertEqual(len(bank.class_names), 10)
        k = run.config.contrastive.knn_k
        pred = example.knn_predict(bank.embeddings, bank.labels, test.embeddings, k, 10)
        ours = float(np.mean(pred == test.labels))
        print(f"\nkNN accuracy: numpy on embeddings {ours:.4f}, daemon monitor {daemon_acc:.4f}", file=sys.stderr)
        self.assertGreater(ours, 0.1)
        self.assertLessEqual(abs(ours - daemon_acc), 0.01)

    def test_example_script(self) -> None:
        run = succeeded(self, "pretext")
        out = subprocess.run(
            [sys.executable, os.path.join(EXAMPLES, "embeddings_knn.py"), "--address", DAEMON.address,
             run.id, "--bank-limit", "500", "--test-limit", "100"],
            capture_output=True, text=True, timeout=RUN_TIMEOUT,
        )
        self.assertEqual(out.returncode, 0, out.stdout + out.stderr)
        self.assertRegex(out.stdout, r"kNN \(k=20\) on 100 test images, bank of 500: accuracy \d+\.\d\d%")

    def test_own_images_and_bad_input(self) -> None:
        run = succeeded(self, "pretext")
        example = load_example()
        pixels = np.random.default_rng(1).integers(0, 256, size=(3, 32, 32, 3), dtype=np.uint8)
        with client() as c:
            rows = c.embed(run.id, images=[example.png_bytes(p) for p in pixels], with_labels=True)
            self.assertEqual(rows.embeddings.shape, (3, 32))
            self.assertEqual(list(rows.labels), [-1, -1, -1])
            with self.assertRaises(InvalidArgumentError) as cm:
                c.embed(run.id, images=[b"GIF89a not supported"])
            self.assertEqual(cm.exception.code, grpc.StatusCode.INVALID_ARGUMENT)
            with self.assertRaises(PretextError) as cm2:
                c.embed(run.id, images=[example.png_bytes(pixels[0])] * 257)
            self.assertEqual(cm2.exception.code, grpc.StatusCode.RESOURCE_EXHAUSTED)
            with self.assertRaises(InvalidArgumentError) as cm3:
                c.predict(run.id, [example.png_bytes(pixels[0])])
            self.assertEqual(cm3.exception.code, grpc.StatusCode.FAILED_PRECONDITION)
            with self.assertRaises(NotFoundError):
                c.embed("r-missing", split="test")


class ExportTest(unittest.TestCase):
    def test_onnx_file_and_metadata(self) -> None:
        run = succeeded(self, "pretext")
        with client() as c, tempfile.TemporaryDirectory() as tmp:
            path = os.path.join(tmp, "model.onnx")
            res = c.export(run.id, path)
            self.assertEqual(res.path, path)
            self.assertTrue(os.path.getsize(path) > 1000)
            self.assertEqual(res.metadata["run_id"], run.id)
            self.assertEqual(res.metadata["method"], "simclr")
            self.assertEqual(res.metadata["input_shape"], [32, 32, 3])
            self.assertEqual([o["name"] for o in res.metadata["outputs"]], ["features"])
            self.assertEqual(res.metadata["class_names"][0], "airplane")  # the dataset's, to label embeddings
            self.assertEqual(len(res.sha256), 64)
            self.assertFalse(os.path.exists(path + ".tar"))
            try:
                import onnx  # Debian's python3-onnx: an independent check of the file
            except ImportError:
                onnx = None
            if onnx is not None:
                model = onnx.load(path)
                onnx.checker.check_model(model)
                self.assertGreaterEqual(model.opset_import[0].version, 13)
            tfjs = c.export(run.id, os.path.join(tmp, "web"), format="tfjs")
            self.assertTrue(os.path.exists(os.path.join(tmp, "web", "model.json")))
            self.assertEqual(tfjs.files, ["model.json", "group1-shard1of1.bin", "metadata.json"])
            with self.assertRaises(InvalidArgumentError):
                c.export(run.id, os.path.join(tmp, "x"), format="keras")


class PredictTest(unittest.TestCase):
    def test_top_k(self) -> None:
        run = succeeded(self, "downstream")
        example = load_example()
        pixels = np.random.default_rng(2).integers(0, 256, size=(2, 48, 40, 3), dtype=np.uint8)
        with client() as c:
            preds = c.predict(run.id, [example.png_bytes(p) for p in pixels], top_k=3)
        self.assertEqual(len(preds), 2)
        for p in preds:
            self.assertEqual(len(p.top), 3)
            self.assertTrue(p.label)
            probs = [s.probability for s in p.top]
            self.assertEqual(probs, sorted(probs, reverse=True))
