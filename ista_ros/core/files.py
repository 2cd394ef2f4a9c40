"""Atomic file writes: a crash, a kill or a full disk mid-write never leaves a truncated
file under the final name (checkpoints, training state, prepared datasets, JSON, bundles).

The data goes to a temporary name beside the target, is flushed to disk, renamed onto the
target, and the rename is flushed too (the directory), so after a power cut the target is
the old file or the new one. The temporary file is created like any file (mode 0666 less
the umask, usually 0644), never 0600 as mkstemp would: a node running as another user must
be able to read a checkpoint. Standard library only: the lightest module may use it.
"""
from __future__ import annotations

import contextlib
import os
import uuid
from pathlib import Path
from typing import Callable, Iterator


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike) -> Iterator[Path]:
    """Yield a temporary name beside ``path`` for the block to write; move it onto ``path``
    only if the block succeeds. The temporary name keeps the suffix, so writers that append
    one (np.save) leave it alone."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.stem}.{os.getpid()}.{uuid.uuid4().hex[:8]}.partial{path.suffix}")
    try:
        yield tmp
        fsync_path(tmp)
        os.replace(tmp, path)
        fsync_path(path.parent)
    finally:
        tmp.unlink(missing_ok=True)


def atomic_write(path: str | os.PathLike, write: Callable[[Path], object]) -> Path:
    """``write(tmp)`` writes the whole file at ``tmp``; ``path`` then holds it, atomically."""
    with atomic_path(path) as tmp:
        write(tmp)
    return Path(path)


def atomic_write_bytes(path: str | os.PathLike, data: bytes) -> Path:
    return atomic_write(path, lambda tmp: tmp.write_bytes(data))


def fsync_path(path: Path) -> None:
    """Make a file's data, or a directory's new entries, survive a power cut."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
