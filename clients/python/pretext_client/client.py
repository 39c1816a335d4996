"""A thin, typed client for pretextd (pretext.v1.PretextService)."""

from __future__ import annotations

import dataclasses
import os
import time
from typing import Any, Callable, Iterable, Iterator, List, Optional, Sequence, Tuple, Union

import grpc

from . import datasets as _datasets
from . import errors, models_out
from ._gen.pretext.v1 import datasets_pb2, service_pb2, service_pb2_grpc
from .models import (
    CheckpointChoice,
    DownstreamConfig,
    EvalResult,
    Evaluation,
    EvaluateConfig,
    Event,
    PretextConfig,
    Run,
    RunKind,
    RunState,
    ServerInfo,
    StateChange,
    Study,
    StudyConfig,
    coerce,
    event_from_proto,
    from_proto,
    run_from_proto,
    to_proto,
)

Metadata = Tuple[Tuple[str, str], ...]


def _many(values: Any) -> List[Any]:
    if values is None:
        return []
    if isinstance(values, (str, int)):
        return [values]
    return list(values)


class EventStream(Iterator[Event]):
    """Iterator over the events of a StreamMetrics call.

    Yields ``Event`` dataclasses with strictly increasing ``seq``, the first one ``>= from_seq``.
    Stop early with ``cancel()`` (safe from another thread) or by leaving a ``with`` block;
    errors raise ``PretextError``.

    pretextd ends a single-run stream at a terminal state event, also at an old one of a run
    that was resumed since. For a single run this iterator then looks at the run and carries on
    from the next seq while the run has later events (or, when following, is still active), so
    a resumed run's whole history arrives.
    """

    def __init__(
        self,
        open_call: Callable[[int, Optional[float]], Any],
        from_seq: int,
        *,
        run_id: str = "",
        follow: bool = True,
        get_run: Optional[Callable[[str], Run]] = None,
        timeout: Optional[float] = None,
    ) -> None:
        self._open = open_call
        self._run_id = run_id
        self._follow = follow
        self._get_run = get_run
        self._deadline = None if timeout is None else time.monotonic() + timeout
        self._next_seq = from_seq
        self._limit: Optional[int] = None  # history mode: last seq to deliver after a reopen
        self._cancelled = False
        self._delivered_since_open = 0
        self._reopens = 0
        self._checked_seq = -1
        self.last_seq: Optional[int] = None
        """The seq of the newest event delivered (resume with ``from_seq=last_seq + 1``)."""
        self._call = self._open(from_seq, timeout)

    def __iter__(self) -> "EventStream":
        return self

    def __next__(self) -> Event:
        while True:
            if self._cancelled:
                raise StopIteration
            try:
                msg = next(self._call)
            except StopIteration:
                if self._continue():
                    continue
                raise
            except grpc.RpcError as err:
                if self._cancelled and err.code() == grpc.StatusCode.CANCELLED:
                    raise StopIteration from None
                raise errors.from_rpc_error(err, "StreamMetrics") from None
            event = event_from_proto(msg.event)
            # Seqs are global and strictly increasing; never hand out one twice or one before
            # the requested start.
            if event.seq < self._next_seq:
                continue
            if self._limit is not None and event.seq > self._limit:
                self._call.cancel()
                raise StopIteration
            self._next_seq = event.seq + 1
            self._delivered_since_open += 1
            self.last_seq = event.seq
            return event

    def _continue(self) -> bool:
        """After the daemon ended a single-run stream: reopen it when more is to come."""
        if not self._run_id or self._get_run is None or self._cancelled:
            return False
        run = self._get_run(self._run_id)
        more = run.last_seq >= self._next_seq
        if self._reopens and self._delivered_since_open == 0 and run.last_seq == self._checked_seq:
            # The last reopen brought nothing (e.g. only skipped steps) and nothing happened.
            if run.done or not self._follow:
                return False
            time.sleep(0.2)  # an active run: do not spin
        self._checked_seq = run.last_seq
        if self._follow:
            if not more and run.done:
                return False
        else:
            if not more:
                return False
            if self._limit is None:
                self._limit = run.last_seq
            if self._next_seq > self._limit:
                return False
        remaining = None
        if self._deadline is not None:
            remaining = self._deadline - time.monotonic()
            if remaining <= 0:
                raise errors.error_for(
                    grpc.StatusCode.DEADLINE_EXCEEDED, "stream deadline exceeded", "StreamMetrics"
                )
        self._call = self._open(self._next_seq, remaining)
        self._delivered_since_open = 0
        self._reopens += 1
        return True

    def cancel(self) -> None:
        """Ends the stream; iteration then stops."""
        self._cancelled = True
        self._call.cancel()

    close = cancel

    def __enter__(self) -> "EventStream":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.cancel()


