from google.protobuf.internal import containers as _containers
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from typing import ClassVar as _ClassVar, Iterable as _Iterable, Mapping as _Mapping, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class ClassScore(_message.Message):
    __slots__ = ["class_index", "class_name", "probability"]
    CLASS_INDEX_FIELD_NUMBER: _ClassVar[int]
    CLASS_NAME_FIELD_NUMBER: _ClassVar[int]
    PROBABILITY_FIELD_NUMBER: _ClassVar[int]
    class_index: int
    class_name: str
    probability: float
    def __init__(self, class_index: _Optional[int] = ..., class_name: _Optional[str] = ..., probability: _Optional[float] = ...) -> None: ...

class EmbedInfo(_message.Message):
    __slots__ = ["count", "dim", "model"]
    COUNT_FIELD_NUMBER: _ClassVar[int]
    DIM_FIELD_NUMBER: _ClassVar[int]
    MODEL_FIELD_NUMBER: _ClassVar[int]
    count: int
    dim: int
    model: ModelInfo
    def __init__(self, model: _Optional[_Union[ModelInfo, _Mapping]] = ..., dim: _Optional[int] = ..., count: _Optional[int] = ...) -> None: ...

class EmbedRows(_message.Message):
    __slots__ = ["embeddings", "indices", "labels"]
    EMBEDDINGS_FIELD_NUMBER: _ClassVar[int]
    INDICES_FIELD_NUMBER: _ClassVar[int]
    LABELS_FIELD_NUMBER: _ClassVar[int]
    embeddings: bytes
    indices: _containers.RepeatedScalarFieldContainer[int]
    labels: _containers.RepeatedScalarFieldContainer[int]
    def __init__(self, indices: _Optional[_Iterable[int]] = ..., labels: _Optional[_Iterable[int]] = ..., embeddings: _Optional[bytes] = ...) -> None: ...

class ExportInfo(_message.Message):
    __slots__ = ["checkpoint", "epoch", "file_name", "files", "format", "in_progress", "sha256", "total_bytes"]
    CHECKPOINT_FIELD_NUMBER: _ClassVar[int]
    EPOCH_FIELD_NUMBER: _ClassVar[int]
    FILES_FIELD_NUMBER: _ClassVar[int]
    FILE_NAME_FIELD_NUMBER: _ClassVar[int]
    FORMAT_FIELD_NUMBER: _ClassVar[int]
    IN_PROGRESS_FIELD_NUMBER: _ClassVar[int]
    SHA256_FIELD_NUMBER: _ClassVar[int]
    TOTAL_BYTES_FIELD_NUMBER: _ClassVar[int]
    checkpoint: str
    epoch: int
    file_name: str
    files: _containers.RepeatedScalarFieldContainer[str]
    format: str
    in_progress: bool
    sha256: str
    total_bytes: int
    def __init__(self, format: _Optional[str] = ..., file_name: _Optional[str] = ..., total_bytes: _Optional[int] = ..., sha256: _Optional[str] = ..., checkpoint: _Optional[str] = ..., epoch: _Optional[int] = ..., in_progress: bool = ..., files: _Optional[_Iterable[str]] = ...) -> None: ...

class ImageBatch(_message.Message):
    __slots__ = ["images"]
    IMAGES_FIELD_NUMBER: _ClassVar[int]
    images: _containers.RepeatedScalarFieldContainer[bytes]
    def __init__(self, images: _Optional[_Iterable[bytes]] = ...) -> None: ...

class ModelInfo(_message.Message):
    __slots__ = ["checkpoint", "class_names", "epoch", "in_progress", "input_shape"]
    CHECKPOINT_FIELD_NUMBER: _ClassVar[int]
    CLASS_NAMES_FIELD_NUMBER: _ClassVar[int]
    EPOCH_FIELD_NUMBER: _ClassVar[int]
    INPUT_SHAPE_FIELD_NUMBER: _ClassVar[int]
    IN_PROGRESS_FIELD_NUMBER: _ClassVar[int]
    checkpoint: str
    class_names: _containers.RepeatedScalarFieldContainer[str]
    epoch: int
    in_progress: bool
    input_shape: _containers.RepeatedScalarFieldContainer[int]
    def __init__(self, checkpoint: _Optional[str] = ..., epoch: _Optional[int] = ..., in_progress: bool = ..., input_shape: _Optional[_Iterable[int]] = ..., class_names: _Optional[_Iterable[str]] = ...) -> None: ...

class Prediction(_message.Message):
    __slots__ = ["top"]
    TOP_FIELD_NUMBER: _ClassVar[int]
    top: _containers.RepeatedCompositeFieldContainer[ClassScore]
    def __init__(self, top: _Optional[_Iterable[_Union[ClassScore, _Mapping]]] = ...) -> None: ...

class SplitSource(_message.Message):
    __slots__ = ["dataset", "limit", "offset", "split"]
    DATASET_FIELD_NUMBER: _ClassVar[int]
    LIMIT_FIELD_NUMBER: _ClassVar[int]
    OFFSET_FIELD_NUMBER: _ClassVar[int]
    SPLIT_FIELD_NUMBER: _ClassVar[int]
    dataset: str
    limit: int
    offset: int
    split: str
    def __init__(self, dataset: _Optional[str] = ..., split: _Optional[str] = ..., offset: _Optional[int] = ..., limit: _Optional[int] = ...) -> None: ...
