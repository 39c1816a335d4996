from . import cluster_pb2 as _cluster_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from typing import ClassVar as _ClassVar, Iterable as _Iterable, Mapping as _Mapping, Optional as _Optional, Union as _Union

CHECKPOINT_CHOICE_BEST: CheckpointChoice
CHECKPOINT_CHOICE_LAST: CheckpointChoice
CHECKPOINT_CHOICE_UNSPECIFIED: CheckpointChoice
DESCRIPTOR: _descriptor.FileDescriptor
PROTOCOL_FINE_TUNE: Protocol
PROTOCOL_LINEAR_PROBE: Protocol
PROTOCOL_UNSPECIFIED: Protocol
RUN_KIND_DOWNSTREAM: RunKind
RUN_KIND_EVALUATE: RunKind
RUN_KIND_PRETEXT: RunKind
RUN_KIND_UNSPECIFIED: RunKind
RUN_STATE_CANCELLED: RunState
RUN_STATE_FAILED: RunState
RUN_STATE_INTERRUPTED: RunState
RUN_STATE_QUEUED: RunState
RUN_STATE_RUNNING: RunState
RUN_STATE_SUCCEEDED: RunState
RUN_STATE_UNSPECIFIED: RunState
SELECTION_EXTRA_LABELED: Selection
SELECTION_LAST_EPOCH: Selection
SELECTION_UNSPECIFIED: Selection
SELECTION_WITHIN_BUDGET: Selection
SUBSET_SCHEME_CUMULATIVE: SubsetScheme
SUBSET_SCHEME_STL10_FOLD: SubsetScheme
SUBSET_SCHEME_STRATIFIED_FOLD: SubsetScheme
SUBSET_SCHEME_UNSPECIFIED: SubsetScheme

class Artifact(_message.Message):
    __slots__ = ["created_at_unix_ms", "epoch", "kind", "metric", "name", "path"]
    CREATED_AT_UNIX_MS_FIELD_NUMBER: _ClassVar[int]
    EPOCH_FIELD_NUMBER: _ClassVar[int]
    KIND_FIELD_NUMBER: _ClassVar[int]
    METRIC_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    PATH_FIELD_NUMBER: _ClassVar[int]
    created_at_unix_ms: int
    epoch: int
    kind: str
    metric: float
    name: str
    path: str
    def __init__(self, name: _Optional[str] = ..., kind: _Optional[str] = ..., path: _Optional[str] = ..., epoch: _Optional[int] = ..., created_at_unix_ms: _Optional[int] = ..., metric: _Optional[float] = ...) -> None: ...

class ContrastiveOptions(_message.Message):
    __slots__ = ["augment_strength", "hidden_dim", "knn_k", "predictor_dim", "projection_dim", "queue_size", "temperature"]
    AUGMENT_STRENGTH_FIELD_NUMBER: _ClassVar[int]
    HIDDEN_DIM_FIELD_NUMBER: _ClassVar[int]
    KNN_K_FIELD_NUMBER: _ClassVar[int]
    PREDICTOR_DIM_FIELD_NUMBER: _ClassVar[int]
    PROJECTION_DIM_FIELD_NUMBER: _ClassVar[int]
    QUEUE_SIZE_FIELD_NUMBER: _ClassVar[int]
    TEMPERATURE_FIELD_NUMBER: _ClassVar[int]
    augment_strength: float
    hidden_dim: int
    knn_k: int
    predictor_dim: int
    projection_dim: int
    queue_size: int
    temperature: float
    def __init__(self, temperature: _Optional[float] = ..., queue_size: _Optional[int] = ..., projection_dim: _Optional[int] = ..., hidden_dim: _Optional[int] = ..., predictor_dim: _Optional[int] = ..., augment_strength: _Optional[float] = ..., knn_k: _Optional[int] = ...) -> None: ...

class DownstreamConfig(_message.Message):
    __slots__ = ["architecture", "checkpoint", "dataset", "depth", "fold", "n_labels", "pretext_run_id", "protocol", "selection", "subset_scheme", "test_limit", "training"]
    ARCHITECTURE_FIELD_NUMBER: _ClassVar[int]
    CHECKPOINT_FIELD_NUMBER: _ClassVar[int]
    DATASET_FIELD_NUMBER: _ClassVar[int]
    DEPTH_FIELD_NUMBER: _ClassVar[int]
    FOLD_FIELD_NUMBER: _ClassVar[int]
    N_LABELS_FIELD_NUMBER: _ClassVar[int]
    PRETEXT_RUN_ID_FIELD_NUMBER: _ClassVar[int]
    PROTOCOL_FIELD_NUMBER: _ClassVar[int]
    SELECTION_FIELD_NUMBER: _ClassVar[int]
    SUBSET_SCHEME_FIELD_NUMBER: _ClassVar[int]
    TEST_LIMIT_FIELD_NUMBER: _ClassVar[int]
    TRAINING_FIELD_NUMBER: _ClassVar[int]
    architecture: str
    checkpoint: CheckpointChoice
    dataset: str
    depth: int
    fold: int
    n_labels: int
    pretext_run_id: str
    protocol: Protocol
    selection: Selection
    subset_scheme: SubsetScheme
    test_limit: int
    training: TrainingOptions
    def __init__(self, pretext_run_id: _Optional[str] = ..., checkpoint: _Optional[_Union[CheckpointChoice, str]] = ..., protocol: _Optional[_Union[Protocol, str]] = ..., dataset: _Optional[str] = ..., n_labels: _Optional[int] = ..., fold: _Optional[int] = ..., subset_scheme: _Optional[_Union[SubsetScheme, str]] = ..., architecture: _Optional[str] = ..., depth: _Optional[int] = ..., training: _Optional[_Union[TrainingOptions, _Mapping]] = ..., test_limit: _Optional[int] = ..., selection: _Optional[_Union[Selection, str]] = ...) -> None: ...

class EvalResult(_message.Message):
    __slots__ = ["accuracy", "checkpoint", "class_names", "confusion_matrix", "loss", "num_classes", "num_examples", "per_class_accuracy", "split", "task"]
    ACCURACY_FIELD_NUMBER: _ClassVar[int]
    CHECKPOINT_FIELD_NUMBER: _ClassVar[int]
    CLASS_NAMES_FIELD_NUMBER: _ClassVar[int]
    CONFUSION_MATRIX_FIELD_NUMBER: _ClassVar[int]
    LOSS_FIELD_NUMBER: _ClassVar[int]
    NUM_CLASSES_FIELD_NUMBER: _ClassVar[int]
    NUM_EXAMPLES_FIELD_NUMBER: _ClassVar[int]
    PER_CLASS_ACCURACY_FIELD_NUMBER: _ClassVar[int]
    SPLIT_FIELD_NUMBER: _ClassVar[int]
    TASK_FIELD_NUMBER: _ClassVar[int]
    accuracy: float
    checkpoint: str
    class_names: _containers.RepeatedScalarFieldContainer[str]
    confusion_matrix: _containers.RepeatedScalarFieldContainer[int]
    loss: float
    num_classes: int
    num_examples: int
    per_class_accuracy: _containers.RepeatedScalarFieldContainer[float]
    split: str
    task: str
    def __init__(self, split: _Optional[str] = ..., num_examples: _Optional[int] = ..., loss: _Optional[float] = ..., accuracy: _Optional[float] = ..., num_classes: _Optional[int] = ..., class_names: _Optional[_Iterable[str]] = ..., per_class_accuracy: _Optional[_Iterable[float]] = ..., confusion_matrix: _Optional[_Iterable[int]] = ..., checkpoint: _Optional[str] = ..., task: _Optional[str] = ...) -> None: ...

class EvaluateConfig(_message.Message):
    __slots__ = ["checkpoint", "limit", "split", "target_run_id"]
    CHECKPOINT_FIELD_NUMBER: _ClassVar[int]
    LIMIT_FIELD_NUMBER: _ClassVar[int]
    SPLIT_FIELD_NUMBER: _ClassVar[int]
    TARGET_RUN_ID_FIELD_NUMBER: _ClassVar[int]
    checkpoint: CheckpointChoice
    limit: int
    split: str
    target_run_id: str
    def __init__(self, target_run_id: _Optional[str] = ..., checkpoint: _Optional[_Union[CheckpointChoice, str]] = ..., split: _Optional[str] = ..., limit: _Optional[int] = ...) -> None: ...

class LabelsUsed(_message.Message):
    __slots__ = ["extra", "selection", "total", "train"]
    EXTRA_FIELD_NUMBER: _ClassVar[int]
    SELECTION_FIELD_NUMBER: _ClassVar[int]
    TOTAL_FIELD_NUMBER: _ClassVar[int]
    TRAIN_FIELD_NUMBER: _ClassVar[int]
    extra: int
    selection: int
    total: int
    train: int
    def __init__(self, train: _Optional[int] = ..., selection: _Optional[int] = ..., extra: _Optional[int] = ..., total: _Optional[int] = ...) -> None: ...

class PretextConfig(_message.Message):
    __slots__ = ["architecture", "contrastive", "dataset", "depth", "method", "rotations_per_image", "training", "unlabeled_limit"]
    ARCHITECTURE_FIELD_NUMBER: _ClassVar[int]
    CONTRASTIVE_FIELD_NUMBER: _ClassVar[int]
    DATASET_FIELD_NUMBER: _ClassVar[int]
    DEPTH_FIELD_NUMBER: _ClassVar[int]
    METHOD_FIELD_NUMBER: _ClassVar[int]
    ROTATIONS_PER_IMAGE_FIELD_NUMBER: _ClassVar[int]
    TRAINING_FIELD_NUMBER: _ClassVar[int]
    UNLABELED_LIMIT_FIELD_NUMBER: _ClassVar[int]
    architecture: str
    contrastive: ContrastiveOptions
    dataset: str
    depth: int
    method: str
    rotations_per_image: int
    training: TrainingOptions
    unlabeled_limit: int
    def __init__(self, method: _Optional[str] = ..., dataset: _Optional[str] = ..., unlabeled_limit: _Optional[int] = ..., architecture: _Optional[str] = ..., depth: _Optional[int] = ..., rotations_per_image: _Optional[int] = ..., training: _Optional[_Union[TrainingOptions, _Mapping]] = ..., contrastive: _Optional[_Union[ContrastiveOptions, _Mapping]] = ...) -> None: ...

class Progress(_message.Message):
    __slots__ = ["epoch", "epochs", "eta_seconds", "fraction", "images_per_second", "step", "total_steps"]
    EPOCHS_FIELD_NUMBER: _ClassVar[int]
    EPOCH_FIELD_NUMBER: _ClassVar[int]
    ETA_SECONDS_FIELD_NUMBER: _ClassVar[int]
    FRACTION_FIELD_NUMBER: _ClassVar[int]
    IMAGES_PER_SECOND_FIELD_NUMBER: _ClassVar[int]
    STEP_FIELD_NUMBER: _ClassVar[int]
    TOTAL_STEPS_FIELD_NUMBER: _ClassVar[int]
    epoch: int
    epochs: int
    eta_seconds: float
    fraction: float
    images_per_second: float
    step: int
    total_steps: int
    def __init__(self, epoch: _Optional[int] = ..., epochs: _Optional[int] = ..., step: _Optional[int] = ..., total_steps: _Optional[int] = ..., fraction: _Optional[float] = ..., eta_seconds: _Optional[float] = ..., images_per_second: _Optional[float] = ...) -> None: ...

class Run(_message.Message):
    __slots__ = ["artifacts", "attempt_history", "attempts", "backend", "backend_detail", "code_revision", "created_at_unix_ms", "data_checksum", "dataset", "downstream", "error", "evaluate", "finished_at_unix_ms", "id", "kind", "labels_used", "last_seq", "method", "name", "parent_run_id", "pretext", "progress", "result", "seed", "started_at_unix_ms", "state", "study_id"]
    ARTIFACTS_FIELD_NUMBER: _ClassVar[int]
    ATTEMPTS_FIELD_NUMBER: _ClassVar[int]
    ATTEMPT_HISTORY_FIELD_NUMBER: _ClassVar[int]
    BACKEND_DETAIL_FIELD_NUMBER: _ClassVar[int]
    BACKEND_FIELD_NUMBER: _ClassVar[int]
    CODE_REVISION_FIELD_NUMBER: _ClassVar[int]
    CREATED_AT_UNIX_MS_FIELD_NUMBER: _ClassVar[int]
    DATASET_FIELD_NUMBER: _ClassVar[int]
    DATA_CHECKSUM_FIELD_NUMBER: _ClassVar[int]
    DOWNSTREAM_FIELD_NUMBER: _ClassVar[int]
    ERROR_FIELD_NUMBER: _ClassVar[int]
    EVALUATE_FIELD_NUMBER: _ClassVar[int]
    FINISHED_AT_UNIX_MS_FIELD_NUMBER: _ClassVar[int]
    ID_FIELD_NUMBER: _ClassVar[int]
    KIND_FIELD_NUMBER: _ClassVar[int]
    LABELS_USED_FIELD_NUMBER: _ClassVar[int]
    LAST_SEQ_FIELD_NUMBER: _ClassVar[int]
    METHOD_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    PARENT_RUN_ID_FIELD_NUMBER: _ClassVar[int]
    PRETEXT_FIELD_NUMBER: _ClassVar[int]
    PROGRESS_FIELD_NUMBER: _ClassVar[int]
    RESULT_FIELD_NUMBER: _ClassVar[int]
    SEED_FIELD_NUMBER: _ClassVar[int]
    STARTED_AT_UNIX_MS_FIELD_NUMBER: _ClassVar[int]
    STATE_FIELD_NUMBER: _ClassVar[int]
    STUDY_ID_FIELD_NUMBER: _ClassVar[int]
    artifacts: _containers.RepeatedCompositeFieldContainer[Artifact]
    attempt_history: _containers.RepeatedCompositeFieldContainer[_cluster_pb2.RunAttempt]
    attempts: int
    backend: str
    backend_detail: str
    code_revision: str
    created_at_unix_ms: int
    data_checksum: str
    dataset: str
    downstream: DownstreamConfig
    error: str
    evaluate: EvaluateConfig
    finished_at_unix_ms: int
    id: str
    kind: RunKind
    labels_used: LabelsUsed
    last_seq: int
    method: str
    name: str
    parent_run_id: str
    pretext: PretextConfig
    progress: Progress
    result: RunResult
    seed: int
    started_at_unix_ms: int
    state: RunState
    study_id: str
    def __init__(self, id: _Optional[str] = ..., name: _Optional[str] = ..., kind: _Optional[_Union[RunKind, str]] = ..., method: _Optional[str] = ..., state: _Optional[_Union[RunState, str]] = ..., pretext: _Optional[_Union[PretextConfig, _Mapping]] = ..., downstream: _Optional[_Union[DownstreamConfig, _Mapping]] = ..., evaluate: _Optional[_Union[EvaluateConfig, _Mapping]] = ..., created_at_unix_ms: _Optional[int] = ..., started_at_unix_ms: _Optional[int] = ..., finished_at_unix_ms: _Optional[int] = ..., error: _Optional[str] = ..., parent_run_id: _Optional[str] = ..., backend: _Optional[str] = ..., seed: _Optional[int] = ..., data_checksum: _Optional[str] = ..., code_revision: _Optional[str] = ..., progress: _Optional[_Union[Progress, _Mapping]] = ..., result: _Optional[_Union[RunResult, _Mapping]] = ..., artifacts: _Optional[_Iterable[_Union[Artifact, _Mapping]]] = ..., attempts: _Optional[int] = ..., last_seq: _Optional[int] = ..., dataset: _Optional[str] = ..., study_id: _Optional[str] = ..., backend_detail: _Optional[str] = ..., labels_used: _Optional[_Union[LabelsUsed, _Mapping]] = ..., attempt_history: _Optional[_Iterable[_Union[_cluster_pb2.RunAttempt, _Mapping]]] = ...) -> None: ...

