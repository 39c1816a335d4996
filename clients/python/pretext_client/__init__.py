"""pretext_client: Python client of pretextd, the pretext self-supervised-learning daemon.

    from pretext_client import Client
    with Client("127.0.0.1:50051", token="...") as c:
        run = c.start_pretext(method="rotation", dataset="cifar10", training={"epochs": 2})
        for ev in c.stream(run.id):
            print(ev.seq, ev.kind, ev.data)
        print(c.wait(run.id).result)

The generated protobuf/gRPC modules are ``pretext_client.pb.{run_pb2, event_pb2, study_pb2,
service_pb2, service_pb2_grpc}`` (``Client.stub`` is the raw ``PretextServiceStub``).
"""

from . import pb
from .client import Client, EventStream
from .datasets import Dataset, SkippedFile
from .errors import (
    FieldError,
    AuthError,
    DeadlineExceededError,
    InvalidArgumentError,
    NotFoundError,
    PretextError,
    RunFailedError,
    UnavailableError,
)
from .models import (
    Artifact,
    BackendInfo,
    CheckpointChoice,
    CheckpointSaved,
    ContrastiveOptions,
    DatasetInfo,
    DiskStatus,
    RetentionPolicy,
    DownloadProgress,
    DownstreamConfig,
    EpochMetrics,
    EvalResult,
    Evaluation,
    EvaluateConfig,
    Event,
    LogLevel,
    LogLine,
    PretextConfig,
    Progress,
    Protocol,
    Run,
    RunKind,
    RunResult,
    RunState,
    ServerInfo,
    StateChange,
    StepMetrics,
    Study,
    StudyArm,
    StudyCell,
    Selection,
    LabelsUsed,
    StudyConfig,
    StudyGain,
    StudyState,
    StudyUpdate,
    SubsetScheme,
    TrainingOptions,
)
from .models_out import ClassScore, Embeddings, ExportResult, Prediction

__version__ = "0.1.0"

__all__ = [
    "Dataset",
    "SkippedFile",
    "Artifact",
    "AuthError",
    "BackendInfo",
    "CheckpointChoice",
    "CheckpointSaved",
    "ClassScore",
    "Client",
    "ContrastiveOptions",
    "DatasetInfo",
    "DiskStatus",
    "RetentionPolicy",
    "DeadlineExceededError",
    "FieldError",
    "DownloadProgress",
    "DownstreamConfig",
    "Embeddings",
    "EpochMetrics",
    "EvalResult",
    "Evaluation",
    "EvaluateConfig",
    "Event",
    "EventStream",
    "ExportResult",
    "InvalidArgumentError",
    "LogLevel",
    "LogLine",
    "NotFoundError",
    "Prediction",
    "PretextConfig",
    "PretextError",
    "Progress",
    "Protocol",
    "Run",
    "RunFailedError",
    "RunKind",
    "RunResult",
    "RunState",
    "ServerInfo",
    "StateChange",
    "StepMetrics",
    "Study",
    "StudyArm",
    "StudyCell",
    "StudyConfig",
    "StudyGain",
    "StudyState",
    "StudyUpdate",
    "SubsetScheme",
    "Selection",
    "LabelsUsed",
    "TrainingOptions",
    "UnavailableError",
    "pb",
]
