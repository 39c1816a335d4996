"""Bring your own images, end to end: real CIFAR-10 test images written as PNG and JPEG files
into class folders (plus corrupt and empty files), uploaded with the Python client from another
directory, a small study run on them, and its table read back. Also: an upload cut off midway
resumes, a duplicate name is ALREADY_EXISTS, a budget a class cannot supply is refused."""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
import unittest

import grpc

from pretext_client import Client, InvalidArgumentError, PretextError, RunState
from tests.daemon import REPO_ROOT, Daemon

RUN_TIMEOUT = float(os.environ.get("PRETEXT_TEST_RUN_TIMEOUT", "300"))
HELPER = os.path.join(REPO_ROOT, "test", "helpers", "write-image-folder.ts")


def write_folder(folder: str, count: int, jpeg_every: int) -> None:
    subprocess.run(["node", "--import", "tsx", HELPER, os.path.abspath(folder), str(count), str(jpeg_every)],
                   cwd=REPO_ROOT, check=True, timeout=120)


class DatasetMirrorTest(unittest.TestCase):
    def test_dataclasses_mirror_messages(self) -> None:
        import dataclasses

        from pretext_client import datasets
        from pretext_client._gen.pretext.v1 import datasets_pb2

        for cls, msg in [(datasets.Dataset, datasets_pb2.Dataset),
                         (datasets.SkippedFile, datasets_pb2.SkippedFile)]:
            self.assertEqual({f.name for f in msg.DESCRIPTOR.fields},
                             {f.name for f in dataclasses.fields(cls)})


class BringYourOwnImagesTest(unittest.TestCase):
    def setUp(self) -> None:
        self.tmp = tempfile.mkdtemp(prefix="pretext-byoi-")
        self.daemon = Daemon(extra_args=["--max-upload-bytes", "64MiB"]).start()
        self.cwd = os.getcwd()
        # The client works from its own directory; the daemon has no import root there.
        self.laptop = os.path.join(self.tmp, "laptop")
        os.makedirs(self.laptop)
        os.chdir(self.laptop)

    def tearDown(self) -> None:
        os.chdir(self.cwd)
        self.daemon.stop()
        self.daemon.cleanup()
        shutil.rmtree(self.tmp, ignore_errors=True)

    def test_folder_to_study_table(self) -> None:
        write_folder("photos", 200, 2)  # every second image a JPEG
        with open(os.path.join("photos", "labeled", "cat", "broken.jpg"), "wb") as f:
            f.write(b"\xff\xd8\xff\xe0 this is not a jpeg")
        open(os.path.join("photos", "labeled", "dog", "empty.png"), "wb").close()
        with open(os.path.join("photos", "labeled", "frog", "notes.txt"), "w") as f:
            f.write("not an image")
        with Client(self.daemon.address, timeout=60) as c:
            # Cut off midway, then resumed from what the daemon holds.
            with self.assertRaises(PretextError):
                c.upload_dataset("my-photos", "./photos", chunk_bytes=64 * 1024, _stop_after=256 * 1024)
            ds = c.upload_dataset("my-photos", "./photos", chunk_bytes=64 * 1024)
            self.assertEqual(ds.name, "my-photos")
            self.assertEqual(len(ds.class_names), 10)
            self.assertEqual(sum(ds.train_per_class) + sum(ds.test_per_class), 200)
            self.assertTrue(ds.test_carved)
            self.assertEqual(ds.skipped_count, 3)
            skipped = {s.path for s in c.get_dataset("my-photos").skipped}
            self.assertEqual(skipped, {"labeled/cat/broken.jpg", "labeled/dog/empty.png",
                                       "labeled/frog/notes.txt"})
            self.assertEqual([d.name for d in c.datasets()], ["my-photos"])
            with self.assertRaises(PretextError) as dup:
                c.upload_dataset("my-photos", "./photos")
            self.assertEqual(dup.exception.code, grpc.StatusCode.ALREADY_EXISTS)

            smallest = min(ds.train_per_class)
            with self.assertRaises(InvalidArgumentError) as too_big:
                c.start_study(pretext_run_id="", label_budgets=[10 * (smallest + 1)], folds=1,
                              arms=["sl"], pretext={"method": "rotation", "dataset": "my-photos"},
                              validate_only=True)
            self.assertIn("training images", str(too_big.exception))

            pre = c.start_pretext(method="rotation", dataset="my-photos", architecture="small_conv_16",
                                  training={"epochs": 1, "batch_size": 32, "seed": 3})
            pre = c.wait(pre.id, timeout=RUN_TIMEOUT)
            self.assertEqual(pre.state, RunState.SUCCEEDED, pre.error)
            study = c.start_study(
                pretext_run_id=pre.id, label_budgets=[50], folds=1, arms=["sl", "ssl_fine_tune"],
                downstream={"training": {"epochs": 1, "batch_size": 16}}, name="my photos",
            )
            done = c.wait_study(study.id, timeout=RUN_TIMEOUT * 2, poll=1.0)
            self.assertEqual(done.state.value, "SUCCEEDED", done.error)
            table = {(cell.n_labels, cell.arm.value): cell.test_accuracy_mean for cell in done.cells}
            self.assertEqual(set(table), {(50, "SL"), (50, "SSL_FINE_TUNE")})
            for acc in table.values():
                self.assertTrue(0.0 <= acc <= 1.0)
            self.assertEqual(c.get(done.cells[0].run_ids[0]).state, RunState.SUCCEEDED)
            # Refused while used? Nothing runs now: deleting works and frees the name.
            c.delete_dataset("my-photos")
            self.assertEqual(c.datasets(), [])


if __name__ == "__main__":
    unittest.main()
