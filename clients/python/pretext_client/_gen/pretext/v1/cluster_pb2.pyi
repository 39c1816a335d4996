from google.protobuf.internal import containers as _containers
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from typing import ClassVar as _ClassVar, Iterable as _Iterable, Optional as _Optional

DESCRIPTOR: _descriptor.FileDescriptor

class AgentInfo(_message.Message):
    __slots__ = ["backends", "busy", "code_revision", "host", "id", "last_seen_unix_ms", "online", "slots", "version"]
    BACKENDS_FIELD_NUMBER: _ClassVar[int]
    BUSY_FIELD_NUMBER: _ClassVar[int]
    CODE_REVISION_FIELD_NUMBER: _ClassVar[int]
    HOST_FIELD_NUMBER: _ClassVar[int]
    ID_FIELD_NUMBER: _ClassVar[int]
    LAST_SEEN_UNIX_MS_FIELD_NUMBER: _ClassVar[int]
    ONLINE_FIELD_NUMBER: _ClassVar[int]
    SLOTS_FIELD_NUMBER: _ClassVar[int]
    VERSION_FIELD_NUMBER: _ClassVar[int]
    backends: _containers.RepeatedScalarFieldContainer[str]
    busy: int
    code_revision: str
    host: str
    id: str
    last_seen_unix_ms: int
    online: bool
    slots: int
    version: str
    def __init__(self, id: _Optional[str] = ..., host: _Optional[str] = ..., slots: _Optional[int] = ..., backends: _Optional[_Iterable[str]] = ..., busy: _Optional[int] = ..., last_seen_unix_ms: _Optional[int] = ..., version: _Optional[str] = ..., code_revision: _Optional[str] = ..., online: bool = ...) -> None: ...

class RunAttempt(_message.Message):
    __slots__ = ["agent_id", "attempt", "backend", "code_revision", "data_checksum", "ended_at_unix_ms", "host", "outcome", "resumed_after_epoch", "started_at_unix_ms"]
    AGENT_ID_FIELD_NUMBER: _ClassVar[int]
    ATTEMPT_FIELD_NUMBER: _ClassVar[int]
    BACKEND_FIELD_NUMBER: _ClassVar[int]
    CODE_REVISION_FIELD_NUMBER: _ClassVar[int]
    DATA_CHECKSUM_FIELD_NUMBER: _ClassVar[int]
    ENDED_AT_UNIX_MS_FIELD_NUMBER: _ClassVar[int]
    HOST_FIELD_NUMBER: _ClassVar[int]
    OUTCOME_FIELD_NUMBER: _ClassVar[int]
    RESUMED_AFTER_EPOCH_FIELD_NUMBER: _ClassVar[int]
    STARTED_AT_UNIX_MS_FIELD_NUMBER: _ClassVar[int]
    agent_id: str
    attempt: int
    backend: str
    code_revision: str
    data_checksum: str
    ended_at_unix_ms: int
    host: str
    outcome: str
    resumed_after_epoch: int
    started_at_unix_ms: int
    def __init__(self, attempt: _Optional[int] = ..., host: _Optional[str] = ..., agent_id: _Optional[str] = ..., backend: _Optional[str] = ..., code_revision: _Optional[str] = ..., data_checksum: _Optional[str] = ..., started_at_unix_ms: _Optional[int] = ..., ended_at_unix_ms: _Optional[int] = ..., outcome: _Optional[str] = ..., resumed_after_epoch: _Optional[int] = ...) -> None: ...
