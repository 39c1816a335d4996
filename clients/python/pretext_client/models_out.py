"""Models out: exports (ONNX or TensorFlow.js, with metadata.json), embeddings as numpy arrays,
and predictions. Used through ``Client.export``, ``Client.embed`` and ``Client.predict``."""

from __future__ import annotations

import dataclasses
import hashlib
import io
import os
import tarfile
import time
from typing import Any, Dict, List, Optional, Sequence, Union

import grpc

from . import errors
from ._gen.pretext.v1 import models_pb2, service_pb2

ImageInput = Union[bytes, bytearray, str, "os.PathLike[str]"]


@dataclasses.dataclass(frozen=True)
class ExportResult:
    """What ``Client.export`` wrote: the model file (or folder), the metadata file, and facts."""

    path: str
    metadata_path: str
    files: List[str]
    format: str
    sha256: str
    total_bytes: int
    checkpoint: str
    epoch: int
    in_progress: bool
    metadata: Dict[str, Any]
    resumed: int = 0


@dataclasses.dataclass(frozen=True)
class Embeddings:
    """``Client.embed(..., with_labels=True)``: rows, their labels (-1 for your own images) and
    their positions in the split (or in your image list)."""

    embeddings: Any  # numpy.ndarray, float32, (n, dim)
    labels: Any  # numpy.ndarray, int32, (n,)
    indices: Any  # numpy.ndarray, int32, (n,)
    class_names: List[str]
    checkpoint: str
    epoch: int
    in_progress: bool


@dataclasses.dataclass(frozen=True)
class ClassScore:
    index: int
    name: str
    probability: float


@dataclasses.dataclass(frozen=True)
class Prediction:
    """The top-k classes of one image, most probable first."""

    top: List[ClassScore]

    @property
    def label(self) -> str:
        return self.top[0].name if self.top else ""


def read_image(image: ImageInput) -> bytes:
    if isinstance(image, (bytes, bytearray)):
        return bytes(image)
    with open(os.fspath(image), "rb") as f:
        return f.read()


def _sha256_file(path: str) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def download_archive(client: Any, req: Dict[str, Any], archive: str, retries: int = 5) -> tuple:
    """Downloads an export archive to ``archive`` through ``<archive>.part``, resuming a partial
    file (its sha256 in ``<archive>.part.sha256``) and retrying transient errors. Returns
    (ExportInfo, times resumed)."""
    part = archive + ".part"
    sha_file = part + ".sha256"
    os.makedirs(os.path.dirname(os.path.abspath(archive)), exist_ok=True)
    resumed = 0
    for attempt in range(retries + 1):
        offset, expected = 0, ""
        if os.path.exists(part) and os.path.exists(sha_file):
            offset = os.path.getsize(part)
            with open(sha_file, encoding="ascii") as f:
                expected = f.read().strip()
        else:
            _remove(part)
        request = service_pb2.ExportModelRequest(offset=offset, expected_sha256=expected, **req)
        info = None
        try:
            stream = client.stub.ExportModel(request, metadata=client._metadata)
            with open(part, "ab") as out:
                for msg in stream:
                    if msg.HasField("info"):
                        info = msg.info
                        with open(sha_file, "w", encoding="ascii") as f:
                            f.write(info.sha256)
                    if msg.data:
                        out.write(msg.data)
        except grpc.RpcError as err:
            code = err.code()
            if code == grpc.StatusCode.FAILED_PRECONDITION and expected and attempt < retries:
                _remove(part, sha_file)  # the export changed since: start over
                continue
            if code in (grpc.StatusCode.UNAVAILABLE, grpc.StatusCode.DEADLINE_EXCEEDED,
                        grpc.StatusCode.INTERNAL) and attempt < retries:
                resumed += 1
                time.sleep(min(2.0, 0.2 * 2 ** attempt))
                continue
            raise errors.from_rpc_error(err, "ExportModel") from None
        if info is None:
            raise errors.PretextError(grpc.StatusCode.INTERNAL, "the export ended without a header", "ExportModel")
        got = _sha256_file(part)
        if got != info.sha256:
            _remove(part, sha_file)
            raise errors.PretextError(
                grpc.StatusCode.DATA_LOSS, f"sha256 {got[:12]}… differs from the daemon's {info.sha256[:12]}…",
                "ExportModel")
        os.replace(part, archive)
        _remove(sha_file)
        return info, resumed
    raise AssertionError("unreachable")


