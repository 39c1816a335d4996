"""Client behaviour against an in-process fake PretextService (no daemon needed): metadata,
error mapping, stream seq handling, wait()."""

from __future__ import annotations

import threading
import time
import unittest
from concurrent import futures

import grpc

from pretext_client import (
    AuthError,
    Client,
    DeadlineExceededError,
    InvalidArgumentError,
    NotFoundError,
    RunFailedError,
    RunState,
    pb,
)

run_pb2, event_pb2, service_pb2, service_pb2_grpc = (
    pb.run_pb2,
    pb.event_pb2,
    pb.service_pb2,
    pb.service_pb2_grpc,
)

TOKEN = "s3cret"
TERMINAL = {
    run_pb2.RUN_STATE_SUCCEEDED,
    run_pb2.RUN_STATE_FAILED,
    run_pb2.RUN_STATE_CANCELLED,
    run_pb2.RUN_STATE_INTERRUPTED,
}


class FakeService(service_pb2_grpc.PretextServiceServicer):
    def __init__(self) -> None:
        self.cond = threading.Condition()
        self.runs: dict = {}
        self.events: list = []
        self.requests: list = []
        self.send_stale = False  # StreamMetrics also sends events before from_seq

    # -- test helpers
    def add_run(self, run_id: str) -> None:
        with self.cond:
            self.runs[run_id] = run_pb2.Run(id=run_id, state=run_pb2.RUN_STATE_QUEUED)
            self._emit(run_id, state=event_pb2.StateChange(to=run_pb2.RUN_STATE_QUEUED))

    def set_state(self, run_id: str, state: int, message: str = "") -> None:
        with self.cond:
            run = self.runs[run_id]
            old = run.state
            run.state = state
            if state == run_pb2.RUN_STATE_SUCCEEDED:
                run.result.CopyFrom(run_pb2.RunResult(best_epoch=1))
            if state == run_pb2.RUN_STATE_FAILED:
                run.error = message
            self._emit(
                run_id,
                state=event_pb2.StateChange(to=state, message=message, **{"from": old}),
            )

    def step(self, run_id: str, step: int) -> None:
        with self.cond:
            self._emit(run_id, step=event_pb2.StepMetrics(step=step, loss=1.0 / step))

    def _emit(self, run_id: str, **payload) -> None:
        seq = len(self.events) + 1
        self.events.append(event_pb2.RunEvent(seq=seq, run_id=run_id, time_unix_ms=seq, **payload))
        self.runs[run_id].last_seq = seq
        self.cond.notify_all()

    # -- RPCs
    def _auth(self, context) -> None:
        md = dict(context.invocation_metadata())
        if md.get("authorization") != f"Bearer {TOKEN}":
            context.abort(grpc.StatusCode.UNAUTHENTICATED, "missing or wrong token")

    def GetServerInfo(self, request, context):
        self._auth(context)
        return service_pb2.GetServerInfoResponse(version="fake", last_seq=len(self.events))

    def StartStudy(self, request, context):
        self._auth(context)
        self.requests.append(request)
        return service_pb2.StartStudyResponse(study=pb.study_pb2.Study(
            id="s-1", state=pb.study_pb2.STUDY_STATE_RUNNING, config=request.config))

    def GetStudy(self, request, context):
        self._auth(context)
        if request.study_id != "s-1":
            context.abort(grpc.StatusCode.NOT_FOUND, f"no study {request.study_id}")
        return service_pb2.GetStudyResponse(study=pb.study_pb2.Study(
            id="s-1", state=pb.study_pb2.STUDY_STATE_SUCCEEDED))

    def StartDownstream(self, request, context):
        self._auth(context)
        self.requests.append(request)
        if request.config.n_labels % 10:
            context.abort(grpc.StatusCode.INVALID_ARGUMENT, "n_labels must be a multiple of 10")
        self.add_run("r-ds")
        return service_pb2.StartDownstreamResponse(run=self.runs["r-ds"])

    def GetRun(self, request, context):
        self._auth(context)
        with self.cond:
            run = self.runs.get(request.run_id)
            if run is None:
                context.abort(grpc.StatusCode.NOT_FOUND, f"no run {request.run_id}")
            return service_pb2.GetRunResponse(run=run)

    def StreamMetrics(self, request, context):
        self._auth(context)
        self.requests.append(request)
        i = 0 if self.send_stale else max(request.from_seq, 1) - 1
        while context.is_active():
            with self.cond:
                while i >= len(self.events):
                    if request.history_only:
                        return
                    self.cond.wait(0.05)
                    if not context.is_active():
                        return
                ev = self.events[i]
            i += 1
            if request.run_id and ev.run_id != request.run_id:
                continue
            if request.skip_steps and ev.WhichOneof("payload") == "step":
                continue
            yield service_pb2.StreamMetricsResponse(event=ev)
            if request.run_id and ev.WhichOneof("payload") == "state" and ev.state.to in TERMINAL:
                return


