"""Helpers shared by the dataset preparers: errors, streaming npz, progress (atomic writes:
ista_ros.core.files)."""
from __future__ import annotations

import os
import shutil
import zipfile
from pathlib import Path
from typing import Iterable

import numpy as np
from tqdm import tqdm

from ista_ros.core.files import atomic_path
from ista_ros.errors import UserError


class PrepareError(UserError):
    """A raw dataset problem a user can fix; the message is one sentence naming the file."""


class NpzStream:
    """One member of a streamed npz: its shape, dtype and the rows (along axis 0) to write."""

    def __init__(self, shape: tuple[int, ...], dtype, rows: Iterable[np.ndarray]):
        self.shape, self.dtype, self.rows = tuple(shape), np.dtype(dtype), rows


def write_npz_streamed(path: str | os.PathLike, members: dict[str, NpzStream]) -> None:
    """Write an uncompressed .npz (what ``np.savez`` makes) row by row, atomically.

    Preparing NTU RGB+D 120 in one array would need ~20 GB per split; streaming the rows
    keeps memory to one sample while ``np.load`` (also with mmap) reads the file as usual.
    """
    with atomic_path(path) as tmp, zipfile.ZipFile(tmp, "w", zipfile.ZIP_STORED, allowZip64=True) as zf:
        for name, member in members.items():
            header = {"descr": np.lib.format.dtype_to_descr(member.dtype),
                      "fortran_order": False, "shape": member.shape}
            row_shape, written = member.shape[1:], 0
            with zf.open(f"{name}.npy", "w", force_zip64=True) as out:
                np.lib.format.write_array_header_1_0(out, header)
                for row in member.rows:
                    row = np.ascontiguousarray(row, dtype=member.dtype)
                    assert row.shape == row_shape, (name, row.shape, row_shape)
                    out.write(row.tobytes())
                    written += 1
            assert written == member.shape[0], (name, written, member.shape[0])


class NpyWriter:
    """Append equally shaped rows to an .npy file whose length is known only at the end.

    The header gets a fixed 128 bytes up front and is filled in by ``close``; the result is
    an ordinary version-1.0 .npy file (np.load, mmap included).
    """

    HEADER_BYTES = 128

    def __init__(self, path: Path, row_shape: tuple[int, ...], dtype):
        self.row_shape, self.dtype, self.rows = tuple(row_shape), np.dtype(dtype), 0
        self.file = open(path, "wb")
        self.file.write(b"\0" * self.HEADER_BYTES)

    def __enter__(self) -> "NpyWriter":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def append(self, row: np.ndarray) -> None:
        row = np.ascontiguousarray(row, dtype=self.dtype)
        assert row.shape == self.row_shape, (row.shape, self.row_shape)
        self.file.write(row.tobytes())
        self.rows += 1

    def close(self) -> None:
        header = repr({"descr": np.lib.format.dtype_to_descr(self.dtype), "fortran_order": False,
                       "shape": (self.rows,) + self.row_shape})
        prefix = np.lib.format.MAGIC_PREFIX + bytes([1, 0])
        length = self.HEADER_BYTES - len(prefix) - 2
        self.file.seek(0)
        self.file.write(prefix + length.to_bytes(2, "little") + header.ljust(length - 1).encode() + b"\n")
        self.file.close()


def link_or_copy(source: Path, target: Path) -> None:
    """Make ``target`` the same file as ``source`` (hard link, else a copy), atomically."""
    with atomic_path(target) as tmp:
        try:
            os.link(source, tmp)
        except OSError:
            shutil.copyfile(source, tmp)


def progress(iterable: Iterable, desc: str, total: int | None = None, unit: str = "file"):
    return tqdm(iterable, desc=desc, total=total, unit=unit, dynamic_ncols=True)


def read_lines(path: Path) -> list[str]:
    """All lines of a text file; an unreadable file becomes a PrepareError naming it."""
    try:
        with open(path, "r", encoding="utf-8", errors="strict") as f:
            return f.read().splitlines()
    except (OSError, UnicodeDecodeError) as exc:
        raise PrepareError(f"Cannot read {path}: {exc.__class__.__name__}: {exc}.") from exc


def require_dir(path: str | os.PathLike, what: str) -> Path:
    path = Path(path)
    if not path.is_dir():
        raise PrepareError(f"The {what} folder {path} does not exist; check the path.")
    return path
