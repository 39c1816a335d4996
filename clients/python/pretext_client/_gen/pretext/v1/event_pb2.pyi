from . import datasets_pb2 as _datasets_pb2
from . import run_pb2 as _run_pb2
from . import study_pb2 as _study_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from typing import ClassVar as _ClassVar, Mapping as _Mapping, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor
LOG_LEVEL_DEBUG: LogLevel
LOG_LEVEL_ERROR: LogLevel
LOG_LEVEL_INFO: LogLevel
LOG_LEVEL_UNSPECIFIED: LogLevel
LOG_LEVEL_WARN: LogLevel

class CheckpointSaved(_message.Message):
    __slots__ = ["artifact"]
    ARTIFACT_FIELD_NUMBER: _ClassVar[int]
    artifact: _run_pb2.Artifact
    def __init__(self, artifact: _Optional[_Union[_run_pb2.Artifact, _Mapping]] = ...) -> None: ...

class DownloadProgress(_message.Message):
    __slots__ = ["bytes_done", "bytes_per_second", "bytes_total", "dataset", "eta_seconds", "file", "phase"]
    BYTES_DONE_FIELD_NUMBER: _ClassVar[int]
    BYTES_PER_SECOND_FIELD_NUMBER: _ClassVar[int]
    BYTES_TOTAL_FIELD_NUMBER: _ClassVar[int]
    DATASET_FIELD_NUMBER: _ClassVar[int]
    ETA_SECONDS_FIELD_NUMBER: _ClassVar[int]
    FILE_FIELD_NUMBER: _ClassVar[int]
    PHASE_FIELD_NUMBER: _ClassVar[int]
    bytes_done: int
    bytes_per_second: float
    bytes_total: int
    dataset: str
    eta_seconds: float
    file: str
    phase: str
    def __init__(self, dataset: _Optional[str] = ..., file: _Optional[str] = ..., bytes_done: _Optional[int] = ..., bytes_total: _Optional[int] = ..., bytes_per_second: _Optional[float] = ..., eta_seconds: _Optional[float] = ..., phase: _Optional[str] = ...) -> None: ...

class EpochMetrics(_message.Message):
    __slots__ = ["epoch", "epochs", "extra", "learning_rate", "seconds", "train_accuracy", "train_loss", "val_accuracy", "val_loss"]
    class ExtraEntry(_message.Message):
        __slots__ = ["key", "value"]
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: float
        def __init__(self, key: _Optional[str] = ..., value: _Optional[float] = ...) -> None: ...
    EPOCHS_FIELD_NUMBER: _ClassVar[int]
    EPOCH_FIELD_NUMBER: _ClassVar[int]
    EXTRA_FIELD_NUMBER: _ClassVar[int]
    LEARNING_RATE_FIELD_NUMBER: _ClassVar[int]
    SECONDS_FIELD_NUMBER: _ClassVar[int]
    TRAIN_ACCURACY_FIELD_NUMBER: _ClassVar[int]
    TRAIN_LOSS_FIELD_NUMBER: _ClassVar[int]
    VAL_ACCURACY_FIELD_NUMBER: _ClassVar[int]
    VAL_LOSS_FIELD_NUMBER: _ClassVar[int]
    epoch: int
    epochs: int
    extra: _containers.ScalarMap[str, float]
    learning_rate: float
    seconds: float
    train_accuracy: float
    train_loss: float
    val_accuracy: float
    val_loss: float
    def __init__(self, epoch: _Optional[int] = ..., epochs: _Optional[int] = ..., train_loss: _Optional[float] = ..., train_accuracy: _Optional[float] = ..., val_loss: _Optional[float] = ..., val_accuracy: _Optional[float] = ..., learning_rate: _Optional[float] = ..., seconds: _Optional[float] = ..., extra: _Optional[_Mapping[str, float]] = ...) -> None: ...

class LogLine(_message.Message):
    __slots__ = ["level", "message"]
    LEVEL_FIELD_NUMBER: _ClassVar[int]
    MESSAGE_FIELD_NUMBER: _ClassVar[int]
    level: LogLevel
    message: str
    def __init__(self, level: _Optional[_Union[LogLevel, str]] = ..., message: _Optional[str] = ...) -> None: ...

class RunEvent(_message.Message):
    __slots__ = ["checkpoint", "dataset_import", "download", "epoch", "log", "result", "run_id", "seq", "state", "step", "study", "time_unix_ms"]
    CHECKPOINT_FIELD_NUMBER: _ClassVar[int]
    DATASET_IMPORT_FIELD_NUMBER: _ClassVar[int]
    DOWNLOAD_FIELD_NUMBER: _ClassVar[int]
    EPOCH_FIELD_NUMBER: _ClassVar[int]
    LOG_FIELD_NUMBER: _ClassVar[int]
    RESULT_FIELD_NUMBER: _ClassVar[int]
    RUN_ID_FIELD_NUMBER: _ClassVar[int]
    SEQ_FIELD_NUMBER: _ClassVar[int]
    STATE_FIELD_NUMBER: _ClassVar[int]
    STEP_FIELD_NUMBER: _ClassVar[int]
    STUDY_FIELD_NUMBER: _ClassVar[int]
    TIME_UNIX_MS_FIELD_NUMBER: _ClassVar[int]
    checkpoint: CheckpointSaved
    dataset_import: _datasets_pb2.DatasetImportProgress
    download: DownloadProgress
    epoch: EpochMetrics
    log: LogLine
    result: _run_pb2.RunResult
    run_id: str
    seq: int
    state: StateChange
    step: StepMetrics
    study: StudyUpdate
    time_unix_ms: int
    def __init__(self, seq: _Optional[int] = ..., run_id: _Optional[str] = ..., time_unix_ms: _Optional[int] = ..., state: _Optional[_Union[StateChange, _Mapping]] = ..., step: _Optional[_Union[StepMetrics, _Mapping]] = ..., epoch: _Optional[_Union[EpochMetrics, _Mapping]] = ..., log: _Optional[_Union[LogLine, _Mapping]] = ..., checkpoint: _Optional[_Union[CheckpointSaved, _Mapping]] = ..., download: _Optional[_Union[DownloadProgress, _Mapping]] = ..., result: _Optional[_Union[_run_pb2.RunResult, _Mapping]] = ..., study: _Optional[_Union[StudyUpdate, _Mapping]] = ..., dataset_import: _Optional[_Union[_datasets_pb2.DatasetImportProgress, _Mapping]] = ...) -> None: ...

class StateChange(_message.Message):
    __slots__ = ["message", "to"]
    FROM_FIELD_NUMBER: _ClassVar[int]
    MESSAGE_FIELD_NUMBER: _ClassVar[int]
    TO_FIELD_NUMBER: _ClassVar[int]
    message: str
    to: _run_pb2.RunState
    def __init__(self, to: _Optional[_Union[_run_pb2.RunState, str]] = ..., message: _Optional[str] = ..., **kwargs) -> None: ...

class StepMetrics(_message.Message):
    __slots__ = ["accuracy", "epoch", "eta_seconds", "extra", "images_per_second", "learning_rate", "loss", "step", "total_steps"]
    class ExtraEntry(_message.Message):
        __slots__ = ["key", "value"]
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: float
        def __init__(self, key: _Optional[str] = ..., value: _Optional[float] = ...) -> None: ...
    ACCURACY_FIELD_NUMBER: _ClassVar[int]
    EPOCH_FIELD_NUMBER: _ClassVar[int]
    ETA_SECONDS_FIELD_NUMBER: _ClassVar[int]
    EXTRA_FIELD_NUMBER: _ClassVar[int]
    IMAGES_PER_SECOND_FIELD_NUMBER: _ClassVar[int]
    LEARNING_RATE_FIELD_NUMBER: _ClassVar[int]
    LOSS_FIELD_NUMBER: _ClassVar[int]
    STEP_FIELD_NUMBER: _ClassVar[int]
    TOTAL_STEPS_FIELD_NUMBER: _ClassVar[int]
    accuracy: float
    epoch: int
    eta_seconds: float
    extra: _containers.ScalarMap[str, float]
    images_per_second: float
    learning_rate: float
    loss: float
    step: int
    total_steps: int
    def __init__(self, epoch: _Optional[int] = ..., step: _Optional[int] = ..., total_steps: _Optional[int] = ..., loss: _Optional[float] = ..., accuracy: _Optional[float] = ..., learning_rate: _Optional[float] = ..., images_per_second: _Optional[float] = ..., eta_seconds: _Optional[float] = ..., extra: _Optional[_Mapping[str, float]] = ...) -> None: ...

class StudyUpdate(_message.Message):
    __slots__ = ["study"]
    STUDY_FIELD_NUMBER: _ClassVar[int]
    study: _study_pb2.Study
    def __init__(self, study: _Optional[_Union[_study_pb2.Study, _Mapping]] = ...) -> None: ...

class LogLevel(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = []
