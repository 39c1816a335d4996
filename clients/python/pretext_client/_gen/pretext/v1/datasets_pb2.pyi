from google.protobuf.internal import containers as _containers
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from typing import ClassVar as _ClassVar, Iterable as _Iterable, Mapping as _Mapping, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class Dataset(_message.Message):
    __slots__ = ["active_runs", "bytes", "checksum", "class_names", "created_at_unix_ms", "name", "side", "skipped", "skipped_count", "test_carved", "test_per_class", "test_seed", "test_share", "train_per_class", "unlabeled"]
    ACTIVE_RUNS_FIELD_NUMBER: _ClassVar[int]
    BYTES_FIELD_NUMBER: _ClassVar[int]
    CHECKSUM_FIELD_NUMBER: _ClassVar[int]
    CLASS_NAMES_FIELD_NUMBER: _ClassVar[int]
    CREATED_AT_UNIX_MS_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    SIDE_FIELD_NUMBER: _ClassVar[int]
    SKIPPED_COUNT_FIELD_NUMBER: _ClassVar[int]
    SKIPPED_FIELD_NUMBER: _ClassVar[int]
    TEST_CARVED_FIELD_NUMBER: _ClassVar[int]
    TEST_PER_CLASS_FIELD_NUMBER: _ClassVar[int]
    TEST_SEED_FIELD_NUMBER: _ClassVar[int]
    TEST_SHARE_FIELD_NUMBER: _ClassVar[int]
    TRAIN_PER_CLASS_FIELD_NUMBER: _ClassVar[int]
    UNLABELED_FIELD_NUMBER: _ClassVar[int]
    active_runs: int
    bytes: int
    checksum: str
    class_names: _containers.RepeatedScalarFieldContainer[str]
    created_at_unix_ms: int
    name: str
    side: int
    skipped: _containers.RepeatedCompositeFieldContainer[SkippedFile]
    skipped_count: int
    test_carved: bool
    test_per_class: _containers.RepeatedScalarFieldContainer[int]
    test_seed: int
    test_share: float
    train_per_class: _containers.RepeatedScalarFieldContainer[int]
    unlabeled: int
    def __init__(self, name: _Optional[str] = ..., side: _Optional[int] = ..., class_names: _Optional[_Iterable[str]] = ..., train_per_class: _Optional[_Iterable[int]] = ..., test_per_class: _Optional[_Iterable[int]] = ..., unlabeled: _Optional[int] = ..., checksum: _Optional[str] = ..., test_carved: bool = ..., test_seed: _Optional[int] = ..., test_share: _Optional[float] = ..., skipped_count: _Optional[int] = ..., skipped: _Optional[_Iterable[_Union[SkippedFile, _Mapping]]] = ..., created_at_unix_ms: _Optional[int] = ..., bytes: _Optional[int] = ..., active_runs: _Optional[int] = ...) -> None: ...

class DatasetImportProgress(_message.Message):
    __slots__ = ["done", "error", "name", "phase", "total"]
    DONE_FIELD_NUMBER: _ClassVar[int]
    ERROR_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    PHASE_FIELD_NUMBER: _ClassVar[int]
    TOTAL_FIELD_NUMBER: _ClassVar[int]
    done: int
    error: str
    name: str
    phase: str
    total: int
    def __init__(self, name: _Optional[str] = ..., phase: _Optional[str] = ..., done: _Optional[int] = ..., total: _Optional[int] = ..., error: _Optional[str] = ...) -> None: ...

class DeleteDatasetRequest(_message.Message):
    __slots__ = ["name"]
    NAME_FIELD_NUMBER: _ClassVar[int]
    name: str
    def __init__(self, name: _Optional[str] = ...) -> None: ...

class DeleteDatasetResponse(_message.Message):
    __slots__ = []
    def __init__(self) -> None: ...

class GetDatasetRequest(_message.Message):
    __slots__ = ["name"]
    NAME_FIELD_NUMBER: _ClassVar[int]
    name: str
    def __init__(self, name: _Optional[str] = ...) -> None: ...

class GetDatasetResponse(_message.Message):
    __slots__ = ["dataset"]
    DATASET_FIELD_NUMBER: _ClassVar[int]
    dataset: Dataset
    def __init__(self, dataset: _Optional[_Union[Dataset, _Mapping]] = ...) -> None: ...

class ImportDatasetRequest(_message.Message):
    __slots__ = ["name", "options", "path"]
    NAME_FIELD_NUMBER: _ClassVar[int]
    OPTIONS_FIELD_NUMBER: _ClassVar[int]
    PATH_FIELD_NUMBER: _ClassVar[int]
    name: str
    options: ImportOptions
    path: str
    def __init__(self, name: _Optional[str] = ..., path: _Optional[str] = ..., options: _Optional[_Union[ImportOptions, _Mapping]] = ...) -> None: ...

class ImportDatasetResponse(_message.Message):
    __slots__ = ["dataset"]
    DATASET_FIELD_NUMBER: _ClassVar[int]
    dataset: Dataset
    def __init__(self, dataset: _Optional[_Union[Dataset, _Mapping]] = ...) -> None: ...

class ImportOptions(_message.Message):
    __slots__ = ["architecture", "max_failed_share", "seed", "side", "test_share"]
    ARCHITECTURE_FIELD_NUMBER: _ClassVar[int]
    MAX_FAILED_SHARE_FIELD_NUMBER: _ClassVar[int]
    SEED_FIELD_NUMBER: _ClassVar[int]
    SIDE_FIELD_NUMBER: _ClassVar[int]
    TEST_SHARE_FIELD_NUMBER: _ClassVar[int]
    architecture: str
    max_failed_share: float
    seed: int
    side: int
    test_share: float
    def __init__(self, side: _Optional[int] = ..., seed: _Optional[int] = ..., test_share: _Optional[float] = ..., max_failed_share: _Optional[float] = ..., architecture: _Optional[str] = ...) -> None: ...

class ListDatasetsRequest(_message.Message):
    __slots__ = []
    def __init__(self) -> None: ...

class ListDatasetsResponse(_message.Message):
    __slots__ = ["datasets"]
    DATASETS_FIELD_NUMBER: _ClassVar[int]
    datasets: _containers.RepeatedCompositeFieldContainer[Dataset]
    def __init__(self, datasets: _Optional[_Iterable[_Union[Dataset, _Mapping]]] = ...) -> None: ...

class SkippedFile(_message.Message):
    __slots__ = ["path", "reason"]
    PATH_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    path: str
    reason: str
    def __init__(self, path: _Optional[str] = ..., reason: _Optional[str] = ...) -> None: ...

class UploadChunk(_message.Message):
    __slots__ = ["data", "offset"]
    DATA_FIELD_NUMBER: _ClassVar[int]
    OFFSET_FIELD_NUMBER: _ClassVar[int]
    data: bytes
    offset: int
    def __init__(self, offset: _Optional[int] = ..., data: _Optional[bytes] = ...) -> None: ...

class UploadDatasetRequest(_message.Message):
    __slots__ = ["chunk", "header"]
    CHUNK_FIELD_NUMBER: _ClassVar[int]
    HEADER_FIELD_NUMBER: _ClassVar[int]
    chunk: UploadChunk
    header: UploadHeader
    def __init__(self, header: _Optional[_Union[UploadHeader, _Mapping]] = ..., chunk: _Optional[_Union[UploadChunk, _Mapping]] = ...) -> None: ...

class UploadDatasetResponse(_message.Message):
    __slots__ = ["dataset"]
    DATASET_FIELD_NUMBER: _ClassVar[int]
    dataset: Dataset
    def __init__(self, dataset: _Optional[_Union[Dataset, _Mapping]] = ...) -> None: ...

class UploadHeader(_message.Message):
    __slots__ = ["name", "options", "sha256", "total_bytes"]
    NAME_FIELD_NUMBER: _ClassVar[int]
    OPTIONS_FIELD_NUMBER: _ClassVar[int]
    SHA256_FIELD_NUMBER: _ClassVar[int]
    TOTAL_BYTES_FIELD_NUMBER: _ClassVar[int]
    name: str
    options: ImportOptions
    sha256: str
    total_bytes: int
    def __init__(self, name: _Optional[str] = ..., total_bytes: _Optional[int] = ..., sha256: _Optional[str] = ..., options: _Optional[_Union[ImportOptions, _Mapping]] = ...) -> None: ...

class UploadStatusRequest(_message.Message):
    __slots__ = ["name", "sha256"]
    NAME_FIELD_NUMBER: _ClassVar[int]
    SHA256_FIELD_NUMBER: _ClassVar[int]
    name: str
    sha256: str
    def __init__(self, name: _Optional[str] = ..., sha256: _Optional[str] = ...) -> None: ...

class UploadStatusResponse(_message.Message):
    __slots__ = ["received_bytes"]
    RECEIVED_BYTES_FIELD_NUMBER: _ClassVar[int]
    received_bytes: int
    def __init__(self, received_bytes: _Optional[int] = ...) -> None: ...