class RunResult(_message.Message):
    __slots__ = ["best_epoch", "best_val_accuracy", "epochs_trained", "extra", "test", "train_seconds", "validation"]
    class ExtraEntry(_message.Message):
        __slots__ = ["key", "value"]
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: float
        def __init__(self, key: _Optional[str] = ..., value: _Optional[float] = ...) -> None: ...
    BEST_EPOCH_FIELD_NUMBER: _ClassVar[int]
    BEST_VAL_ACCURACY_FIELD_NUMBER: _ClassVar[int]
    EPOCHS_TRAINED_FIELD_NUMBER: _ClassVar[int]
    EXTRA_FIELD_NUMBER: _ClassVar[int]
    TEST_FIELD_NUMBER: _ClassVar[int]
    TRAIN_SECONDS_FIELD_NUMBER: _ClassVar[int]
    VALIDATION_FIELD_NUMBER: _ClassVar[int]
    best_epoch: int
    best_val_accuracy: float
    epochs_trained: int
    extra: _containers.ScalarMap[str, float]
    test: EvalResult
    train_seconds: float
    validation: EvalResult
    def __init__(self, test: _Optional[_Union[EvalResult, _Mapping]] = ..., validation: _Optional[_Union[EvalResult, _Mapping]] = ..., best_epoch: _Optional[int] = ..., best_val_accuracy: _Optional[float] = ..., epochs_trained: _Optional[int] = ..., train_seconds: _Optional[float] = ..., extra: _Optional[_Mapping[str, float]] = ...) -> None: ...

class TrainingOptions(_message.Message):
    __slots__ = ["augment", "batch_size", "disable_plateau", "epochs", "learning_rate", "lr_schedule", "max_steps_per_epoch", "min_steps", "plateau_patience", "precision", "seed", "validation_fraction", "validation_limit"]
    AUGMENT_FIELD_NUMBER: _ClassVar[int]
    BATCH_SIZE_FIELD_NUMBER: _ClassVar[int]
    DISABLE_PLATEAU_FIELD_NUMBER: _ClassVar[int]
    EPOCHS_FIELD_NUMBER: _ClassVar[int]
    LEARNING_RATE_FIELD_NUMBER: _ClassVar[int]
    LR_SCHEDULE_FIELD_NUMBER: _ClassVar[int]
    MAX_STEPS_PER_EPOCH_FIELD_NUMBER: _ClassVar[int]
    MIN_STEPS_FIELD_NUMBER: _ClassVar[int]
    PLATEAU_PATIENCE_FIELD_NUMBER: _ClassVar[int]
    PRECISION_FIELD_NUMBER: _ClassVar[int]
    SEED_FIELD_NUMBER: _ClassVar[int]
    VALIDATION_FRACTION_FIELD_NUMBER: _ClassVar[int]
    VALIDATION_LIMIT_FIELD_NUMBER: _ClassVar[int]
    augment: bool
    batch_size: int
    disable_plateau: bool
    epochs: int
    learning_rate: float
    lr_schedule: str
    max_steps_per_epoch: int
    min_steps: int
    plateau_patience: int
    precision: str
    seed: int
    validation_fraction: float
    validation_limit: int
    def __init__(self, epochs: _Optional[int] = ..., batch_size: _Optional[int] = ..., learning_rate: _Optional[float] = ..., lr_schedule: _Optional[str] = ..., plateau_patience: _Optional[int] = ..., disable_plateau: bool = ..., augment: bool = ..., validation_fraction: _Optional[float] = ..., max_steps_per_epoch: _Optional[int] = ..., seed: _Optional[int] = ..., validation_limit: _Optional[int] = ..., min_steps: _Optional[int] = ..., precision: _Optional[str] = ...) -> None: ...

class RunKind(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = []

class RunState(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = []

class CheckpointChoice(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = []

class Protocol(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = []

class SubsetScheme(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = []

class Selection(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = []
