from . import datasets_pb2 as _datasets_pb2
from . import cluster_pb2 as _cluster_pb2
from . import event_pb2 as _event_pb2
from . import models_pb2 as _models_pb2
from . import run_pb2 as _run_pb2
from . import study_pb2 as _study_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from typing import ClassVar as _ClassVar, Iterable as _Iterable, Mapping as _Mapping, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class BackendInfo(_message.Message):
    __slots__ = ["available", "detail", "name", "reason"]
    AVAILABLE_FIELD_NUMBER: _ClassVar[int]
    DETAIL_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    available: bool
    detail: str
    name: str
    reason: str
    def __init__(self, name: _Optional[str] = ..., available: bool = ..., reason: _Optional[str] = ..., detail: _Optional[str] = ...) -> None: ...

class CancelRunRequest(_message.Message):
    __slots__ = ["run_id"]
    RUN_ID_FIELD_NUMBER: _ClassVar[int]
    run_id: str
    def __init__(self, run_id: _Optional[str] = ...) -> None: ...

class CancelRunResponse(_message.Message):
    __slots__ = ["run"]
    RUN_FIELD_NUMBER: _ClassVar[int]
    run: _run_pb2.Run
    def __init__(self, run: _Optional[_Union[_run_pb2.Run, _Mapping]] = ...) -> None: ...

class CancelStudyRequest(_message.Message):
    __slots__ = ["study_id"]
    STUDY_ID_FIELD_NUMBER: _ClassVar[int]
    study_id: str
    def __init__(self, study_id: _Optional[str] = ...) -> None: ...

class CancelStudyResponse(_message.Message):
    __slots__ = ["study"]
    STUDY_FIELD_NUMBER: _ClassVar[int]
    study: _study_pb2.Study
    def __init__(self, study: _Optional[_Union[_study_pb2.Study, _Mapping]] = ...) -> None: ...

class CollectGarbageRequest(_message.Message):
    __slots__ = ["dry_run", "policy"]
    DRY_RUN_FIELD_NUMBER: _ClassVar[int]
    POLICY_FIELD_NUMBER: _ClassVar[int]
    dry_run: bool
    policy: RetentionPolicy
    def __init__(self, dry_run: bool = ..., policy: _Optional[_Union[RetentionPolicy, _Mapping]] = ...) -> None: ...

class CollectGarbageResponse(_message.Message):
    __slots__ = ["bytes", "dry_run", "items", "policy"]
    BYTES_FIELD_NUMBER: _ClassVar[int]
    DRY_RUN_FIELD_NUMBER: _ClassVar[int]
    ITEMS_FIELD_NUMBER: _ClassVar[int]
    POLICY_FIELD_NUMBER: _ClassVar[int]
    bytes: int
    dry_run: bool
    items: _containers.RepeatedCompositeFieldContainer[GarbageItem]
    policy: RetentionPolicy
    def __init__(self, items: _Optional[_Iterable[_Union[GarbageItem, _Mapping]]] = ..., bytes: _Optional[int] = ..., dry_run: bool = ..., policy: _Optional[_Union[RetentionPolicy, _Mapping]] = ...) -> None: ...

class DatasetInfo(_message.Message):
    __slots__ = ["hint", "name", "path", "present"]
    HINT_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    PATH_FIELD_NUMBER: _ClassVar[int]
    PRESENT_FIELD_NUMBER: _ClassVar[int]
    hint: str
    name: str
    path: str
    present: bool
    def __init__(self, name: _Optional[str] = ..., present: bool = ..., path: _Optional[str] = ..., hint: _Optional[str] = ...) -> None: ...

class DiskStatus(_message.Message):
    __slots__ = ["data_dir_free_bytes", "min_free_bytes", "reason", "starting_paused", "state_dir_free_bytes"]
    DATA_DIR_FREE_BYTES_FIELD_NUMBER: _ClassVar[int]
    MIN_FREE_BYTES_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    STARTING_PAUSED_FIELD_NUMBER: _ClassVar[int]
    STATE_DIR_FREE_BYTES_FIELD_NUMBER: _ClassVar[int]
    data_dir_free_bytes: int
    min_free_bytes: int
    reason: str
    starting_paused: bool
    state_dir_free_bytes: int
    def __init__(self, state_dir_free_bytes: _Optional[int] = ..., data_dir_free_bytes: _Optional[int] = ..., min_free_bytes: _Optional[int] = ..., starting_paused: bool = ..., reason: _Optional[str] = ...) -> None: ...

