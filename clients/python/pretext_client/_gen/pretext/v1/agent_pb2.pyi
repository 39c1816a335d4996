from . import event_pb2 as _event_pb2
from . import run_pb2 as _run_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from typing import ClassVar as _ClassVar, Iterable as _Iterable, Mapping as _Mapping, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class AttemptHello(_message.Message):
    __slots__ = ["agent_id", "attempt", "run_id"]
    AGENT_ID_FIELD_NUMBER: _ClassVar[int]
    ATTEMPT_FIELD_NUMBER: _ClassVar[int]
    RUN_ID_FIELD_NUMBER: _ClassVar[int]
    agent_id: str
    attempt: int
    run_id: str
    def __init__(self, run_id: _Optional[str] = ..., attempt: _Optional[int] = ..., agent_id: _Optional[str] = ...) -> None: ...

class AttemptItem(_message.Message):
    __slots__ = ["agent_seq", "checkpoint_sha256", "event", "meta", "outcome"]
    AGENT_SEQ_FIELD_NUMBER: _ClassVar[int]
    CHECKPOINT_SHA256_FIELD_NUMBER: _ClassVar[int]
    EVENT_FIELD_NUMBER: _ClassVar[int]
    META_FIELD_NUMBER: _ClassVar[int]
    OUTCOME_FIELD_NUMBER: _ClassVar[int]
    agent_seq: int
    checkpoint_sha256: str
    event: _event_pb2.RunEvent
    meta: AttemptMeta
    outcome: AttemptOutcome
    def __init__(self, agent_seq: _Optional[int] = ..., event: _Optional[_Union[_event_pb2.RunEvent, _Mapping]] = ..., meta: _Optional[_Union[AttemptMeta, _Mapping]] = ..., outcome: _Optional[_Union[AttemptOutcome, _Mapping]] = ..., checkpoint_sha256: _Optional[str] = ...) -> None: ...

class AttemptMeta(_message.Message):
    __slots__ = ["backend", "backend_detail", "data_checksum"]
    BACKEND_DETAIL_FIELD_NUMBER: _ClassVar[int]
    BACKEND_FIELD_NUMBER: _ClassVar[int]
    DATA_CHECKSUM_FIELD_NUMBER: _ClassVar[int]
    backend: str
    backend_detail: str
    data_checksum: str
    def __init__(self, backend: _Optional[str] = ..., backend_detail: _Optional[str] = ..., data_checksum: _Optional[str] = ...) -> None: ...

class AttemptOutcome(_message.Message):
    __slots__ = ["error", "result", "type"]
    ERROR_FIELD_NUMBER: _ClassVar[int]
    RESULT_FIELD_NUMBER: _ClassVar[int]
    TYPE_FIELD_NUMBER: _ClassVar[int]
    error: str
    result: _run_pb2.RunResult
    type: str
    def __init__(self, type: _Optional[str] = ..., result: _Optional[_Union[_run_pb2.RunResult, _Mapping]] = ..., error: _Optional[str] = ...) -> None: ...

class AttemptRequest(_message.Message):
    __slots__ = ["hello", "item"]
    HELLO_FIELD_NUMBER: _ClassVar[int]
    ITEM_FIELD_NUMBER: _ClassVar[int]
    hello: AttemptHello
    item: AttemptItem
    def __init__(self, hello: _Optional[_Union[AttemptHello, _Mapping]] = ..., item: _Optional[_Union[AttemptItem, _Mapping]] = ...) -> None: ...

class AttemptResponse(_message.Message):
    __slots__ = ["acked_seq", "cancel", "fenced"]
    ACKED_SEQ_FIELD_NUMBER: _ClassVar[int]
    CANCEL_FIELD_NUMBER: _ClassVar[int]
    FENCED_FIELD_NUMBER: _ClassVar[int]
    acked_seq: int
    cancel: bool
    fenced: str
    def __init__(self, acked_seq: _Optional[int] = ..., cancel: bool = ..., fenced: _Optional[str] = ...) -> None: ...

class BeginAttemptRequest(_message.Message):
    __slots__ = ["agent_id", "backend", "code_revision", "host", "instance", "job_attempt", "run_id"]
    AGENT_ID_FIELD_NUMBER: _ClassVar[int]
    BACKEND_FIELD_NUMBER: _ClassVar[int]
    CODE_REVISION_FIELD_NUMBER: _ClassVar[int]
    HOST_FIELD_NUMBER: _ClassVar[int]
    INSTANCE_FIELD_NUMBER: _ClassVar[int]
    JOB_ATTEMPT_FIELD_NUMBER: _ClassVar[int]
    RUN_ID_FIELD_NUMBER: _ClassVar[int]
    agent_id: str
    backend: str
    code_revision: str
    host: str
    instance: str
    job_attempt: int
    run_id: str
    def __init__(self, run_id: _Optional[str] = ..., job_attempt: _Optional[int] = ..., agent_id: _Optional[str] = ..., host: _Optional[str] = ..., backend: _Optional[str] = ..., code_revision: _Optional[str] = ..., instance: _Optional[str] = ...) -> None: ...

class BeginAttemptResponse(_message.Message):
    __slots__ = ["attempt", "backend", "checkpoints", "logged_epochs", "parent", "parent_checkpoints", "resume", "run"]
    ATTEMPT_FIELD_NUMBER: _ClassVar[int]
    BACKEND_FIELD_NUMBER: _ClassVar[int]
    CHECKPOINTS_FIELD_NUMBER: _ClassVar[int]
    LOGGED_EPOCHS_FIELD_NUMBER: _ClassVar[int]
    PARENT_CHECKPOINTS_FIELD_NUMBER: _ClassVar[int]
    PARENT_FIELD_NUMBER: _ClassVar[int]
    RESUME_FIELD_NUMBER: _ClassVar[int]
    RUN_FIELD_NUMBER: _ClassVar[int]
    attempt: int
    backend: str
    checkpoints: _containers.RepeatedCompositeFieldContainer[CheckpointBlob]
    logged_epochs: _containers.RepeatedScalarFieldContainer[int]
    parent: _run_pb2.Run
    parent_checkpoints: _containers.RepeatedCompositeFieldContainer[CheckpointBlob]
    resume: bool
    run: _run_pb2.Run
    def __init__(self, attempt: _Optional[int] = ..., run: _Optional[_Union[_run_pb2.Run, _Mapping]] = ..., backend: _Optional[str] = ..., checkpoints: _Optional[_Iterable[_Union[CheckpointBlob, _Mapping]]] = ..., resume: bool = ..., logged_epochs: _Optional[_Iterable[int]] = ..., parent: _Optional[_Union[_run_pb2.Run, _Mapping]] = ..., parent_checkpoints: _Optional[_Iterable[_Union[CheckpointBlob, _Mapping]]] = ...) -> None: ...

class CheckpointBlob(_message.Message):
    __slots__ = ["epoch", "name", "sha256", "size"]
    EPOCH_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    SHA256_FIELD_NUMBER: _ClassVar[int]
    SIZE_FIELD_NUMBER: _ClassVar[int]
    epoch: int
    name: str
    sha256: str
    size: int
    def __init__(self, name: _Optional[str] = ..., epoch: _Optional[int] = ..., sha256: _Optional[str] = ..., size: _Optional[int] = ...) -> None: ...

class DownloadBlobRequest(_message.Message):
    __slots__ = ["offset", "sha256"]
    OFFSET_FIELD_NUMBER: _ClassVar[int]
    SHA256_FIELD_NUMBER: _ClassVar[int]
    offset: int
    sha256: str
    def __init__(self, sha256: _Optional[str] = ..., offset: _Optional[int] = ...) -> None: ...

class DownloadBlobResponse(_message.Message):
    __slots__ = ["data", "offset", "size"]
    DATA_FIELD_NUMBER: _ClassVar[int]
    OFFSET_FIELD_NUMBER: _ClassVar[int]
    SIZE_FIELD_NUMBER: _ClassVar[int]
    data: bytes
    offset: int
    size: int
    def __init__(self, offset: _Optional[int] = ..., data: _Optional[bytes] = ..., size: _Optional[int] = ...) -> None: ...

class RegisterAgentRequest(_message.Message):
    __slots__ = ["agent_id", "backends", "busy", "code_revision", "host", "slots", "version"]
    AGENT_ID_FIELD_NUMBER: _ClassVar[int]
    BACKENDS_FIELD_NUMBER: _ClassVar[int]
    BUSY_FIELD_NUMBER: _ClassVar[int]
    CODE_REVISION_FIELD_NUMBER: _ClassVar[int]
    HOST_FIELD_NUMBER: _ClassVar[int]
    SLOTS_FIELD_NUMBER: _ClassVar[int]
    VERSION_FIELD_NUMBER: _ClassVar[int]
    agent_id: str
    backends: _containers.RepeatedScalarFieldContainer[str]
    busy: int
    code_revision: str
    host: str
    slots: int
    version: str
    def __init__(self, agent_id: _Optional[str] = ..., host: _Optional[str] = ..., slots: _Optional[int] = ..., backends: _Optional[_Iterable[str]] = ..., busy: _Optional[int] = ..., version: _Optional[str] = ..., code_revision: _Optional[str] = ...) -> None: ...

class RegisterAgentResponse(_message.Message):
    __slots__ = ["code_revision", "heartbeat_ms"]
    CODE_REVISION_FIELD_NUMBER: _ClassVar[int]
    HEARTBEAT_MS_FIELD_NUMBER: _ClassVar[int]
    code_revision: str
    heartbeat_ms: int
    def __init__(self, code_revision: _Optional[str] = ..., heartbeat_ms: _Optional[int] = ...) -> None: ...

class StatBlobRequest(_message.Message):
    __slots__ = ["sha256"]
    SHA256_FIELD_NUMBER: _ClassVar[int]
    sha256: str
    def __init__(self, sha256: _Optional[str] = ...) -> None: ...

class StatBlobResponse(_message.Message):
    __slots__ = ["complete", "have_bytes"]
    COMPLETE_FIELD_NUMBER: _ClassVar[int]
    HAVE_BYTES_FIELD_NUMBER: _ClassVar[int]
    complete: bool
    have_bytes: int
    def __init__(self, complete: bool = ..., have_bytes: _Optional[int] = ...) -> None: ...

class UploadBlobRequest(_message.Message):
    __slots__ = ["data", "offset", "sha256", "size"]
    DATA_FIELD_NUMBER: _ClassVar[int]
    OFFSET_FIELD_NUMBER: _ClassVar[int]
    SHA256_FIELD_NUMBER: _ClassVar[int]
    SIZE_FIELD_NUMBER: _ClassVar[int]
    data: bytes
    offset: int
    sha256: str
    size: int
    def __init__(self, sha256: _Optional[str] = ..., size: _Optional[int] = ..., offset: _Optional[int] = ..., data: _Optional[bytes] = ...) -> None: ...

class UploadBlobResponse(_message.Message):
    __slots__ = ["complete", "have_bytes"]
    COMPLETE_FIELD_NUMBER: _ClassVar[int]
    HAVE_BYTES_FIELD_NUMBER: _ClassVar[int]
    complete: bool
    have_bytes: int
    def __init__(self, complete: bool = ..., have_bytes: _Optional[int] = ...) -> None: ...
