"""Imported datasets: a folder (``labeled/<class>/…`` or ``train/<class>/…``, optional
``test/<class>/…``, ``unlabeled/**``) uploaded as a tar archive, resumable and SHA-256 checked."""

from __future__ import annotations

import hashlib
import os
import tarfile
import tempfile
from dataclasses import dataclass, field
from typing import Any, Callable, Iterator, List, Optional

from ._gen.pretext.v1 import datasets_pb2
from .models import DatasetImportProgress, _Model  # noqa: F401  (re-exported)

#: Bytes per upload chunk (the daemon accepts messages well above this).
CHUNK_BYTES = 1024 * 1024


@dataclass
class SkippedFile(_Model):
    path: str = ""
    reason: str = ""


@dataclass
class Dataset(_Model):
    """An imported dataset: class names, images per class of train and test, what was skipped."""

    name: str = ""
    side: int = 0
    class_names: List[str] = field(default_factory=list)
    train_per_class: List[int] = field(default_factory=list)
    test_per_class: List[int] = field(default_factory=list)
    unlabeled: int = 0
    checksum: str = ""
    test_carved: bool = False
    test_seed: int = 0
    test_share: float = 0.0
    skipped_count: int = 0
    skipped: List[SkippedFile] = field(default_factory=list)
    created_at_unix_ms: int = 0
    bytes: int = 0
    active_runs: int = 0


@dataclass
class Archive:
    path: str
    size: int
    sha256: str

    def dispose(self) -> None:
        try:
            os.remove(self.path)
            os.rmdir(os.path.dirname(self.path))
        except OSError:
            pass


def tar_folder(folder: str) -> Archive:
    """A tar of ``folder``'s regular files (names relative to it; links leading outside are left out)."""
    root = os.path.realpath(folder)
    if not os.path.isdir(root):
        raise NotADirectoryError(f"{folder} is not a folder")
    tmp = tempfile.mkdtemp(prefix="pretext-upload-")
    path = os.path.join(tmp, "dataset.tar")
    with tarfile.open(path, "w", format=tarfile.PAX_FORMAT) as tar:
        for dirpath, dirnames, filenames in os.walk(root, followlinks=True):
            dirnames.sort()
            real_dir = os.path.realpath(dirpath)
            if os.path.relpath(real_dir, root).startswith(".."):
                dirnames[:] = []
                continue
            for name in sorted(filenames):
                full = os.path.join(dirpath, name)
                real = os.path.realpath(full)
                if os.path.relpath(real, root).startswith("..") or not os.path.isfile(real):
                    continue
                arcname = os.path.relpath(full, root).replace(os.sep, "/")
                info = tar.gettarinfo(real, arcname=arcname)
                info.mode = 0o644
                info.uid = info.gid = 0
                info.uname = info.gname = ""
                with open(real, "rb") as f:
                    tar.addfile(info, f)
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return Archive(path=path, size=os.path.getsize(path), sha256=digest.hexdigest())


def options_proto(side: int = 0, seed: int = 0, test_share: float = 0.0,
                  max_failed_share: float = 0.0, architecture: str = "") -> Any:
    return datasets_pb2.ImportOptions(side=side, seed=seed, test_share=test_share,
                                      max_failed_share=max_failed_share, architecture=architecture)


def upload_messages(name: str, archive: Archive, offset: int, options: Any,
                    chunk_bytes: int = CHUNK_BYTES,
                    on_progress: Optional[Callable[[int, int], None]] = None,
                    stop_after: Optional[int] = None) -> Iterator[Any]:
    """The UploadDataset request stream: the header, then chunks from ``offset``."""
    yield datasets_pb2.UploadDatasetRequest(header=datasets_pb2.UploadHeader(
        name=name, total_bytes=archive.size, sha256=archive.sha256, options=options))
    sent = 0
    with open(archive.path, "rb") as f:
        f.seek(offset)
        while offset < archive.size:
            data = f.read(min(chunk_bytes, archive.size - offset))
            if stop_after is not None and sent + len(data) > stop_after:
                return
            yield datasets_pb2.UploadDatasetRequest(
                chunk=datasets_pb2.UploadChunk(offset=offset, data=data))
            offset += len(data)
            sent += len(data)
            if on_progress:
                on_progress(offset, archive.size)