class FakeClientTest(unittest.TestCase):
    def setUp(self) -> None:
        self.fake = FakeService()
        self.server = grpc.server(futures.ThreadPoolExecutor(max_workers=8))
        service_pb2_grpc.add_PretextServiceServicer_to_server(self.fake, self.server)
        port = self.server.add_insecure_port("127.0.0.1:0")
        self.server.start()
        self.address = f"127.0.0.1:{port}"
        self.client = Client(self.address, token=TOKEN, timeout=10)

    def tearDown(self) -> None:
        self.client.close()
        self.server.stop(None)

    def test_token_is_sent(self) -> None:
        self.assertEqual(self.client.info().version, "fake")

    def test_wrong_or_missing_token(self) -> None:
        for token in (None, "wrong"):
            with Client(self.address, token=token) as c:
                with self.assertRaises(AuthError) as cm:
                    c.info()
                self.assertEqual(cm.exception.code, grpc.StatusCode.UNAUTHENTICATED)
                self.assertEqual(cm.exception.message, "missing or wrong token")
                with self.assertRaises(AuthError):
                    list(c.stream("x", follow=False))

    def test_status_codes(self) -> None:
        with self.assertRaises(NotFoundError) as cm:
            self.client.get("nope")
        self.assertEqual(cm.exception.code, grpc.StatusCode.NOT_FOUND)
        self.assertEqual(cm.exception.method, "GetRun")
        with self.assertRaises(InvalidArgumentError) as cm:
            self.client.start_downstream(n_labels=7)
        self.assertEqual(cm.exception.code, grpc.StatusCode.INVALID_ARGUMENT)

    def test_start_downstream_request(self) -> None:
        self.client.start_downstream(
            pretext_run_id="r-p", protocol="linear_probe", n_labels=100,
            training={"epochs": 1}, name="probe",
        )
        req = self.fake.requests[-1]
        self.assertEqual(req.name, "probe")
        self.assertEqual(req.config.protocol, run_pb2.PROTOCOL_LINEAR_PROBE)
        self.assertEqual(req.config.training.epochs, 1)
        with self.assertRaises(TypeError):
            self.client.start_downstream(n_label=100)

    def test_study_calls(self) -> None:
        study = self.client.start_study(
            pretext_run_id="r-p", label_budgets=[100], folds=1, arms=["sl", "ssl_linear_probe"],
            downstream={"training": {"epochs": 1}, "test_limit": 100}, name="st",
        )
        self.assertEqual((study.id, study.state), ("s-1", "RUNNING"))
        self.assertEqual(study.config.arms, ["SL", "SSL_LINEAR_PROBE"])
        req = self.fake.requests[-1]
        self.assertEqual(req.name, "st")
        self.assertEqual(list(req.config.arms), [pb.study_pb2.STUDY_ARM_SL, pb.study_pb2.STUDY_ARM_SSL_LINEAR_PROBE])
        self.assertEqual(req.config.downstream.training.epochs, 1)
        self.assertEqual(self.client.wait_study("s-1", timeout=5).state, "SUCCEEDED")
        with self.assertRaises(NotFoundError):
            self.client.get_study("s-2")

    def test_stream_replay_from_middle_and_stale_events_dropped(self) -> None:
        self.fake.add_run("a")
        for s in range(1, 6):
            self.fake.step("a", s)
        all_seqs = [e.seq for e in self.client.stream("a", follow=False)]
        self.assertEqual(all_seqs, [1, 2, 3, 4, 5, 6])
        mid = [e.seq for e in self.client.stream("a", from_seq=4, follow=False)]
        self.assertEqual(mid, [4, 5, 6])
        self.fake.send_stale = True  # a server that ignores from_seq: the client filters
        s = self.client.stream("a", from_seq=4, follow=False)
        self.assertEqual([e.seq for e in s], [4, 5, 6])
        self.assertEqual(s.last_seq, 6)
        req = self.fake.requests[-1]
        self.assertEqual((req.run_id, req.from_seq, req.history_only), ("a", 4, True))

    def test_stream_of_resumed_run_continues_past_old_end(self) -> None:
        """The daemon ends a single-run stream at the first terminal state event; the client
        reopens it while the run has later events."""
        self.fake.add_run("r")
        self.fake.set_state("r", run_pb2.RUN_STATE_RUNNING)
        self.fake.set_state("r", run_pb2.RUN_STATE_FAILED, "boom")  # seq 3
        self.fake.set_state("r", run_pb2.RUN_STATE_QUEUED)  # resumed
        self.fake.set_state("r", run_pb2.RUN_STATE_RUNNING)
        self.fake.step("r", 1)  # seq 6
        history = [e.seq for e in self.client.stream("r", follow=False)]
        self.assertEqual(history, [1, 2, 3, 4, 5, 6])
        self.assertEqual([e.seq for e in self.client.stream("r", follow=False, skip_steps=True)],
                         [1, 2, 3, 4, 5])
        self.assertEqual([e.seq for e in self.client.stream("r", from_seq=2, follow=False)],
                         [2, 3, 4, 5, 6])

        def finish() -> None:
            time.sleep(0.3)
            self.fake.step("r", 2)
            self.fake.set_state("r", run_pb2.RUN_STATE_SUCCEEDED)  # seq 8

        threading.Thread(target=finish).start()
        followed = list(self.client.stream("r", follow=True, timeout=10))
        self.assertEqual([e.seq for e in followed], [1, 2, 3, 4, 5, 6, 7, 8])
        self.assertEqual(followed[-1].data.to_state, RunState.SUCCEEDED)
        # and a finished run's stream ends without reopening forever
        t0 = time.monotonic()
        self.assertEqual(len(list(self.client.stream("r", skip_steps=True, timeout=10))), 6)
        self.assertLess(time.monotonic() - t0, 3)

    def test_stream_cancel_from_other_thread(self) -> None:
        self.fake.add_run("a")
        stream = self.client.stream("a")
        first = next(stream)
        self.assertEqual(first.kind, "state")
        threading.Timer(0.2, stream.cancel).start()
        t0 = time.monotonic()
        self.assertEqual(list(stream), [])
        self.assertLess(time.monotonic() - t0, 5)

    def test_wait_follows_to_the_end(self) -> None:
        self.fake.add_run("a")
        seen = []

        def finish() -> None:
            time.sleep(0.2)
            self.fake.set_state("a", run_pb2.RUN_STATE_RUNNING)
            self.fake.step("a", 1)
            self.fake.set_state("a", run_pb2.RUN_STATE_SUCCEEDED)

        threading.Thread(target=finish).start()
        run = self.client.wait("a", timeout=10, on_event=seen.append)
        self.assertEqual(run.state, RunState.SUCCEEDED)
        self.assertEqual(run.result.best_epoch, 1)
        self.assertEqual([e.kind for e in seen], ["state", "step", "state"])
        self.assertEqual(seen[0].seq, 2)  # events after the GetRun only
        # already finished: returns at once
        self.assertEqual(self.client.wait("a").state, RunState.SUCCEEDED)

    def test_wait_check_and_timeout(self) -> None:
        self.fake.add_run("f")
        self.fake.set_state("f", run_pb2.RUN_STATE_FAILED, "boom")
        self.assertEqual(self.client.wait("f").error, "boom")
        with self.assertRaises(RunFailedError) as cm:
            self.client.wait("f", check=True)
        self.assertEqual(cm.exception.run.state, RunState.FAILED)
        self.fake.add_run("slow")
        t0 = time.monotonic()
        with self.assertRaises(DeadlineExceededError) as cm:
            self.client.wait("slow", timeout=0.5)
        self.assertIsInstance(cm.exception, TimeoutError)
        self.assertIn("QUEUED", str(cm.exception))
        self.assertLess(time.monotonic() - t0, 5)


if __name__ == "__main__":
    unittest.main()