class Client:
    """Connection to a pretextd daemon.

    ``address`` is "host:port". ``token`` is sent as ``authorization: Bearer <token>`` on every
    call. ``tls_ca`` (PEM path or bytes) switches to TLS and trusts that CA; ``tls=True`` uses
    TLS with the system's roots. ``timeout`` is the default deadline in seconds of the unary
    calls (None: no deadline). Use as a context manager, or call ``close()``.
    """

    def __init__(
        self,
        address: str,
        token: Optional[str] = None,
        tls_ca: Union[str, bytes, os.PathLike, None] = None,
        *,
        tls: bool = False,
        timeout: Optional[float] = None,
        options: Sequence[Tuple[str, Any]] = (),
    ) -> None:
        self.address = address
        self.timeout = timeout
        token = token.strip() if token else None
        self._metadata: Metadata = (("authorization", f"Bearer {token}"),) if token else ()
        if tls_ca is not None or tls:
            root = None
            if isinstance(tls_ca, bytes):
                root = tls_ca
            elif tls_ca is not None:
                with open(tls_ca, "rb") as f:
                    root = f.read()
            creds = grpc.ssl_channel_credentials(root_certificates=root)
            self.channel = grpc.secure_channel(address, creds, options=list(options))
        else:
            self.channel = grpc.insecure_channel(address, options=list(options))
        self.stub = service_pb2_grpc.PretextServiceStub(self.channel)

    # -- plumbing -------------------------------------------------------------------------

    def close(self) -> None:
        """Closes the channel (ends open streams)."""
        self.channel.close()

    def __enter__(self) -> "Client":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    def _call(self, method: str, request: Any, timeout: Any = ...) -> Any:
        if timeout is ...:
            timeout = self.timeout
        try:
            return getattr(self.stub, method)(request, metadata=self._metadata, timeout=timeout)
        except grpc.RpcError as err:
            raise errors.from_rpc_error(err, method) from None

    # -- calls ----------------------------------------------------------------------------

    def info(self) -> ServerInfo:
        """GetServerInfo: version, backends, datasets, queue."""
        return from_proto(ServerInfo, self._call("GetServerInfo", service_pb2.GetServerInfoRequest()))

    def start_pretext(
        self,
        config: Union[PretextConfig, dict, None] = None,
        *,
        name: str = "",
        validate_only: bool = False,
        **fields: Any,
    ) -> Run:
        """StartPretext: queues a self-supervised run and returns it (QUEUED).

        Pass a ``PretextConfig`` (or a dict) and/or its fields as keywords, e.g.
        ``start_pretext(method="rotation", dataset="cifar10", training={"epochs": 2})``.
        With ``validate_only=True`` nothing is created: the daemon answers with the run as it
        would store it (every default filled in, no id), or raises InvalidArgumentError whose
        ``field_errors`` name each refused field.
        """
        cfg = _merge(PretextConfig, config, fields)
        req = service_pb2.StartPretextRequest(config=to_proto(cfg), name=name, validate_only=validate_only)
        return run_from_proto(self._call("StartPretext", req).run)

    def start_downstream(
        self,
        config: Union[DownstreamConfig, dict, None] = None,
        *,
        name: str = "",
        validate_only: bool = False,
        **fields: Any,
    ) -> Run:
        """StartDownstream: queues a supervised run, from scratch (SL) or from
        ``pretext_run_id`` (SSL+SL). Enum fields accept names: ``protocol="fine_tune"``.
        ``validate_only`` as in ``start_pretext``."""
        cfg = _merge(DownstreamConfig, config, fields)
        req = service_pb2.StartDownstreamRequest(config=to_proto(cfg), name=name, validate_only=validate_only)
        return run_from_proto(self._call("StartDownstream", req).run)

    def evaluate(
        self,
        target_run_id: str,
        *,
        checkpoint: Union[CheckpointChoice, str, None] = None,
        split: str = "",
        limit: int = 0,
        wait: bool = False,
        name: str = "",
        timeout: Optional[float] = None,
        validate_only: bool = False,
    ) -> Evaluation:
        """Evaluate: queues an evaluation of a run's checkpoint. With ``wait=True`` the daemon
        answers when it has finished, with its result; ``timeout`` bounds the call (default:
        none with ``wait``, else the client's default)."""
        cfg = EvaluateConfig(
            target_run_id=target_run_id,
            checkpoint=CheckpointChoice.parse(checkpoint) if checkpoint else CheckpointChoice.UNSPECIFIED,
            split=split,
            limit=limit,
        )
        req = service_pb2.EvaluateRequest(
            config=to_proto(cfg), wait=wait, name=name, validate_only=validate_only
        )
        if timeout is None and not wait:
            timeout = self.timeout
        resp = self._call("Evaluate", req, timeout=timeout)
        return Evaluation(
            run=run_from_proto(resp.run),
            result=from_proto(EvalResult, resp.result) if resp.HasField("result") else None,
        )

    def runs(
        self,
        states: Union[RunState, str, Iterable[Union[RunState, str]], None] = None,
        kinds: Union[RunKind, str, Iterable[Union[RunKind, str]], None] = None,
        *,
        limit: int = 0,
        parent_run_id: str = "",
        study_id: str = "",
    ) -> List[Run]:
        """ListRuns: runs, newest first, optionally filtered (``states="running"``,
        ``kinds=["pretext"]``, ...). ``limit`` 0 = the daemon's default (100)."""
        state_numbers: Any = [RunState.parse(s).to_proto() for s in _many(states)]
        kind_numbers: Any = [RunKind.parse(k).to_proto() for k in _many(kinds)]
        req = service_pb2.ListRunsRequest(
            states=state_numbers,
            kinds=kind_numbers,
            limit=limit,
            parent_run_id=parent_run_id,
            study_id=study_id,
        )
        return [run_from_proto(r) for r in self._call("ListRuns", req).runs]

    def get(self, run_id: str) -> Run:
        """GetRun. Raises NotFoundError for an unknown id."""
        return run_from_proto(self._call("GetRun", service_pb2.GetRunRequest(run_id=run_id)).run)

    def cancel(self, run_id: str) -> Run:
        """CancelRun: the run afterwards (CANCELLED, or RUNNING while its worker stops)."""
        return run_from_proto(
            self._call("CancelRun", service_pb2.CancelRunRequest(run_id=run_id)).run
        )

    def resume(self, run_id: str) -> Run:
        """ResumeRun: queues an INTERRUPTED (or FAILED) run again from its last checkpoint."""
        return run_from_proto(
            self._call("ResumeRun", service_pb2.ResumeRunRequest(run_id=run_id)).run
        )

    # -- datasets ---------------------------------------------------------------------------

    def upload_dataset(
        self,
        name: str,
        folder: Union[str, os.PathLike],
        *,
        side: int = 0,
        seed: int = 0,
        test_share: float = 0.0,
        max_failed_share: float = 0.0,
        architecture: str = "",
        chunk_bytes: int = _datasets.CHUNK_BYTES,
        on_progress: Optional[Callable[[int, int], None]] = None,
        timeout: Optional[float] = None,
        _stop_after: Optional[int] = None,
    ) -> _datasets.Dataset:
        """Uploads ``folder`` (``labeled/<class>/…`` or ``train/<class>/…``, optional
        ``test/<class>/…`` and ``unlabeled/**``; PNG, JPEG, WebP) as dataset ``name`` and
        returns it once imported. Calling it again after a cut-off continues from the bytes the
        daemon holds. ``side`` (default 32), ``seed`` and ``test_share`` of the carved test split,
        and ``max_failed_share`` as in the daemon's catalog (0 = default); without ``side``,
        ``architecture`` ("resnet", "small_conv", "resnet18") picks the side it usually takes."""
        archive = _datasets.tar_folder(os.fspath(folder))
        try:
            held = self._call("UploadStatus", datasets_pb2.UploadStatusRequest(
                name=name, sha256=archive.sha256)).received_bytes
            options = _datasets.options_proto(side, seed, test_share, max_failed_share, architecture)
            messages = _datasets.upload_messages(name, archive, held, options, chunk_bytes,
                                                 on_progress, _stop_after)
            try:
                resp = self.stub.UploadDataset(messages, metadata=self._metadata, timeout=timeout)
            except grpc.RpcError as err:
                raise errors.from_rpc_error(err, "UploadDataset") from None
            return _from_dataset(resp.dataset)
        finally:
            archive.dispose()

    def upload_status(self, name: str, sha256: str) -> int:
        """UploadStatus: bytes of an interrupted upload the daemon holds."""
        req = datasets_pb2.UploadStatusRequest(name=name, sha256=sha256)
        return int(self._call("UploadStatus", req).received_bytes)

    def import_dataset(self, name: str, path: str, *, side: int = 0, seed: int = 0,
                       test_share: float = 0.0, max_failed_share: float = 0.0,
                       architecture: str = "") -> _datasets.Dataset:
        """ImportDataset: a folder on the daemon's machine, under one of its --import-root dirs."""
        req = datasets_pb2.ImportDatasetRequest(
            name=name, path=path,
            options=_datasets.options_proto(side, seed, test_share, max_failed_share, architecture))
        return _from_dataset(self._call("ImportDataset", req, None).dataset)

    def datasets(self) -> List[_datasets.Dataset]:
        """ListDatasets: the imported datasets."""
        resp = self._call("ListDatasets", datasets_pb2.ListDatasetsRequest())
        return [_from_dataset(d) for d in resp.datasets]

    def get_dataset(self, name: str) -> _datasets.Dataset:
        """GetDataset: one imported dataset, with every skipped file."""
        return _from_dataset(self._call("GetDataset", datasets_pb2.GetDatasetRequest(name=name)).dataset)

    def delete_dataset(self, name: str) -> None:
        """DeleteDataset (refused while a queued or running run uses it)."""
        self._call("DeleteDataset", datasets_pb2.DeleteDatasetRequest(name=name))

    # -- studies ----------------------------------------------------------------------------

    def start_study(
        self,
        config: Union[StudyConfig, dict, None] = None,
        *,
        name: str = "",
        validate_only: bool = False,
        **fields: Any,
    ) -> Study:
        """StartStudy: SL vs SSL+SL across label budgets and folds, as child runs. Fields as
        in ``StudyConfig`` (``arms=["sl", "ssl_fine_tune"]``, ``downstream={...}`` template);
        ``preset="cpu-quick"`` starts from a preset the daemon expands (fields given here
        override it). ``validate_only`` as in ``start_pretext``."""
        cfg = _merge(StudyConfig, config, fields)
        req = service_pb2.StartStudyRequest(config=to_proto(cfg), name=name, validate_only=validate_only)
        return from_proto(Study, self._call("StartStudy", req).study)

    def get_study(self, study_id: str) -> Study:
        """GetStudy: one study with its current aggregates."""
        req = service_pb2.GetStudyRequest(study_id=study_id)
        return from_proto(Study, self._call("GetStudy", req).study)

    def studies(self, limit: int = 0) -> List[Study]:
        """ListStudies: studies, newest first (``limit`` 0 = the daemon's default)."""
        resp = self._call("ListStudies", service_pb2.ListStudiesRequest(limit=limit))
        return [from_proto(Study, m) for m in resp.studies]

    def cancel_study(self, study_id: str) -> Study:
        """CancelStudy: cancels the study and its unfinished child runs."""
        req = service_pb2.CancelStudyRequest(study_id=study_id)
        return from_proto(Study, self._call("CancelStudy", req).study)

    def wait_study(self, study_id: str, timeout: Optional[float] = None, poll: float = 2.0) -> Study:
        """Polls GetStudy until the study ends; returns it. DeadlineExceededError after
        ``timeout`` seconds."""
        deadline = None if timeout is None else time.monotonic() + timeout
        while True:
            study = self.get_study(study_id)
            if study.done:
                return study
            if deadline is not None and time.monotonic() >= deadline:
                raise errors.error_for(
                    grpc.StatusCode.DEADLINE_EXCEEDED,
                    f"study {study_id} still {study.state} after {timeout}s",
                    "wait_study",
                )
            time.sleep(poll if deadline is None else max(0.0, min(poll, deadline - time.monotonic())))

    # -- events -----------------------------------------------------------------------------

    def stream(
        self,
        run_id: Optional[str] = None,
        from_seq: int = 0,
        follow: bool = True,
        *,
        skip_steps: bool = False,
        timeout: Optional[float] = None,
    ) -> EventStream:
        """StreamMetrics: the event log from ``from_seq`` on (the first seq delivered; 0 = from
        the beginning; resume with ``last_seen + 1``), then live events while ``follow``.

        ``run_id`` None = every run's events. With ``follow=False`` the history is replayed
        and the stream ends. ``skip_steps`` leaves out per-step metrics.
        """
        if from_seq < 0:
            raise ValueError("from_seq must be >= 0")

        def open_call(start: int, remaining: Optional[float]) -> Any:
            req = service_pb2.StreamMetricsRequest(
                run_id=run_id or "",
                from_seq=start,
                history_only=not follow,
                skip_steps=skip_steps,
            )
            return self.stub.StreamMetrics(req, metadata=self._metadata, timeout=remaining)

        return EventStream(
            open_call,
            from_seq,
            run_id=run_id or "",
            follow=follow,
            get_run=self.get,
            timeout=timeout,
        )

    def wait(
        self,
        run_id: str,
        timeout: Optional[float] = None,
        *,
        check: bool = False,
        on_event: Optional[Callable[[Event], None]] = None,
    ) -> Run:
        """Blocks until the run reaches a terminal state and returns the final run (its
        ``result`` is set when it SUCCEEDED). ``on_event`` sees every event of the run from
        now on (step metrics included). Raises DeadlineExceededError (a TimeoutError) after
        ``timeout`` seconds, and RunFailedError when ``check`` and the run did not succeed.
        """
        deadline = None if timeout is None else time.monotonic() + timeout
        run = self.get(run_id)
        from_seq = run.last_seq + 1
        while not run.done:
            remaining = None if deadline is None else deadline - time.monotonic()
            timed_out = remaining is not None and remaining <= 0
            saw_end = False
            if not timed_out:
                with self.stream(
                    run_id, from_seq=from_seq, skip_steps=on_event is None, timeout=remaining
                ) as events:
                    try:
                        for event in events:
                            from_seq = event.seq + 1
                            if on_event is not None:
                                on_event(event)
                            if isinstance(event.data, StateChange) and event.data.to_state.terminal:
                                saw_end = True
                                break
                    except errors.DeadlineExceededError:
                        timed_out = True
            run = self.get(run_id)
            if timed_out and not run.done:
                raise errors.error_for(
                    grpc.StatusCode.DEADLINE_EXCEEDED,
                    f"run {run_id} still {run.state} after {timeout}s",
                    "wait",
                )
            if saw_end and not run.done:
                time.sleep(0.05)  # the event log ran ahead of the registry; look again
        if check and run.state != RunState.SUCCEEDED:
            raise errors.RunFailedError(run)
        return run


    # -- models out -----------------------------------------------------------------------

    def export(
        self,
        run_id: str,
        path: Union[str, os.PathLike],
        *,
        format: Optional[str] = None,
        checkpoint: Union[CheckpointChoice, str, None] = None,
    ) -> models_out.ExportResult:
        """ExportModel: downloads a run's network with its metadata.json.

        ``path`` ending in ``.onnx`` receives the ONNX model (metadata at ``<stem>.metadata.json``);
        any other path is a folder receiving every file (``format="tfjs"``: model.json + weight
        shards). ``format`` defaults to onnx. A broken transfer resumes where it stopped (also on
        a later call: the partial file ``<path>.tar.part`` is kept). ``checkpoint="last"`` exports
        a run still training (marked ``in_progress``).
        """
        target = os.fspath(path)
        fmt = format or "onnx"
        choice = CheckpointChoice.parse(checkpoint) if checkpoint else CheckpointChoice.UNSPECIFIED
        archive = target.rstrip("/") + ".tar"
        info, resumed = models_out.download_archive(
            self, {"run_id": run_id, "format": fmt, "checkpoint": choice.to_proto()}, archive
        )
        try:
            model, meta, names = models_out.unpack(archive, target, fmt)
        finally:
            os.remove(archive)
        return models_out.ExportResult(
            path=model, metadata_path=meta, files=names, format=fmt, sha256=info.sha256,
            total_bytes=info.total_bytes, checkpoint=info.checkpoint, epoch=info.epoch,
            in_progress=info.in_progress, metadata=models_out.load_metadata(meta), resumed=resumed,
        )

    def embed(
        self,
        run_id: str,
        *,
        split: str = "test",
        dataset: str = "",
        limit: int = 0,
        offset: int = 0,
        images: Optional[Sequence[models_out.ImageInput]] = None,
        checkpoint: Union[CheckpointChoice, str, None] = None,
        with_labels: bool = False,
        timeout: Optional[float] = None,
    ) -> Any:
        """Embed: the run's backbone features (not normalised) as a float32 numpy array
        (n, dim) — of a dataset split on the daemon host (``split``, ``dataset`` = the run's by
        default, ``offset``/``limit``) or of ``images`` (PNG/JPEG bytes or file paths; resized to
        the network's input). ``with_labels=True`` returns an ``Embeddings`` with labels and
        indices too. Needs numpy."""
        choice = CheckpointChoice.parse(checkpoint) if checkpoint else CheckpointChoice.UNSPECIFIED
        req = models_out.embed_request(run_id, choice.to_proto(), dataset, split, offset, limit, images)
        stream = self.stub.Embed(req, metadata=self._metadata, timeout=timeout)
        result = models_out.collect_embeddings(stream)
        return result if with_labels else result.embeddings

    def predict(
        self,
        run_id: str,
        images: Sequence[models_out.ImageInput],
        *,
        top_k: int = 0,
        checkpoint: Union[CheckpointChoice, str, None] = None,
        timeout: Optional[float] = 120.0,
    ) -> List[models_out.Prediction]:
        """Predict: the top-k classes (default 5) of each image (PNG/JPEG bytes or file paths)
        by a downstream run's classifier, most probable first."""
        choice = CheckpointChoice.parse(checkpoint) if checkpoint else CheckpointChoice.UNSPECIFIED
        req = service_pb2.PredictRequest(
            run_id=run_id, checkpoint=choice.to_proto(), top_k=top_k,
            images=[models_out.read_image(i) for i in images],
        )
        return models_out.predictions(self._call("Predict", req, timeout=timeout))


def _merge(cls: type, config: Any, fields: dict) -> Any:
    cfg = coerce(cls, config)
    if fields:
        known = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(fields) - known)
        if unknown:
            raise TypeError(f"{cls.__name__} has no field(s) {', '.join(unknown)}")
        cfg = dataclasses.replace(cfg, **fields)
    return cfg


def _from_dataset(msg: Any) -> _datasets.Dataset:
    return from_proto(_datasets.Dataset, msg)