def _remove(*paths: str) -> None:
    for p in paths:
        try:
            os.remove(p)
        except FileNotFoundError:
            pass


def unpack(archive: str, path: str, fmt: str) -> tuple:
    """Unpacks the archive. ``path`` ending in ``.onnx``: the model there and its metadata at
    ``<stem>.metadata.json``; otherwise a folder receiving every file. Returns (model path,
    metadata path, member names)."""
    with tarfile.open(archive, "r:") as tar:
        members = [m for m in tar.getmembers() if m.isfile()]
        names = [m.name for m in members]
        for m in members:
            if os.path.isabs(m.name) or ".." in m.name.split("/"):
                raise errors.PretextError(grpc.StatusCode.DATA_LOSS, f"unexpected entry {m.name}", "ExportModel")
        data = {m.name: tar.extractfile(m).read() for m in members}  # type: ignore[union-attr]
    if fmt == "onnx" and path.endswith(".onnx"):
        os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
        meta_path = path[: -len(".onnx")] + ".metadata.json"
        with open(path, "wb") as f:
            f.write(data["model.onnx"])
        with open(meta_path, "wb") as f:
            f.write(data["metadata.json"])
        return path, meta_path, names
    os.makedirs(path, exist_ok=True)
    for name, body in data.items():
        with open(os.path.join(path, name), "wb") as f:
            f.write(body)
    model = os.path.join(path, "model.onnx" if fmt == "onnx" else "model.json")
    return model, os.path.join(path, "metadata.json"), names


def embed_request(run_id: str, checkpoint: int, dataset: str, split: str, offset: int, limit: int,
                  images: Optional[Sequence[ImageInput]]) -> Any:
    if images is not None:
        return service_pb2.EmbedRequest(
            run_id=run_id, checkpoint=checkpoint,
            images=models_pb2.ImageBatch(images=[read_image(i) for i in images]))
    return service_pb2.EmbedRequest(
        run_id=run_id, checkpoint=checkpoint,
        split=models_pb2.SplitSource(dataset=dataset, split=split, offset=offset, limit=limit))


def collect_embeddings(stream: Any) -> Embeddings:
    import numpy as np  # numpy is needed for embeddings only

    info = None
    blocks: List[bytes] = []
    labels: List[int] = []
    indices: List[int] = []
    try:
        for msg in stream:
            if msg.HasField("info"):
                info = msg.info
            if msg.HasField("rows"):
                blocks.append(msg.rows.embeddings)
                labels.extend(msg.rows.labels)
                indices.extend(msg.rows.indices)
    except grpc.RpcError as err:
        raise errors.from_rpc_error(err, "Embed") from None
    if info is None:
        raise errors.PretextError(grpc.StatusCode.INTERNAL, "Embed ended without a header", "Embed")
    emb = np.frombuffer(b"".join(blocks), dtype="<f4").reshape(-1, info.dim) if info.dim else np.zeros((0, 0), "<f4")
    if emb.shape[0] != info.count:
        raise errors.PretextError(grpc.StatusCode.DATA_LOSS, f"Embed sent {emb.shape[0]} of {info.count} rows", "Embed")
    return Embeddings(
        embeddings=emb.astype(np.float32),
        labels=np.asarray(labels, dtype=np.int32),
        indices=np.asarray(indices, dtype=np.int32),
        class_names=list(info.model.class_names),
        checkpoint=info.model.checkpoint,
        epoch=info.model.epoch,
        in_progress=info.model.in_progress,
    )


def predictions(resp: Any) -> List[Prediction]:
    return [
        Prediction(top=[ClassScore(c.class_index, c.class_name, c.probability) for c in p.top])
        for p in resp.predictions
    ]


def load_metadata(path: str) -> Dict[str, Any]:
    import json

    with io.open(path, encoding="utf-8") as f:
        return json.load(f)