class EmbedRequest(_message.Message):
    __slots__ = ["checkpoint", "images", "run_id", "split"]
    CHECKPOINT_FIELD_NUMBER: _ClassVar[int]
    IMAGES_FIELD_NUMBER: _ClassVar[int]
    RUN_ID_FIELD_NUMBER: _ClassVar[int]
    SPLIT_FIELD_NUMBER: _ClassVar[int]
    checkpoint: _run_pb2.CheckpointChoice
    images: _models_pb2.ImageBatch
    run_id: str
    split: _models_pb2.SplitSource
    def __init__(self, run_id: _Optional[str] = ..., checkpoint: _Optional[_Union[_run_pb2.CheckpointChoice, str]] = ..., split: _Optional[_Union[_models_pb2.SplitSource, _Mapping]] = ..., images: _Optional[_Union[_models_pb2.ImageBatch, _Mapping]] = ...) -> None: ...

class EmbedResponse(_message.Message):
    __slots__ = ["info", "rows"]
    INFO_FIELD_NUMBER: _ClassVar[int]
    ROWS_FIELD_NUMBER: _ClassVar[int]
    info: _models_pb2.EmbedInfo
    rows: _models_pb2.EmbedRows
    def __init__(self, info: _Optional[_Union[_models_pb2.EmbedInfo, _Mapping]] = ..., rows: _Optional[_Union[_models_pb2.EmbedRows, _Mapping]] = ...) -> None: ...

class EvaluateRequest(_message.Message):
    __slots__ = ["config", "name", "validate_only", "wait"]
    CONFIG_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    VALIDATE_ONLY_FIELD_NUMBER: _ClassVar[int]
    WAIT_FIELD_NUMBER: _ClassVar[int]
    config: _run_pb2.EvaluateConfig
    name: str
    validate_only: bool
    wait: bool
    def __init__(self, config: _Optional[_Union[_run_pb2.EvaluateConfig, _Mapping]] = ..., wait: bool = ..., name: _Optional[str] = ..., validate_only: bool = ...) -> None: ...

class EvaluateResponse(_message.Message):
    __slots__ = ["result", "run"]
    RESULT_FIELD_NUMBER: _ClassVar[int]
    RUN_FIELD_NUMBER: _ClassVar[int]
    result: _run_pb2.EvalResult
    run: _run_pb2.Run
    def __init__(self, run: _Optional[_Union[_run_pb2.Run, _Mapping]] = ..., result: _Optional[_Union[_run_pb2.EvalResult, _Mapping]] = ...) -> None: ...

class ExportModelRequest(_message.Message):
    __slots__ = ["checkpoint", "expected_sha256", "format", "offset", "run_id"]
    CHECKPOINT_FIELD_NUMBER: _ClassVar[int]
    EXPECTED_SHA256_FIELD_NUMBER: _ClassVar[int]
    FORMAT_FIELD_NUMBER: _ClassVar[int]
    OFFSET_FIELD_NUMBER: _ClassVar[int]
    RUN_ID_FIELD_NUMBER: _ClassVar[int]
    checkpoint: _run_pb2.CheckpointChoice
    expected_sha256: str
    format: str
    offset: int
    run_id: str
    def __init__(self, run_id: _Optional[str] = ..., format: _Optional[str] = ..., checkpoint: _Optional[_Union[_run_pb2.CheckpointChoice, str]] = ..., offset: _Optional[int] = ..., expected_sha256: _Optional[str] = ...) -> None: ...

class ExportModelResponse(_message.Message):
    __slots__ = ["data", "info", "offset"]
    DATA_FIELD_NUMBER: _ClassVar[int]
    INFO_FIELD_NUMBER: _ClassVar[int]
    OFFSET_FIELD_NUMBER: _ClassVar[int]
    data: bytes
    info: _models_pb2.ExportInfo
    offset: int
    def __init__(self, info: _Optional[_Union[_models_pb2.ExportInfo, _Mapping]] = ..., offset: _Optional[int] = ..., data: _Optional[bytes] = ...) -> None: ...

class GarbageItem(_message.Message):
    __slots__ = ["bytes", "detail", "kind", "run_id"]
    BYTES_FIELD_NUMBER: _ClassVar[int]
    DETAIL_FIELD_NUMBER: _ClassVar[int]
    KIND_FIELD_NUMBER: _ClassVar[int]
    RUN_ID_FIELD_NUMBER: _ClassVar[int]
    bytes: int
    detail: str
    kind: str
    run_id: str
    def __init__(self, run_id: _Optional[str] = ..., kind: _Optional[str] = ..., detail: _Optional[str] = ..., bytes: _Optional[int] = ...) -> None: ...

class GetRunRequest(_message.Message):
    __slots__ = ["run_id"]
    RUN_ID_FIELD_NUMBER: _ClassVar[int]
    run_id: str
    def __init__(self, run_id: _Optional[str] = ...) -> None: ...

class GetRunResponse(_message.Message):
    __slots__ = ["run"]
    RUN_FIELD_NUMBER: _ClassVar[int]
    run: _run_pb2.Run
    def __init__(self, run: _Optional[_Union[_run_pb2.Run, _Mapping]] = ...) -> None: ...

class GetServerInfoRequest(_message.Message):
    __slots__ = []
    def __init__(self) -> None: ...

class GetServerInfoResponse(_message.Message):
    __slots__ = ["agents", "architectures", "backend", "backends", "code_revision", "data_dir", "datasets", "disk", "hostname", "last_seq", "max_concurrent_runs", "node_version", "pretext_methods", "queue", "queued_runs", "retention", "running_runs", "started_at_unix_ms", "state_dir", "study_presets", "version"]
    AGENTS_FIELD_NUMBER: _ClassVar[int]
    ARCHITECTURES_FIELD_NUMBER: _ClassVar[int]
    BACKENDS_FIELD_NUMBER: _ClassVar[int]
    BACKEND_FIELD_NUMBER: _ClassVar[int]
    CODE_REVISION_FIELD_NUMBER: _ClassVar[int]
    DATASETS_FIELD_NUMBER: _ClassVar[int]
    DATA_DIR_FIELD_NUMBER: _ClassVar[int]
    DISK_FIELD_NUMBER: _ClassVar[int]
    HOSTNAME_FIELD_NUMBER: _ClassVar[int]
    LAST_SEQ_FIELD_NUMBER: _ClassVar[int]
    MAX_CONCURRENT_RUNS_FIELD_NUMBER: _ClassVar[int]
    NODE_VERSION_FIELD_NUMBER: _ClassVar[int]
    PRETEXT_METHODS_FIELD_NUMBER: _ClassVar[int]
    QUEUED_RUNS_FIELD_NUMBER: _ClassVar[int]
    QUEUE_FIELD_NUMBER: _ClassVar[int]
    RETENTION_FIELD_NUMBER: _ClassVar[int]
    RUNNING_RUNS_FIELD_NUMBER: _ClassVar[int]
    STARTED_AT_UNIX_MS_FIELD_NUMBER: _ClassVar[int]
    STATE_DIR_FIELD_NUMBER: _ClassVar[int]
    STUDY_PRESETS_FIELD_NUMBER: _ClassVar[int]
    VERSION_FIELD_NUMBER: _ClassVar[int]
    agents: _containers.RepeatedCompositeFieldContainer[_cluster_pb2.AgentInfo]
    architectures: _containers.RepeatedScalarFieldContainer[str]
    backend: str
    backends: _containers.RepeatedCompositeFieldContainer[BackendInfo]
    code_revision: str
    data_dir: str
    datasets: _containers.RepeatedCompositeFieldContainer[DatasetInfo]
    disk: DiskStatus
    hostname: str
    last_seq: int
    max_concurrent_runs: int
    node_version: str
    pretext_methods: _containers.RepeatedScalarFieldContainer[str]
    queue: str
    queued_runs: int
    retention: RetentionPolicy
    running_runs: int
    started_at_unix_ms: int
    state_dir: str
    study_presets: _containers.RepeatedScalarFieldContainer[str]
    version: str
    def __init__(self, version: _Optional[str] = ..., code_revision: _Optional[str] = ..., hostname: _Optional[str] = ..., backends: _Optional[_Iterable[_Union[BackendInfo, _Mapping]]] = ..., backend: _Optional[str] = ..., max_concurrent_runs: _Optional[int] = ..., running_runs: _Optional[int] = ..., queued_runs: _Optional[int] = ..., datasets: _Optional[_Iterable[_Union[DatasetInfo, _Mapping]]] = ..., pretext_methods: _Optional[_Iterable[str]] = ..., started_at_unix_ms: _Optional[int] = ..., last_seq: _Optional[int] = ..., node_version: _Optional[str] = ..., data_dir: _Optional[str] = ..., study_presets: _Optional[_Iterable[str]] = ..., architectures: _Optional[_Iterable[str]] = ..., disk: _Optional[_Union[DiskStatus, _Mapping]] = ..., state_dir: _Optional[str] = ..., retention: _Optional[_Union[RetentionPolicy, _Mapping]] = ..., agents: _Optional[_Iterable[_Union[_cluster_pb2.AgentInfo, _Mapping]]] = ..., queue: _Optional[str] = ...) -> None: ...

class GetStudyRequest(_message.Message):
    __slots__ = ["study_id"]
    STUDY_ID_FIELD_NUMBER: _ClassVar[int]
    study_id: str
    def __init__(self, study_id: _Optional[str] = ...) -> None: ...

class GetStudyResponse(_message.Message):
    __slots__ = ["study"]
    STUDY_FIELD_NUMBER: _ClassVar[int]
    study: _study_pb2.Study
    def __init__(self, study: _Optional[_Union[_study_pb2.Study, _Mapping]] = ...) -> None: ...

class ListRunsRequest(_message.Message):
    __slots__ = ["kinds", "limit", "parent_run_id", "states", "study_id"]
    KINDS_FIELD_NUMBER: _ClassVar[int]
    LIMIT_FIELD_NUMBER: _ClassVar[int]
    PARENT_RUN_ID_FIELD_NUMBER: _ClassVar[int]
    STATES_FIELD_NUMBER: _ClassVar[int]
    STUDY_ID_FIELD_NUMBER: _ClassVar[int]
    kinds: _containers.RepeatedScalarFieldContainer[_run_pb2.RunKind]
    limit: int
    parent_run_id: str
    states: _containers.RepeatedScalarFieldContainer[_run_pb2.RunState]
    study_id: str
    def __init__(self, states: _Optional[_Iterable[_Union[_run_pb2.RunState, str]]] = ..., kinds: _Optional[_Iterable[_Union[_run_pb2.RunKind, str]]] = ..., limit: _Optional[int] = ..., parent_run_id: _Optional[str] = ..., study_id: _Optional[str] = ...) -> None: ...

class ListRunsResponse(_message.Message):
    __slots__ = ["runs"]
    RUNS_FIELD_NUMBER: _ClassVar[int]
    runs: _containers.RepeatedCompositeFieldContainer[_run_pb2.Run]
    def __init__(self, runs: _Optional[_Iterable[_Union[_run_pb2.Run, _Mapping]]] = ...) -> None: ...

class ListStudiesRequest(_message.Message):
    __slots__ = ["limit"]
    LIMIT_FIELD_NUMBER: _ClassVar[int]
    limit: int
    def __init__(self, limit: _Optional[int] = ...) -> None: ...

class ListStudiesResponse(_message.Message):
    __slots__ = ["studies"]
    STUDIES_FIELD_NUMBER: _ClassVar[int]
    studies: _containers.RepeatedCompositeFieldContainer[_study_pb2.Study]
    def __init__(self, studies: _Optional[_Iterable[_Union[_study_pb2.Study, _Mapping]]] = ...) -> None: ...

class PredictRequest(_message.Message):
    __slots__ = ["checkpoint", "images", "run_id", "top_k"]
    CHECKPOINT_FIELD_NUMBER: _ClassVar[int]
    IMAGES_FIELD_NUMBER: _ClassVar[int]
    RUN_ID_FIELD_NUMBER: _ClassVar[int]
    TOP_K_FIELD_NUMBER: _ClassVar[int]
    checkpoint: _run_pb2.CheckpointChoice
    images: _containers.RepeatedScalarFieldContainer[bytes]
    run_id: str
    top_k: int
    def __init__(self, run_id: _Optional[str] = ..., checkpoint: _Optional[_Union[_run_pb2.CheckpointChoice, str]] = ..., images: _Optional[_Iterable[bytes]] = ..., top_k: _Optional[int] = ...) -> None: ...

class PredictResponse(_message.Message):
    __slots__ = ["model", "predictions"]
    MODEL_FIELD_NUMBER: _ClassVar[int]
    PREDICTIONS_FIELD_NUMBER: _ClassVar[int]
    model: _models_pb2.ModelInfo
    predictions: _containers.RepeatedCompositeFieldContainer[_models_pb2.Prediction]
    def __init__(self, model: _Optional[_Union[_models_pb2.ModelInfo, _Mapping]] = ..., predictions: _Optional[_Iterable[_Union[_models_pb2.Prediction, _Mapping]]] = ...) -> None: ...

class ResumeRunRequest(_message.Message):
    __slots__ = ["run_id"]
    RUN_ID_FIELD_NUMBER: _ClassVar[int]
    run_id: str
    def __init__(self, run_id: _Optional[str] = ...) -> None: ...

class ResumeRunResponse(_message.Message):
    __slots__ = ["run"]
    RUN_FIELD_NUMBER: _ClassVar[int]
    run: _run_pb2.Run
    def __init__(self, run: _Optional[_Union[_run_pb2.Run, _Mapping]] = ...) -> None: ...

class RetentionPolicy(_message.Message):
    __slots__ = ["last_checkpoint_days", "step_events_per_run"]
    LAST_CHECKPOINT_DAYS_FIELD_NUMBER: _ClassVar[int]
    STEP_EVENTS_PER_RUN_FIELD_NUMBER: _ClassVar[int]
    last_checkpoint_days: int
    step_events_per_run: int
    def __init__(self, last_checkpoint_days: _Optional[int] = ..., step_events_per_run: _Optional[int] = ...) -> None: ...

class StartDownstreamRequest(_message.Message):
    __slots__ = ["config", "name", "validate_only"]
    CONFIG_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    VALIDATE_ONLY_FIELD_NUMBER: _ClassVar[int]
    config: _run_pb2.DownstreamConfig
    name: str
    validate_only: bool
    def __init__(self, config: _Optional[_Union[_run_pb2.DownstreamConfig, _Mapping]] = ..., name: _Optional[str] = ..., validate_only: bool = ...) -> None: ...

class StartDownstreamResponse(_message.Message):
    __slots__ = ["run"]
    RUN_FIELD_NUMBER: _ClassVar[int]
    run: _run_pb2.Run
    def __init__(self, run: _Optional[_Union[_run_pb2.Run, _Mapping]] = ...) -> None: ...

class StartPretextRequest(_message.Message):
    __slots__ = ["config", "name", "validate_only"]
    CONFIG_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    VALIDATE_ONLY_FIELD_NUMBER: _ClassVar[int]
    config: _run_pb2.PretextConfig
    name: str
    validate_only: bool
    def __init__(self, config: _Optional[_Union[_run_pb2.PretextConfig, _Mapping]] = ..., name: _Optional[str] = ..., validate_only: bool = ...) -> None: ...

class StartPretextResponse(_message.Message):
    __slots__ = ["run"]
    RUN_FIELD_NUMBER: _ClassVar[int]
    run: _run_pb2.Run
    def __init__(self, run: _Optional[_Union[_run_pb2.Run, _Mapping]] = ...) -> None: ...

class StartStudyRequest(_message.Message):
    __slots__ = ["config", "name", "validate_only"]
    CONFIG_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    VALIDATE_ONLY_FIELD_NUMBER: _ClassVar[int]
    config: _study_pb2.StudyConfig
    name: str
    validate_only: bool
    def __init__(self, config: _Optional[_Union[_study_pb2.StudyConfig, _Mapping]] = ..., name: _Optional[str] = ..., validate_only: bool = ...) -> None: ...

class StartStudyResponse(_message.Message):
    __slots__ = ["study"]
    STUDY_FIELD_NUMBER: _ClassVar[int]
    study: _study_pb2.Study
    def __init__(self, study: _Optional[_Union[_study_pb2.Study, _Mapping]] = ...) -> None: ...

class StreamMetricsRequest(_message.Message):
    __slots__ = ["from_seq", "history_only", "run_id", "skip_steps"]
    FROM_SEQ_FIELD_NUMBER: _ClassVar[int]
    HISTORY_ONLY_FIELD_NUMBER: _ClassVar[int]
    RUN_ID_FIELD_NUMBER: _ClassVar[int]
    SKIP_STEPS_FIELD_NUMBER: _ClassVar[int]
    from_seq: int
    history_only: bool
    run_id: str
    skip_steps: bool
    def __init__(self, run_id: _Optional[str] = ..., from_seq: _Optional[int] = ..., history_only: bool = ..., skip_steps: bool = ...) -> None: ...

class StreamMetricsResponse(_message.Message):
    __slots__ = ["event"]
    EVENT_FIELD_NUMBER: _ClassVar[int]
    event: _event_pb2.RunEvent
    def __init__(self, event: _Optional[_Union[_event_pb2.RunEvent, _Mapping]] = ...) -> None: ...
