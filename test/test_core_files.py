"""Atomic writes: all or nothing under the final name, flushed to disk before and after the
rename, and readable by other users (mode 0644 under the usual umask, not mkstemp's 0600)."""
from __future__ import annotations

import os
import stat

import pytest
import torch

from ista_ros.core import files
from ista_ros.core.checkpoint import CheckpointMeta, save_checkpoint
from ista_ros.core.files import atomic_path, atomic_write, atomic_write_bytes
from ista_ros.core.model import ISTANet, ModelConfig
from ista_ros.core.window import Preprocessing


@pytest.fixture
def umask_022():
    previous = os.umask(0o022)
    yield
    os.umask(previous)


def mode(path) -> int:
    return stat.S_IMODE(os.stat(path).st_mode)


def test_a_failed_write_leaves_the_old_file_and_no_temporary(tmp_path):
    target = tmp_path / "sub" / "state.json"
    atomic_write_bytes(target, b"old")

    def crash(tmp):
        tmp.write_bytes(b"half")
        raise RuntimeError("disk full")

    with pytest.raises(RuntimeError):
        atomic_write(target, crash)
    assert target.read_bytes() == b"old"
    assert [p.name for p in target.parent.iterdir()] == ["state.json"]


def test_the_temporary_keeps_the_suffix(tmp_path):
    with atomic_path(tmp_path / "x.npy") as tmp:
        assert tmp.parent == tmp_path and tmp.suffix == ".npy" and tmp.name.startswith(".x.")
        tmp.write_bytes(b"")


def test_files_are_readable_by_others(tmp_path, umask_022):
    assert mode(atomic_write_bytes(tmp_path / "a.bin", b"x")) == 0o644
    cfg = ModelConfig(num_classes=2, num_joints=3, num_frames=8, num_persons=2, window_size=(4, 1, 2),
                      config=[[8, 8, 4]])
    save_checkpoint(tmp_path / "m.pt", ISTANet(cfg), CheckpointMeta(["a", "b"], "joints3", Preprocessing(8)))
    assert mode(tmp_path / "m.pt") == 0o644  # a node running as another user can load it
    atomic_write(tmp_path / "t.pt", lambda tmp: torch.save({"a": 1}, tmp))
    assert mode(tmp_path / "t.pt") == 0o644


def test_the_data_and_the_rename_are_flushed(tmp_path, monkeypatch):
    synced = []
    real_fsync = os.fsync

    def fsync(fd):
        synced.append(os.readlink(f"/proc/self/fd/{fd}"))
        real_fsync(fd)

    monkeypatch.setattr(files.os, "fsync", fsync)
    target = tmp_path / "c.json"
    atomic_write_bytes(target, b"{}")
    assert len(synced) == 2
    assert os.path.dirname(synced[0]) == str(tmp_path) and synced[0] != str(target)  # the data, before the rename
    assert synced[1] == str(tmp_path)  # the directory entry, after it
