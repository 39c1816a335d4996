"""Plain Python views of the pretext.v1 messages (dataclasses and string enums).

Every dataclass here mirrors one protobuf message field for field (same names, except
``StateChange.from``/``to`` -> ``from_state``/``to_state``); ``tests/test_models.py`` checks that
they stay in sync with the generated stubs. Enum values are the proto names without their
prefix (``RunState.SUCCEEDED == "SUCCEEDED"``). Unset sub-messages become ``None``.
"""

from __future__ import annotations

import dataclasses
import enum
import typing
from dataclasses import dataclass, field
from typing import Any, Dict, List, Optional, Type, TypeVar, Union

from google.protobuf.message import Message

from ._gen.pretext.v1 import cluster_pb2, datasets_pb2, event_pb2, run_pb2, service_pb2, study_pb2

# --------------------------------------------------------------------------------------------
# Enums


_E = TypeVar("_E", bound="_ProtoEnum")


class _ProtoEnum(str, enum.Enum):
    """A proto enum as strings without the type prefix; ``UNSPECIFIED`` is the zero value."""

    def __str__(self) -> str:  # "SUCCEEDED", not "RunState.SUCCEEDED"
        return self.value

    @classmethod
    def parse(cls: Type[_E], value: Any) -> _E:
        """Accepts a member, its name ("fine_tune", "FINE_TUNE"), the full proto name
        ("PROTOCOL_FINE_TUNE") or the proto number."""
        if isinstance(value, cls):
            return value
        if isinstance(value, bool):
            raise ValueError(f"not a {cls.__name__}: {value!r}")
        if isinstance(value, int):
            return cls.from_proto(value)
        if isinstance(value, str):
            name = value.strip().upper().replace("-", "_")
            if name.startswith(cls._prefix()):
                name = name[len(cls._prefix()) :]
            try:
                return cls[name]
            except KeyError:
                pass
        choices = ", ".join(m.value.lower() for m in cls if m.value != "UNSPECIFIED")
        raise ValueError(f"unknown {cls.__name__} {value!r} (one of: {choices})")

    @classmethod
    def _descriptor(cls) -> Any:
        return _ENUM_DESCRIPTORS[cls]

    @classmethod
    def _prefix(cls) -> str:
        """The proto names' prefix, e.g. "RUN_STATE_" (from "RUN_STATE_UNSPECIFIED")."""
        return cls._descriptor().values_by_number[0].name[: -len("UNSPECIFIED")]

    @classmethod
    def from_proto(cls: Type[_E], number: int) -> _E:
        value = cls._descriptor().values_by_number.get(number)
        if value is None:
            raise ValueError(f"unknown {cls.__name__} number {number}")
        return cls[value.name[len(cls._prefix()) :]]

    def to_proto(self) -> int:
        return self._descriptor().values_by_name[self._prefix() + self.value].number


class RunKind(_ProtoEnum):
    UNSPECIFIED = "UNSPECIFIED"
    PRETEXT = "PRETEXT"
    DOWNSTREAM = "DOWNSTREAM"
    EVALUATE = "EVALUATE"


class RunState(_ProtoEnum):
    UNSPECIFIED = "UNSPECIFIED"
    QUEUED = "QUEUED"
    RUNNING = "RUNNING"
    SUCCEEDED = "SUCCEEDED"
    FAILED = "FAILED"
    CANCELLED = "CANCELLED"
    INTERRUPTED = "INTERRUPTED"

    @property
    def terminal(self) -> bool:
        """Whether the run has stopped (INTERRUPTED runs stay stopped until resumed)."""
        return self in (
            RunState.SUCCEEDED,
            RunState.FAILED,
            RunState.CANCELLED,
            RunState.INTERRUPTED,
        )


class CheckpointChoice(_ProtoEnum):
    UNSPECIFIED = "UNSPECIFIED"
    BEST = "BEST"
    LAST = "LAST"


class Protocol(_ProtoEnum):
    UNSPECIFIED = "UNSPECIFIED"
    FINE_TUNE = "FINE_TUNE"
    LINEAR_PROBE = "LINEAR_PROBE"


class SubsetScheme(_ProtoEnum):
    UNSPECIFIED = "UNSPECIFIED"
    STRATIFIED_FOLD = "STRATIFIED_FOLD"
    CUMULATIVE = "CUMULATIVE"
    STL10_FOLD = "STL10_FOLD"


class Selection(_ProtoEnum):
    UNSPECIFIED = "UNSPECIFIED"
    WITHIN_BUDGET = "WITHIN_BUDGET"
    LAST_EPOCH = "LAST_EPOCH"
    EXTRA_LABELED = "EXTRA_LABELED"


class LogLevel(_ProtoEnum):
    UNSPECIFIED = "UNSPECIFIED"
    DEBUG = "DEBUG"
    INFO = "INFO"
    WARN = "WARN"
    ERROR = "ERROR"


class StudyArm(_ProtoEnum):
    UNSPECIFIED = "UNSPECIFIED"
    SL = "SL"
    SSL_FINE_TUNE = "SSL_FINE_TUNE"
    SSL_LINEAR_PROBE = "SSL_LINEAR_PROBE"


class StudyState(_ProtoEnum):
    UNSPECIFIED = "UNSPECIFIED"
    RUNNING = "RUNNING"
    SUCCEEDED = "SUCCEEDED"
    FAILED = "FAILED"
    CANCELLED = "CANCELLED"

    @property
    def terminal(self) -> bool:
        return self in (StudyState.SUCCEEDED, StudyState.FAILED, StudyState.CANCELLED)


_ENUM_DESCRIPTORS: Dict[type, Any] = {
    RunKind: run_pb2.DESCRIPTOR.enum_types_by_name["RunKind"],
    RunState: run_pb2.DESCRIPTOR.enum_types_by_name["RunState"],
    CheckpointChoice: run_pb2.DESCRIPTOR.enum_types_by_name["CheckpointChoice"],
    Protocol: run_pb2.DESCRIPTOR.enum_types_by_name["Protocol"],
    SubsetScheme: run_pb2.DESCRIPTOR.enum_types_by_name["SubsetScheme"],
    Selection: run_pb2.DESCRIPTOR.enum_types_by_name["Selection"],
    LogLevel: event_pb2.DESCRIPTOR.enum_types_by_name["LogLevel"],
    StudyArm: study_pb2.DESCRIPTOR.enum_types_by_name["StudyArm"],
    StudyState: study_pb2.DESCRIPTOR.enum_types_by_name["StudyState"],
}

# --------------------------------------------------------------------------------------------
# Messages


class _Model:
    """Base of the dataclasses: ``to_dict()`` gives plain JSON-able data."""

    def to_dict(self) -> Dict[str, Any]:
        return _plain(self)


