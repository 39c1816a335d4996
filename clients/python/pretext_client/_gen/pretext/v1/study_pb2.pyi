from . import run_pb2 as _run_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from typing import ClassVar as _ClassVar, Iterable as _Iterable, Mapping as _Mapping, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor
STUDY_ARM_SL: StudyArm
STUDY_ARM_SSL_FINE_TUNE: StudyArm
STUDY_ARM_SSL_LINEAR_PROBE: StudyArm
STUDY_ARM_UNSPECIFIED: StudyArm
STUDY_STATE_CANCELLED: StudyState
STUDY_STATE_FAILED: StudyState
STUDY_STATE_RUNNING: StudyState
STUDY_STATE_SUCCEEDED: StudyState
STUDY_STATE_UNSPECIFIED: StudyState

class Study(_message.Message):
    __slots__ = ["cells", "code_revision", "config", "created_at_unix_ms", "error", "finished_at_unix_ms", "gains", "id", "name", "pretext_run_id", "runs_ended", "runs_total", "state"]
    CELLS_FIELD_NUMBER: _ClassVar[int]
    CODE_REVISION_FIELD_NUMBER: _ClassVar[int]
    CONFIG_FIELD_NUMBER: _ClassVar[int]
    CREATED_AT_UNIX_MS_FIELD_NUMBER: _ClassVar[int]
    ERROR_FIELD_NUMBER: _ClassVar[int]
    FINISHED_AT_UNIX_MS_FIELD_NUMBER: _ClassVar[int]
    GAINS_FIELD_NUMBER: _ClassVar[int]
    ID_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    PRETEXT_RUN_ID_FIELD_NUMBER: _ClassVar[int]
    RUNS_ENDED_FIELD_NUMBER: _ClassVar[int]
    RUNS_TOTAL_FIELD_NUMBER: _ClassVar[int]
    STATE_FIELD_NUMBER: _ClassVar[int]
    cells: _containers.RepeatedCompositeFieldContainer[StudyCell]
    code_revision: str
    config: StudyConfig
    created_at_unix_ms: int
    error: str
    finished_at_unix_ms: int
    gains: _containers.RepeatedCompositeFieldContainer[StudyGain]
    id: str
    name: str
    pretext_run_id: str
    runs_ended: int
    runs_total: int
    state: StudyState
    def __init__(self, id: _Optional[str] = ..., name: _Optional[str] = ..., state: _Optional[_Union[StudyState, str]] = ..., config: _Optional[_Union[StudyConfig, _Mapping]] = ..., pretext_run_id: _Optional[str] = ..., cells: _Optional[_Iterable[_Union[StudyCell, _Mapping]]] = ..., gains: _Optional[_Iterable[_Union[StudyGain, _Mapping]]] = ..., created_at_unix_ms: _Optional[int] = ..., finished_at_unix_ms: _Optional[int] = ..., error: _Optional[str] = ..., runs_total: _Optional[int] = ..., runs_ended: _Optional[int] = ..., code_revision: _Optional[str] = ...) -> None: ...

class StudyCell(_message.Message):
    __slots__ = ["arm", "folds_done", "folds_failed", "folds_total", "labels_used", "n_labels", "run_ids", "test_accuracy_mean", "test_accuracy_std", "test_loss_mean", "test_loss_std"]
    ARM_FIELD_NUMBER: _ClassVar[int]
    FOLDS_DONE_FIELD_NUMBER: _ClassVar[int]
    FOLDS_FAILED_FIELD_NUMBER: _ClassVar[int]
    FOLDS_TOTAL_FIELD_NUMBER: _ClassVar[int]
    LABELS_USED_FIELD_NUMBER: _ClassVar[int]
    N_LABELS_FIELD_NUMBER: _ClassVar[int]
    RUN_IDS_FIELD_NUMBER: _ClassVar[int]
    TEST_ACCURACY_MEAN_FIELD_NUMBER: _ClassVar[int]
    TEST_ACCURACY_STD_FIELD_NUMBER: _ClassVar[int]
    TEST_LOSS_MEAN_FIELD_NUMBER: _ClassVar[int]
    TEST_LOSS_STD_FIELD_NUMBER: _ClassVar[int]
    arm: StudyArm
    folds_done: int
    folds_failed: int
    folds_total: int
    labels_used: _run_pb2.LabelsUsed
    n_labels: int
    run_ids: _containers.RepeatedScalarFieldContainer[str]
    test_accuracy_mean: float
    test_accuracy_std: float
    test_loss_mean: float
    test_loss_std: float
    def __init__(self, n_labels: _Optional[int] = ..., arm: _Optional[_Union[StudyArm, str]] = ..., folds_done: _Optional[int] = ..., folds_total: _Optional[int] = ..., folds_failed: _Optional[int] = ..., test_accuracy_mean: _Optional[float] = ..., test_accuracy_std: _Optional[float] = ..., test_loss_mean: _Optional[float] = ..., test_loss_std: _Optional[float] = ..., run_ids: _Optional[_Iterable[str]] = ..., labels_used: _Optional[_Union[_run_pb2.LabelsUsed, _Mapping]] = ...) -> None: ...

class StudyConfig(_message.Message):
    __slots__ = ["arms", "downstream", "folds", "label_budgets", "preset", "pretext", "pretext_run_id"]
    ARMS_FIELD_NUMBER: _ClassVar[int]
    DOWNSTREAM_FIELD_NUMBER: _ClassVar[int]
    FOLDS_FIELD_NUMBER: _ClassVar[int]
    LABEL_BUDGETS_FIELD_NUMBER: _ClassVar[int]
    PRESET_FIELD_NUMBER: _ClassVar[int]
    PRETEXT_FIELD_NUMBER: _ClassVar[int]
    PRETEXT_RUN_ID_FIELD_NUMBER: _ClassVar[int]
    arms: _containers.RepeatedScalarFieldContainer[StudyArm]
    downstream: _run_pb2.DownstreamConfig
    folds: int
    label_budgets: _containers.RepeatedScalarFieldContainer[int]
    preset: str
    pretext: _run_pb2.PretextConfig
    pretext_run_id: str
    def __init__(self, pretext_run_id: _Optional[str] = ..., pretext: _Optional[_Union[_run_pb2.PretextConfig, _Mapping]] = ..., label_budgets: _Optional[_Iterable[int]] = ..., folds: _Optional[int] = ..., arms: _Optional[_Iterable[_Union[StudyArm, str]]] = ..., downstream: _Optional[_Union[_run_pb2.DownstreamConfig, _Mapping]] = ..., preset: _Optional[str] = ...) -> None: ...

class StudyGain(_message.Message):
    __slots__ = ["accuracy_gain_mean", "accuracy_gain_std", "arm", "loss_gain_mean", "n_labels", "paired_folds"]
    ACCURACY_GAIN_MEAN_FIELD_NUMBER: _ClassVar[int]
    ACCURACY_GAIN_STD_FIELD_NUMBER: _ClassVar[int]
    ARM_FIELD_NUMBER: _ClassVar[int]
    LOSS_GAIN_MEAN_FIELD_NUMBER: _ClassVar[int]
    N_LABELS_FIELD_NUMBER: _ClassVar[int]
    PAIRED_FOLDS_FIELD_NUMBER: _ClassVar[int]
    accuracy_gain_mean: float
    accuracy_gain_std: float
    arm: StudyArm
    loss_gain_mean: float
    n_labels: int
    paired_folds: int
    def __init__(self, n_labels: _Optional[int] = ..., arm: _Optional[_Union[StudyArm, str]] = ..., accuracy_gain_mean: _Optional[float] = ..., accuracy_gain_std: _Optional[float] = ..., loss_gain_mean: _Optional[float] = ..., paired_folds: _Optional[int] = ...) -> None: ...

class StudyArm(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = []

class StudyState(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = []
