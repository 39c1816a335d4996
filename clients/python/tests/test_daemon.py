"""pretext_client against a real pretextd started on port 0 (node --import tsx server/daemon/main.ts).

One daemon (with a token) serves the module; LifecycleTest starts its own. Training runs are
tiny (ResNet8, 256 images, 3 steps per epoch). Tests that need a run to succeed skip only when
the engine is genuinely absent (server/worker/engine/worker.ts missing and the run failed).
"""

from __future__ import annotations

import csv
import io
import os
import subprocess
import sys
import threading
import unittest
from typing import List, Optional

import grpc

from pretext_client import (
    AuthError,
    Client,
    DeadlineExceededError,
    InvalidArgumentError,
    NotFoundError,
    PretextError,
    Run,
    RunKind,
    RunState,
    TrainingOptions,
)

from .daemon import DATA_DIR, MAIN, REPO_ROOT, Daemon

TOKEN = "pytest-token-4f1c"
WORKER = os.path.join(REPO_ROOT, "server", "engine", "worker.ts")
EXAMPLES = os.path.join(os.path.dirname(__file__), "..", "examples")
RUN_TIMEOUT = float(os.environ.get("PRETEXT_TEST_RUN_TIMEOUT", "300"))

DAEMON: Optional[Daemon] = None


def setUpModule() -> None:
    global DAEMON
    if not os.path.exists(MAIN):
        raise unittest.SkipTest(f"the daemon is not in this tree ({MAIN} missing)")
    DAEMON = Daemon(token=TOKEN).start()


def tearDownModule() -> None:
    if DAEMON is not None:
        DAEMON.stop()
        DAEMON.cleanup()


def client(token: Optional[str] = TOKEN) -> Client:
    assert DAEMON is not None
    return Client(DAEMON.address, token=token, timeout=30)


def tiny_training(**over) -> TrainingOptions:
    t = dict(epochs=2, batch_size=32, max_steps_per_epoch=3, validation_limit=64, seed=7)
    t.update(over)
    return TrainingOptions(**t)


def tiny_pretext(c: Client, name: str = "", **training) -> Run:
    return c.start_pretext(
        method="rotation", dataset="cifar10", unlabeled_limit=256, depth=8,
        training=tiny_training(**training), name=name,
    )


_finished: dict = {}
_lock = threading.Lock()


def finished_pretext() -> Run:
    """The tiny pretext run of this module, waited for (shared by several tests)."""
    with _lock:
        if "error" in _finished:  # do not queue another run behind one that never ended
            raise AssertionError(f"the shared tiny pretext run did not end: {_finished['error']}")
        if "run" not in _finished:
            with client() as c:
                run = tiny_pretext(c, name="shared tiny rotation")
                try:
                    _finished["run"] = c.wait(run.id, timeout=RUN_TIMEOUT)
                except DeadlineExceededError as e:
                    events = [f"{ev.seq} {ev.kind}" for ev in c.stream(run.id, follow=False)]
                    _finished["error"] = f"{e}; its events: {events}"
                    raise AssertionError(_finished["error"]) from None
        return _finished["run"]


def engine_absent_reason(run: Run) -> Optional[str]:
    """Why a run could not succeed because the engine is not there, else None."""
    if run.state == RunState.FAILED and not os.path.exists(WORKER):
        first = (run.error.strip().splitlines() or [""])[0][:200]
        return f"engine absent ({os.path.relpath(WORKER, REPO_ROOT)} missing); run {run.id} failed: {first}"
    return None


def need_success(test: unittest.TestCase, run: Run) -> None:
    if run.state != RunState.SUCCEEDED:
        reason = engine_absent_reason(run)
        if reason:
            test.skipTest(reason)
        test.fail(f"run {run.id} ended {run.state}: {run.error}\n--- daemon stderr ---\n"
                  f"{DAEMON.stderr_tail() if DAEMON else ''}")


class ServerInfoTest(unittest.TestCase):
    def test_info(self) -> None:
        with client() as c:
            info = c.info()
        self.assertTrue(info.version)
        self.assertIn("rotation", info.pretext_methods)
        self.assertGreaterEqual(info.max_concurrent_runs, 1)
        self.assertTrue(info.backends)
        self.assertEqual(os.path.realpath(info.data_dir), os.path.realpath(DATA_DIR))
        cifar = {d.name: d for d in info.datasets}["cifar10"]
        self.assertTrue(cifar.present, cifar)
        self.assertGreater(info.started_at_unix_ms, 1_600_000_000_000)
        self.assertTrue(info.node_version.startswith("v"))


class AuthTest(unittest.TestCase):
    def test_missing_and_wrong_token(self) -> None:
        for token in (None, "wrong-token"):
            with self.subTest(token=token), client(token) as c:
                for call in (c.info, lambda: c.get("r-x"), c.runs, lambda: tiny_pretext(c)):
                    with self.assertRaises(AuthError) as cm:
                        call()
                    self.assertEqual(cm.exception.code, grpc.StatusCode.UNAUTHENTICATED)
                    self.assertIn("token", cm.exception.message)
                with self.assertRaises(AuthError):
                    list(c.stream(follow=False))

    def test_right_token(self) -> None:
        with client() as c:
            self.assertIsInstance(c.runs(), list)


class BadRequestTest(unittest.TestCase):
    def setUp(self) -> None:
        self.c = client()

    def tearDown(self) -> None:
        self.c.close()

    def assertCode(self, cm, code: grpc.StatusCode, text: str = "") -> None:
        self.assertEqual(cm.exception.code, code, cm.exception)
        if text:
            self.assertIn(text, cm.exception.message)

    def test_n_labels_not_multiple_of_classes(self) -> None:
        with self.assertRaises(InvalidArgumentError) as cm:
            self.c.start_downstream(n_labels=7, training={"epochs": 1})
        self.assertCode(cm, grpc.StatusCode.INVALID_ARGUMENT, "n_labels")

    def test_missing_epochs(self) -> None:
        with self.assertRaises(InvalidArgumentError) as cm:
            self.c.start_pretext(method="rotation")
        self.assertCode(cm, grpc.StatusCode.INVALID_ARGUMENT, "epochs")

    def test_unknown_method(self) -> None:
        with self.assertRaises(InvalidArgumentError) as cm:
            self.c.start_pretext(method="jigsaw", training={"epochs": 1})
        self.assertCode(cm, grpc.StatusCode.INVALID_ARGUMENT, "jigsaw")

    def test_unknown_run(self) -> None:
        for call in (self.c.get, self.c.cancel, self.c.resume,
                     lambda i: self.c.evaluate(i),
                     lambda i: self.c.start_downstream(pretext_run_id=i, n_labels=100, training={"epochs": 1}),
                     lambda i: list(self.c.stream(i, follow=False))):
            with self.assertRaises(NotFoundError) as cm:
                call("r-does-not-exist")
            self.assertCode(cm, grpc.StatusCode.NOT_FOUND, "r-does-not-exist")

    def test_bad_list_limit_and_run_id(self) -> None:
        with self.assertRaises(InvalidArgumentError):
            self.c.runs(limit=5000)
        with self.assertRaises(InvalidArgumentError):
            self.c.get("not a valid id!")


class RunTest(unittest.TestCase):
    """Start, get, list, stream, wait, resume on the shared tiny pretext run."""

    def test_start_get_list(self) -> None:
        with client() as c:
            run = tiny_pretext(c, name="start-get-list")
            self.assertTrue(run.id)
            self.assertEqual(run.kind, RunKind.PRETEXT)
            self.assertEqual(run.method, "rotation")
            self.assertEqual(run.name, "start-get-list")
            self.assertIn(run.state, (RunState.QUEUED, RunState.RUNNING))
            # defaults filled in by the daemon
            self.assertEqual(run.pretext.training.epochs, 2)
            self.assertEqual(run.pretext.training.batch_size, 32)
            self.assertEqual(run.pretext.training.seed, 7)
            self.assertEqual(run.pretext.depth, 8)
            self.assertEqual(run.dataset, "cifar10")
            got = c.get(run.id)
            self.assertEqual((got.id, got.kind, got.pretext), (run.id, run.kind, run.pretext))
            self.assertIn(run.id, [r.id for r in c.runs()])
            self.assertIn(run.id, [r.id for r in c.runs(kinds="pretext")])
            self.assertNotIn(run.id, [r.id for r in c.runs(kinds=[RunKind.DOWNSTREAM])])
            self.assertEqual(len(c.runs(limit=1)), 1)
            c.cancel(run.id)  # (this test needs no training)
            final = c.wait(run.id, timeout=RUN_TIMEOUT)
            self.assertTrue(final.done)
            self.assertIn(run.id, [r.id for r in c.runs(states=[final.state])])
            others = [s for s in RunState if s not in (final.state, RunState.UNSPECIFIED)]
            self.assertNotIn(run.id, [r.id for r in c.runs(states=others)])

    def test_wait_result(self) -> None:
        run = finished_pretext()
        self.assertTrue(run.done)
        self.assertGreater(run.finished_at_unix_ms, 0)
        if run.state == RunState.SUCCEEDED:
            self.assertIsNotNone(run.result)
            self.assertEqual(run.result.epochs_trained, 2)
            self.assertIn(run.result.best_epoch, (1, 2))
            self.assertTrue(any(a.name in ("best", "last") for a in run.artifacts))
        else:
            self.assertEqual(run.state, RunState.FAILED)
            self.assertTrue(run.error)
            need_success(self, run)

    def test_cancel_ended_run(self) -> None:
        run = finished_pretext()
        with client() as c:
            with self.assertRaises(PretextError) as cm:
                c.cancel(run.id)
            self.assertEqual(cm.exception.code, grpc.StatusCode.FAILED_PRECONDITION)
            self.assertIn("already ended", cm.exception.message)

    def test_resume(self) -> None:
        """A SUCCEEDED run cannot be resumed; a FAILED one can (QUEUED again, one more attempt).
        LifecycleTest resumes an INTERRUPTED run."""
        shared = finished_pretext()
        with client() as c:
            if shared.state == RunState.SUCCEEDED:
                with self.assertRaises(PretextError) as cm:
                    c.resume(shared.id)
                self.assertEqual(cm.exception.code, grpc.StatusCode.FAILED_PRECONDITION)
                self.assertIn("INTERRUPTED or FAILED", cm.exception.message)
                self.assertEqual(c.get(shared.id).state, RunState.SUCCEEDED)
                return
            run = c.wait(tiny_pretext(c, name="resume", epochs=1).id, timeout=RUN_TIMEOUT)
            self.assertEqual(run.state, RunState.FAILED, run.error)
            self.assertEqual(run.attempts, 1)
            resumed = c.resume(run.id)
            self.assertEqual(resumed.id, run.id)
            self.assertIn(resumed.state, (RunState.QUEUED, RunState.RUNNING, RunState.FAILED))
            again = c.wait(run.id, timeout=RUN_TIMEOUT)
            self.assertTrue(again.done)
            self.assertEqual(again.attempts, 2)
            states = [e.data.to_state for e in c.stream(run.id, follow=False, skip_steps=True)
                      if e.kind == "state"]
            self.assertEqual(states.count(RunState.RUNNING), 2, states)


class CancelTest(unittest.TestCase):
    def test_cancel_queued_run(self) -> None:
        """A downstream run waits QUEUED while its pretext run has not succeeded."""
        with client() as c:
            parent = tiny_pretext(c, name="cancel-parent", epochs=50, max_steps_per_epoch=50)
            child = c.start_downstream(
                pretext_run_id=parent.id, n_labels=100, training={"epochs": 1}, name="cancel-child"
            )
            self.assertEqual(child.parent_run_id, parent.id)
            self.assertEqual(child.state, RunState.QUEUED)
            try:
                cancelled = c.cancel(child.id)
                self.assertEqual(cancelled.state, RunState.CANCELLED)
                self.assertEqual(c.get(child.id).state, RunState.CANCELLED)
            except PretextError as e:
                # only if the parent failed at once and took the child down before the cancel
                p = c.get(parent.id)
                self.assertEqual(c.get(child.id).state, RunState.FAILED, e)
                need_success(self, p)
                raise
            finally:
                self._cancel(c, parent.id)

    def test_cancel_running_run(self) -> None:
        with client() as c:
            run = tiny_pretext(c, name="cancel-running", epochs=50, max_steps_per_epoch=50)
            first_step = None
            for ev in c.stream(run.id, timeout=RUN_TIMEOUT):
                if ev.kind == "step" or (ev.kind == "state" and ev.data.to_state.terminal):
                    first_step = ev
                    break
            now = c.get(run.id)
            if now.state != RunState.RUNNING:
                need_success(self, now)
                self.fail(f"run ended before it could be cancelled: {now.state}")
            self.assertEqual(first_step.kind, "step")
            after = c.cancel(run.id)
            self.assertIn(after.state, (RunState.RUNNING, RunState.CANCELLED))
            final = c.wait(run.id, timeout=60)
            self.assertEqual(final.state, RunState.CANCELLED)

    @staticmethod
    def _cancel(c: Client, run_id: str) -> None:
        try:
            c.cancel(run_id)
            c.wait(run_id, timeout=60)
        except PretextError:
            pass


class StreamTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls) -> None:
        cls.run_ = finished_pretext()
        cls.c = client()
        cls.history = list(cls.c.stream(cls.run_.id, from_seq=0, follow=False))

    @classmethod
    def tearDownClass(cls) -> None:
        cls.c.close()

    def seqs(self, events) -> List[int]:
        return [e.seq for e in events]

    def test_history(self) -> None:
        h = self.history
        self.assertGreaterEqual(len(h), 3)
        seqs = self.seqs(h)
        self.assertEqual(seqs, sorted(set(seqs)), "seqs strictly increasing")
        self.assertTrue(all(e.run_id == self.run_.id for e in h))
        self.assertEqual((h[0].kind, h[0].data.to_state), ("state", RunState.QUEUED))
        self.assertEqual(h[-1].kind, "state")
        self.assertEqual(h[-1].data.to_state, self.run_.state)
        self.assertEqual(h[-1].seq, self.run_.last_seq)
        self.assertTrue(all(e.time_unix_ms > 0 for e in h))
        if self.run_.state == RunState.SUCCEEDED:
            kinds = [e.kind for e in h]
            self.assertEqual(kinds.count("epoch"), 2)
            self.assertIn("step", kinds)
            self.assertIn("result", kinds)

    def test_follow_on_ended_run_ends(self) -> None:
        got = list(self.c.stream(self.run_.id, from_seq=0, follow=True, timeout=60))
        self.assertEqual(self.seqs(got), self.seqs(self.history))

    def test_replay_from_middle(self) -> None:
        seqs = self.seqs(self.history)
        k = len(seqs) // 2
        got = self.seqs(self.c.stream(self.run_.id, from_seq=seqs[k], follow=False))
        self.assertEqual(got, seqs[k:])
        self.assertEqual(got[0], seqs[k], "from_seq is the first seq delivered")
        got = self.seqs(self.c.stream(self.run_.id, from_seq=seqs[k] + 1, follow=False))
        self.assertEqual(got, seqs[k + 1 :])
        self.assertEqual(list(self.c.stream(self.run_.id, from_seq=seqs[-1] + 1, follow=False)), [])

    def test_skip_steps(self) -> None:
        got = list(self.c.stream(self.run_.id, follow=False, skip_steps=True))
        self.assertEqual(self.seqs(got), [e.seq for e in self.history if e.kind != "step"])

    def test_all_runs_history(self) -> None:
        info = self.c.info()
        events = list(self.c.stream(None, from_seq=0, follow=False))
        seqs = self.seqs(events)
        self.assertEqual(seqs, sorted(set(seqs)))
        self.assertLessEqual(seqs[-1], self.c.info().last_seq)
        self.assertTrue(set(self.seqs(self.history)) <= set(seqs))
        self.assertGreater(len({e.run_id for e in events}), 1 if len(self.c.runs()) > 1 else 0)
        mid = seqs[len(seqs) // 2]
        expected = [s for s in seqs if s >= mid]
        got = self.seqs(self.c.stream(None, from_seq=mid, follow=False))
        self.assertEqual(got[: len(expected)], expected)  # later runs may have added events
        self.assertGreaterEqual(info.last_seq, self.history[-1].seq)

    def test_live_follow_all_runs(self) -> None:
        start = self.c.info().last_seq + 1
        with self.c.stream(None, from_seq=start, timeout=120) as live:
            run = self.c.start_downstream(
                pretext_run_id="", n_labels=100, depth=8, training={"epochs": 1, "max_steps_per_epoch": 1},
                test_limit=50, name="live-follow",
            )
            try:
                got = []
                for ev in live:
                    got.append(ev)
                    if ev.run_id == run.id:
                        break
                self.assertGreaterEqual(got[0].seq, start)
                self.assertEqual(self.seqs(got), sorted(set(self.seqs(got))))
                self.assertEqual((got[-1].kind, got[-1].data.to_state), ("state", RunState.QUEUED))
                with self.c.stream(run.id, follow=False) as own:
                    self.assertEqual(next(own).seq, got[-1].seq)  # the run's first event
            finally:
                CancelTest._cancel(self.c, run.id)
        self.assertIsNotNone(live.last_seq)


class PipelineTest(unittest.TestCase):
    """Needs a working engine: SSL+SL downstream from the pretext run, Evaluate, examples."""

    def test_downstream_evaluate_and_csv(self) -> None:
        pre = finished_pretext()
        need_success(self, pre)
        with client() as c:
            ds = c.start_downstream(
                pretext_run_id=pre.id, n_labels=100, protocol="fine_tune",
                training={"epochs": 1, "max_steps_per_epoch": 2, "validation_limit": 64},
                test_limit=100, name="ssl+sl",
            )
            self.assertEqual(ds.kind, RunKind.DOWNSTREAM)
            self.assertEqual(ds.parent_run_id, pre.id)
            self.assertIn(ds.id, [r.id for r in c.runs(parent_run_id=pre.id)])
            ds = c.wait(ds.id, timeout=RUN_TIMEOUT, check=False)
            need_success(self, ds)
            self.assertEqual(ds.result.test.num_examples, 100)
            self.assertEqual(ds.result.test.num_classes, 10)
            self.assertTrue(0.0 <= ds.result.test.accuracy <= 1.0)
            self.assertEqual(sum(ds.result.test.confusion_matrix), 100)

            ev = c.evaluate(ds.id, split="test", limit=50, checkpoint="best", wait=True, timeout=RUN_TIMEOUT)
            self.assertEqual(ev.run.kind, RunKind.EVALUATE)
            self.assertEqual(ev.run.state, RunState.SUCCEEDED, ev.run.error)
            self.assertEqual(ev.run.parent_run_id, ds.id)
            self.assertIsNotNone(ev.result)
            self.assertEqual(ev.result.num_examples, 50)
            self.assertEqual(len(ev.result.confusion()), 10)

            queued = c.evaluate(pre.id, split="validation", limit=32)
            self.assertIn(queued.run.state, (RunState.QUEUED, RunState.RUNNING))
            self.assertIsNone(queued.result)
            done = c.wait(queued.run.id, timeout=RUN_TIMEOUT)
            self.assertEqual(done.state, RunState.SUCCEEDED, done.error)

        epochs = [e for e in client().stream(pre.id, follow=False) if e.kind == "epoch"]
        out = subprocess.run(
            [sys.executable, os.path.join(EXAMPLES, "export_metrics_csv.py"),
             "--address", DAEMON.address, "--token", TOKEN, pre.id],
            capture_output=True, text=True, timeout=60,
        )
        self.assertEqual(out.returncode, 0, out.stderr)
        rows = list(csv.DictReader(io.StringIO(out.stdout)))
        self.assertEqual(len(rows), len(epochs))
        self.assertEqual([int(r["seq"]) for r in rows], [e.seq for e in epochs])
        self.assertEqual([int(r["epoch"]) for r in rows], [1, 2])
        self.assertAlmostEqual(float(rows[-1]["val_accuracy"]), epochs[-1].data.val_accuracy)

    def test_rotation_example(self) -> None:
        need_success(self, finished_pretext())
        out = subprocess.run(
            [sys.executable, os.path.join(EXAMPLES, "rotation_sl_vs_ssl.py"),
             "--address", DAEMON.address, "--token", TOKEN, "--epochs", "1", "--max-steps", "2",
             "--unlabeled-limit", "256", "--n-labels", "100", "--test-limit", "100"],
            capture_output=True, text=True, timeout=RUN_TIMEOUT * 3,
        )
        self.assertEqual(out.returncode, 0, out.stdout[-3000:] + out.stderr[-3000:])
        self.assertIn("epoch 1/1", out.stdout)
        self.assertRegex(out.stdout, r"\nSL +SUCCEEDED +\d+\.\d{4} +\d+\.\d\d%")
        self.assertRegex(out.stdout, r"\nSSL\+SL +SUCCEEDED +\d+\.\d{4} +\d+\.\d\d%")
        self.assertIn("SSL+SL - SL:", out.stdout)


class StudyTest(unittest.TestCase):
    """A tiny label-budget study (1 budget x 1 fold x SL and SSL+SL) from the shared run."""

    def test_study(self) -> None:
        pre = finished_pretext()
        need_success(self, pre)
        with client() as c:
            start_seq = c.info().last_seq + 1
            study = c.start_study(
                pretext_run_id=pre.id, label_budgets=[100], folds=1, arms=["sl", "ssl_fine_tune"],
                downstream={"depth": 8, "test_limit": 100,
                            "training": {"epochs": 1, "max_steps_per_epoch": 2, "validation_limit": 64}},
                name="tiny study",
            )
            self.assertTrue(study.id)
            self.assertEqual(study.pretext_run_id, pre.id)
            self.assertIn(study.id, [s.id for s in c.studies()])
            self.assertEqual(c.get_study(study.id).id, study.id)
            try:
                done = c.wait_study(study.id, timeout=RUN_TIMEOUT * 2, poll=1.0)
            except DeadlineExceededError:
                runs = [(r.id, r.kind.value, r.state.value, r.study_id, r.parent_run_id) for r in c.runs()]
                self.fail(f"study did not end: {c.get_study(study.id).to_dict()}\nruns: {runs}\n"
                          f"daemon stderr: {DAEMON.stderr_tail(3000) if DAEMON else ''}")
            self.assertEqual(done.state, "SUCCEEDED", done.error)
            self.assertEqual(done.runs_total, done.runs_ended)
            cells = {(cell.n_labels, cell.arm): cell for cell in done.cells}
            self.assertEqual(set(cells), {(100, "SL"), (100, "SSL_FINE_TUNE")})
            for cell in cells.values():
                self.assertEqual((cell.folds_done, cell.folds_total), (1, 1))
                self.assertTrue(0.0 <= cell.test_accuracy_mean <= 1.0)
                child = c.get(cell.run_ids[0])
                self.assertEqual(child.study_id, study.id)
                self.assertEqual(child.state, RunState.SUCCEEDED)
            self.assertEqual([(g.n_labels, g.arm, g.paired_folds) for g in done.gains],
                             [(100, "SSL_FINE_TUNE", 1)])
            self.assertEqual(len(c.runs(study_id=study.id)), 2)
            updates = [e for e in c.stream(None, from_seq=start_seq, follow=False)
                       if e.study and e.run_id == study.id]
            self.assertTrue(updates)
            self.assertEqual(updates[-1].study.study.state, "SUCCEEDED")
            with self.assertRaises(NotFoundError):
                c.get_study("s-does-not-exist")


class TlsTest(unittest.TestCase):
    """tls_ca: a daemon serving TLS with a self-signed certificate."""

    def test_tls_ca(self) -> None:
        import shutil
        import tempfile

        if shutil.which("openssl") is None:
            self.skipTest("openssl is not installed")
        tmp = tempfile.mkdtemp(prefix="pretext-tls-")
        cert, key = os.path.join(tmp, "cert.pem"), os.path.join(tmp, "key.pem")
        subprocess.run(
            ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
             "-subj", "/CN=localhost", "-addext", "subjectAltName=IP:127.0.0.1,DNS:localhost",
             "-keyout", key, "-out", cert],
            check=True, capture_output=True, timeout=60,
        )
        d = Daemon(token=TOKEN, extra_args=["--tls-cert", cert, "--tls-key", key]).start()
        try:
            with Client(d.address, token=TOKEN, tls_ca=cert) as c:
                self.assertTrue(c.info().version)
            with open(cert, "rb") as f:
                with Client(d.address, token=TOKEN, tls_ca=f.read()) as c:
                    self.assertIsInstance(c.runs(), list)
            with Client(d.address, token="wrong", tls_ca=cert) as c:
                with self.assertRaises(AuthError):
                    c.info()
            with Client(d.address, token=TOKEN, timeout=10) as c:  # plaintext to a TLS port
                with self.assertRaises(PretextError) as cm:
                    c.info()
                self.assertEqual(cm.exception.code, grpc.StatusCode.UNAVAILABLE)
        finally:
            d.stop()
            d.cleanup()
            shutil.rmtree(tmp, ignore_errors=True)


class LifecycleTest(unittest.TestCase):
    """Own daemon: SIGTERM interrupts a running run; after a restart it can be resumed."""

    def test_interrupt_restart_resume(self) -> None:
        d = Daemon(token=None, extra_args=[]).start()
        try:
            with Client(d.address) as c:
                run = tiny_pretext(c, name="lifecycle", epochs=50, max_steps_per_epoch=50)
                for ev in c.stream(run.id, timeout=RUN_TIMEOUT):
                    if ev.kind == "step" or (ev.kind == "state" and ev.data.to_state.terminal):
                        break
                now = c.get(run.id)
            if now.state != RunState.RUNNING:
                need_success(self, now)
                self.fail(f"run ended early: {now.state} {now.error}")
            self.assertEqual(d.stop(), 0, d.stderr_tail())
            d2 = Daemon(token=None, state_dir=d.state_dir, extra_args=["--no-auto-resume"])
            d2.tmp, d2.stderr_path = d.tmp, d.stderr_path
            d2.start()
            d = d2
            with Client(d.address) as c:
                after = c.get(run.id)
                history = list(c.stream(run.id, follow=False))
                states = [e.data.to_state for e in history if e.kind == "state"]
                self.assertIn(RunState.INTERRUPTED, states)
                self.assertEqual(after.state, RunState.INTERRUPTED)  # --no-auto-resume
                self.assertIn("shut down", after.error)
                resumed = c.resume(run.id)
                self.assertIn(resumed.state, (RunState.QUEUED, RunState.RUNNING))
                cancelled = c.cancel(run.id)
                self.assertIn(cancelled.state, (RunState.QUEUED, RunState.RUNNING, RunState.CANCELLED))
                final = c.wait(run.id, timeout=60)
                self.assertEqual(final.state, RunState.CANCELLED)
                self.assertGreaterEqual(final.attempts, 1)
                # the whole history, past the old terminal INTERRUPTED event
                states = [e.data.to_state for e in c.stream(run.id, follow=False) if e.kind == "state"]
                self.assertEqual(states[:3], [RunState.QUEUED, RunState.RUNNING, RunState.INTERRUPTED])
                self.assertEqual(states[3], RunState.QUEUED)
                self.assertEqual(states[-1], RunState.CANCELLED)
        finally:
            d.stop()
            d.cleanup()


if __name__ == "__main__":
    unittest.main()