def _plain(value: Any) -> Any:
    if isinstance(value, enum.Enum):
        return value.value
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: _plain(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    return value


# -- configuration (also accepted as input) ---------------------------------------------------


@dataclass
class TrainingOptions(_Model):
    epochs: int = 0
    batch_size: int = 0
    learning_rate: float = 0.0
    lr_schedule: str = ""
    plateau_patience: int = 0
    disable_plateau: bool = False
    # None = the method's default, decided by the daemon (as for every client).
    augment: Optional[bool] = None
    validation_fraction: float = 0.0
    max_steps_per_epoch: int = 0
    seed: int = 0
    validation_limit: int = 0
    min_steps: int = 0
    precision: str = ""


@dataclass
class ContrastiveOptions(_Model):
    temperature: float = 0.0
    queue_size: int = 0
    projection_dim: int = 0
    hidden_dim: int = 0
    predictor_dim: int = 0
    augment_strength: float = 0.0
    knn_k: int = 0


@dataclass
class PretextConfig(_Model):
    method: str = ""
    dataset: str = ""
    unlabeled_limit: int = 0
    architecture: str = ""
    depth: int = 0
    rotations_per_image: int = 0
    training: Optional[TrainingOptions] = None
    contrastive: Optional[ContrastiveOptions] = None


@dataclass
class DownstreamConfig(_Model):
    pretext_run_id: str = ""
    checkpoint: CheckpointChoice = CheckpointChoice.UNSPECIFIED
    protocol: Protocol = Protocol.UNSPECIFIED
    dataset: str = ""
    n_labels: int = 0
    fold: int = 0
    subset_scheme: SubsetScheme = SubsetScheme.UNSPECIFIED
    architecture: str = ""
    depth: int = 0
    training: Optional[TrainingOptions] = None
    test_limit: int = 0
    selection: Selection = Selection.UNSPECIFIED


@dataclass
class LabelsUsed(_Model):
    """The labeled images a downstream run uses: train + selection (extra = outside its budget)."""

    train: int = 0
    selection: int = 0
    extra: int = 0
    total: int = 0


@dataclass
class EvaluateConfig(_Model):
    target_run_id: str = ""
    checkpoint: CheckpointChoice = CheckpointChoice.UNSPECIFIED
    split: str = ""
    limit: int = 0


# -- results and runs -------------------------------------------------------------------------


@dataclass
class EvalResult(_Model):
    split: str = ""
    num_examples: int = 0
    loss: float = 0.0
    accuracy: float = 0.0
    num_classes: int = 0
    class_names: List[str] = field(default_factory=list)
    per_class_accuracy: List[float] = field(default_factory=list)
    confusion_matrix: List[int] = field(default_factory=list)
    checkpoint: str = ""
    task: str = ""

    def confusion(self) -> List[List[int]]:
        """The confusion matrix as rows (true class) of columns (predicted class)."""
        n = self.num_classes
        m = self.confusion_matrix
        return [list(m[i * n : (i + 1) * n]) for i in range(n)] if n else []


@dataclass
class RunResult(_Model):
    test: Optional[EvalResult] = None
    validation: Optional[EvalResult] = None
    best_epoch: int = 0
    best_val_accuracy: float = 0.0
    epochs_trained: int = 0
    train_seconds: float = 0.0
    extra: Dict[str, float] = field(default_factory=dict)


@dataclass
class Progress(_Model):
    epoch: int = 0
    epochs: int = 0
    step: int = 0
    total_steps: int = 0
    fraction: float = 0.0
    eta_seconds: float = 0.0
    images_per_second: float = 0.0


@dataclass
class Artifact(_Model):
    name: str = ""
    kind: str = ""
    path: str = ""
    epoch: int = 0
    created_at_unix_ms: int = 0
    metric: float = 0.0


RunConfig = Union[PretextConfig, DownstreamConfig, EvaluateConfig]


@dataclass
class RunAttempt(_Model):
    """One attempt of a run: where it trained (scale-out: which agent and host)."""

    attempt: int = 0
    host: str = ""
    agent_id: str = ""
    backend: str = ""
    code_revision: str = ""
    data_checksum: str = ""
    started_at_unix_ms: int = 0
    ended_at_unix_ms: int = 0
    outcome: str = ""
    resumed_after_epoch: int = 0


@dataclass
class AgentInfo(_Model):
    """A training agent of a coordinator (pretextd --queue)."""

    id: str = ""
    host: str = ""
    slots: int = 0
    backends: List[str] = field(default_factory=list)
    busy: int = 0
    last_seen_unix_ms: int = 0
    version: str = ""
    code_revision: str = ""
    online: bool = False


@dataclass
class Run(_Model):
    id: str = ""
    name: str = ""
    kind: RunKind = RunKind.UNSPECIFIED
    method: str = ""
    state: RunState = RunState.UNSPECIFIED
    # The `config` oneof: exactly one of these is set (or none).
    pretext: Optional[PretextConfig] = None
    downstream: Optional[DownstreamConfig] = None
    evaluate: Optional[EvaluateConfig] = None
    created_at_unix_ms: int = 0
    started_at_unix_ms: int = 0
    finished_at_unix_ms: int = 0
    error: str = ""
    parent_run_id: str = ""
    backend: str = ""
    seed: int = 0
    data_checksum: str = ""
    code_revision: str = ""
    progress: Optional[Progress] = None
    result: Optional[RunResult] = None
    artifacts: List[Artifact] = field(default_factory=list)
    attempts: int = 0
    last_seq: int = 0
    dataset: str = ""
    study_id: str = ""
    backend_detail: str = ""
    labels_used: Optional[LabelsUsed] = None
    attempt_history: List[RunAttempt] = field(default_factory=list)

    @property
    def config(self) -> Optional[RunConfig]:
        """The configuration, whichever kind it is."""
        return self.pretext or self.downstream or self.evaluate

    @property
    def done(self) -> bool:
        """Whether the run is in a terminal state."""
        return self.state.terminal


# -- server info ------------------------------------------------------------------------------


@dataclass
class BackendInfo(_Model):
    name: str = ""
    available: bool = False
    reason: str = ""
    detail: str = ""


@dataclass
class DatasetInfo(_Model):
    name: str = ""
    present: bool = False
    path: str = ""
    hint: str = ""


@dataclass
class DiskStatus(_Model):
    """Free space where the daemon writes, and whether its free-space guard holds runs."""

    state_dir_free_bytes: int = 0
    data_dir_free_bytes: int = 0
    min_free_bytes: int = 0
    starting_paused: bool = False
    reason: str = ""


@dataclass
class RetentionPolicy(_Model):
    last_checkpoint_days: int = 0
    step_events_per_run: int = 0


@dataclass
class ServerInfo(_Model):
    version: str = ""
    code_revision: str = ""
    hostname: str = ""
    backends: List[BackendInfo] = field(default_factory=list)
    backend: str = ""
    max_concurrent_runs: int = 0
    running_runs: int = 0
    queued_runs: int = 0
    datasets: List[DatasetInfo] = field(default_factory=list)
    pretext_methods: List[str] = field(default_factory=list)
    started_at_unix_ms: int = 0
    last_seq: int = 0
    node_version: str = ""
    data_dir: str = ""
    study_presets: List[str] = field(default_factory=list)
    architectures: List[str] = field(default_factory=list)
    disk: Optional[DiskStatus] = None
    state_dir: str = ""
    retention: Optional[RetentionPolicy] = None
    agents: List[AgentInfo] = field(default_factory=list)
    queue: str = ""


@dataclass
class Evaluation(_Model):
    """What ``Client.evaluate`` returns: the evaluation run and, after ``wait=True`` on a
    successful evaluation, its result."""

    run: Run = field(default_factory=Run)
    result: Optional[EvalResult] = None


# -- studies ----------------------------------------------------------------------------------


@dataclass
class StudyConfig(_Model):
    pretext_run_id: str = ""
    pretext: Optional[PretextConfig] = None
    label_budgets: List[int] = field(default_factory=list)
    folds: int = 0
    arms: List[StudyArm] = field(default_factory=list)
    downstream: Optional[DownstreamConfig] = None
    preset: str = ""


@dataclass
class StudyCell(_Model):
    n_labels: int = 0
    arm: StudyArm = StudyArm.UNSPECIFIED
    folds_done: int = 0
    folds_total: int = 0
    folds_failed: int = 0
    test_accuracy_mean: float = 0.0
    test_accuracy_std: float = 0.0
    test_loss_mean: float = 0.0
    test_loss_std: float = 0.0
    run_ids: List[str] = field(default_factory=list)
    labels_used: Optional[LabelsUsed] = None


@dataclass
class StudyGain(_Model):
    n_labels: int = 0
    arm: StudyArm = StudyArm.UNSPECIFIED
    accuracy_gain_mean: float = 0.0
    accuracy_gain_std: float = 0.0
    loss_gain_mean: float = 0.0
    paired_folds: int = 0


@dataclass
class Study(_Model):
    id: str = ""
    name: str = ""
    state: StudyState = StudyState.UNSPECIFIED
    config: Optional[StudyConfig] = None
    pretext_run_id: str = ""
    cells: List[StudyCell] = field(default_factory=list)
    gains: List[StudyGain] = field(default_factory=list)
    created_at_unix_ms: int = 0
    finished_at_unix_ms: int = 0
    error: str = ""
    runs_total: int = 0
    runs_ended: int = 0
    code_revision: str = ""

    @property
    def done(self) -> bool:
        return self.state.terminal


# -- events -----------------------------------------------------------------------------------


@dataclass
class StateChange(_Model):
    from_state: RunState = RunState.UNSPECIFIED
    to_state: RunState = RunState.UNSPECIFIED
    message: str = ""


@dataclass
class StepMetrics(_Model):
    epoch: int = 0
    step: int = 0
    total_steps: int = 0
    loss: float = 0.0
    accuracy: float = 0.0
    learning_rate: float = 0.0
    images_per_second: float = 0.0
    eta_seconds: float = 0.0
    extra: Dict[str, float] = field(default_factory=dict)


@dataclass
class EpochMetrics(_Model):
    epoch: int = 0
    epochs: int = 0
    train_loss: float = 0.0
    train_accuracy: float = 0.0
    val_loss: float = 0.0
    val_accuracy: float = 0.0
    learning_rate: float = 0.0
    seconds: float = 0.0
    extra: Dict[str, float] = field(default_factory=dict)


@dataclass
class LogLine(_Model):
    level: LogLevel = LogLevel.UNSPECIFIED
    message: str = ""


@dataclass
class CheckpointSaved(_Model):
    artifact: Optional[Artifact] = None


@dataclass
class StudyUpdate(_Model):
    study: Optional[Study] = None


@dataclass
class DownloadProgress(_Model):
    dataset: str = ""
    file: str = ""
    bytes_done: int = 0
    bytes_total: int = 0
    bytes_per_second: float = 0.0
    eta_seconds: float = 0.0
    phase: str = ""


@dataclass
class DatasetImportProgress(_Model):
    """Import progress of a dataset (events whose ``run_id`` is "d-<name>")."""

    name: str = ""
    phase: str = ""
    done: int = 0
    total: int = 0
    error: str = ""


EventPayload = Union[
    DatasetImportProgress,
    StateChange,
    StepMetrics,
    EpochMetrics,
    LogLine,
    CheckpointSaved,
    DownloadProgress,
    RunResult,
    StudyUpdate,
]


@dataclass
class Event(_Model):
    """One entry of the daemon's event log.

    ``kind`` names the payload: "state", "step", "epoch", "log", "checkpoint", "download",
    "result", "study" (or "" for a payload this client does not know); ``data`` is the
    matching dataclass. For "study" events ``run_id`` holds the study id.
    """

    seq: int = 0
    run_id: str = ""
    time_unix_ms: int = 0
    kind: str = ""
    data: Optional[EventPayload] = None

    # Typed views of `data`: the payload when it is of that kind, else None.
    @property
    def state(self) -> Optional[StateChange]:
        return self.data if isinstance(self.data, StateChange) else None

    @property
    def step(self) -> Optional[StepMetrics]:
        return self.data if isinstance(self.data, StepMetrics) else None

    @property
    def epoch(self) -> Optional[EpochMetrics]:
        return self.data if isinstance(self.data, EpochMetrics) else None

    @property
    def log(self) -> Optional[LogLine]:
        return self.data if isinstance(self.data, LogLine) else None

    @property
    def checkpoint(self) -> Optional[CheckpointSaved]:
        return self.data if isinstance(self.data, CheckpointSaved) else None

    @property
    def download(self) -> Optional[DownloadProgress]:
        return self.data if isinstance(self.data, DownloadProgress) else None

    @property
    def result(self) -> Optional[RunResult]:
        return self.data if isinstance(self.data, RunResult) else None

    @property
    def study(self) -> Optional[StudyUpdate]:
        return self.data if isinstance(self.data, StudyUpdate) else None


# --------------------------------------------------------------------------------------------
# Conversion

# dataclass -> protobuf message class
_MESSAGES: Dict[type, Any] = {
    TrainingOptions: run_pb2.TrainingOptions,
    ContrastiveOptions: run_pb2.ContrastiveOptions,
    PretextConfig: run_pb2.PretextConfig,
    DownstreamConfig: run_pb2.DownstreamConfig,
    EvaluateConfig: run_pb2.EvaluateConfig,
    EvalResult: run_pb2.EvalResult,
    RunResult: run_pb2.RunResult,
    Progress: run_pb2.Progress,
    Artifact: run_pb2.Artifact,
    Run: run_pb2.Run,
    LabelsUsed: run_pb2.LabelsUsed,
    RunAttempt: cluster_pb2.RunAttempt,
    AgentInfo: cluster_pb2.AgentInfo,
    BackendInfo: service_pb2.BackendInfo,
    DatasetInfo: service_pb2.DatasetInfo,
    DiskStatus: service_pb2.DiskStatus,
    RetentionPolicy: service_pb2.RetentionPolicy,
    ServerInfo: service_pb2.GetServerInfoResponse,
    StateChange: event_pb2.StateChange,
    StepMetrics: event_pb2.StepMetrics,
    EpochMetrics: event_pb2.EpochMetrics,
    LogLine: event_pb2.LogLine,
    CheckpointSaved: event_pb2.CheckpointSaved,
    DownloadProgress: event_pb2.DownloadProgress,
    DatasetImportProgress: datasets_pb2.DatasetImportProgress,
    StudyUpdate: event_pb2.StudyUpdate,
    StudyConfig: study_pb2.StudyConfig,
    StudyCell: study_pb2.StudyCell,
    StudyGain: study_pb2.StudyGain,
    Study: study_pb2.Study,
}

# (dataclass, proto field name) -> dataclass field name, where they differ
_RENAMED: Dict[type, Dict[str, str]] = {
    StateChange: {"from": "from_state", "to": "to_state"},
}

_EVENT_PAYLOADS: Dict[str, type] = {
    "state": StateChange,
    "step": StepMetrics,
    "epoch": EpochMetrics,
    "log": LogLine,
    "checkpoint": CheckpointSaved,
    "download": DownloadProgress,
    "result": RunResult,
    "study": StudyUpdate,
    "dataset_import": DatasetImportProgress,
}

_HINTS: Dict[type, Dict[str, Any]] = {}


def _hints(cls: type) -> Dict[str, Any]:
    hints = _HINTS.get(cls)
    if hints is None:
        hints = typing.get_type_hints(cls)
        _HINTS[cls] = hints
    return hints


def _unoptional(hint: Any) -> Any:
    if typing.get_origin(hint) is Union:
        args = [a for a in typing.get_args(hint) if a is not type(None)]
        if len(args) == 1:
            return args[0]
    return hint


def _field_name(cls: type, proto_name: str) -> str:
    return _RENAMED.get(cls, {}).get(proto_name, proto_name)


def from_proto(cls: type, msg: Message) -> Any:
    """Converts a protobuf message to the dataclass ``cls`` mirroring it."""
    hints = _hints(cls)
    values: Dict[str, Any] = {}
    for fd in msg.DESCRIPTOR.fields:
        name = _field_name(cls, fd.name)
        if name not in hints:
            continue  # a field newer than this client: ignore
        hint = _unoptional(hints[name])
        raw = getattr(msg, fd.name)
        if fd.message_type is not None and fd.message_type.GetOptions().map_entry:
            values[name] = dict(sorted(raw.items()))
        elif fd.label == fd.LABEL_REPEATED:
            item = _unoptional(typing.get_args(hint)[0]) if typing.get_args(hint) else Any
            if fd.message_type is not None:
                values[name] = [from_proto(item, m) for m in raw]
            elif fd.enum_type is not None:
                values[name] = [item.from_proto(v) for v in raw]
            else:
                values[name] = list(raw)
        elif fd.message_type is not None:
            values[name] = from_proto(hint, raw) if msg.HasField(fd.name) else None
        elif fd.enum_type is not None:
            try:
                values[name] = hint.from_proto(raw)
            except ValueError:
                values[name] = hint.UNSPECIFIED  # a value newer than this client
        elif getattr(fd, "has_presence", False) and not msg.HasField(fd.name):
            values[name] = None  # an unset `optional` field: the daemon's default applies
        else:
            values[name] = raw
    return cls(**values)


def to_proto(obj: Any, msg_cls: Any = None) -> Message:
    """Converts a dataclass (or a dict of its fields) to a protobuf message."""
    if msg_cls is None:
        msg_cls = _MESSAGES[type(obj)]
    cls = next((c for c, m in _MESSAGES.items() if m is msg_cls), None)
    if cls is None:
        raise TypeError(f"no dataclass for {msg_cls.DESCRIPTOR.full_name}")
    return _to_proto(coerce(cls, obj), msg_cls())


def coerce(cls: type, value: Any) -> Any:
    """Builds dataclass ``cls`` from an instance, a dict of its fields or None."""
    if value is None:
        return cls()
    if isinstance(value, cls):
        return value
    if isinstance(value, dict):
        known = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(value) - known)
        if unknown:
            raise TypeError(f"{cls.__name__} has no field(s) {', '.join(unknown)}")
        return cls(**value)
    raise TypeError(f"expected {cls.__name__} or dict, got {type(value).__name__}")


def _to_proto(obj: Any, msg: Message) -> Message:
    cls = type(obj)
    hints = _hints(cls)
    for fd in msg.DESCRIPTOR.fields:
        name = _field_name(cls, fd.name)
        if name not in hints:
            continue
        value = getattr(obj, name)
        if value is None:
            continue
        hint = _unoptional(hints[name])
        target = getattr(msg, fd.name)
        if fd.message_type is not None and fd.message_type.GetOptions().map_entry:
            target.update(value)
        elif fd.label == fd.LABEL_REPEATED:
            if fd.message_type is not None:
                item = _unoptional(typing.get_args(hint)[0])
                for v in value:
                    _to_proto(coerce(item, v), target.add())
            elif fd.enum_type is not None:
                item = typing.get_args(hint)[0]
                target.extend(item.parse(v).to_proto() for v in value)
            else:
                target.extend(value)
        elif fd.message_type is not None:
            _to_proto(coerce(hint, value), target)
        elif fd.enum_type is not None:
            setattr(msg, fd.name, hint.parse(value).to_proto())
        else:
            setattr(msg, fd.name, value)
    return msg


def run_from_proto(msg: run_pb2.Run) -> Run:
    return from_proto(Run, msg)


def event_from_proto(msg: event_pb2.RunEvent) -> Event:
    kind = msg.WhichOneof("payload") or ""
    payload_cls = _EVENT_PAYLOADS.get(kind)
    data = from_proto(payload_cls, getattr(msg, kind)) if payload_cls else None
    return Event(
        seq=msg.seq,
        run_id=msg.run_id,
        time_unix_ms=msg.time_unix_ms,
        kind=kind if payload_cls else "",
        data=data,
    )
