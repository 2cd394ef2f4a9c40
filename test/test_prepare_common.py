"""Shared preparation helpers (atomic writes, streamed npz/npy) and the `prepare` CLI."""
from __future__ import annotations

import argparse
import subprocess
import sys

import numpy as np
import pytest

from ista_train.prepare import PREPARERS, PrepareError, add_prepare_parser
from ista_train.prepare.common import NpyWriter, NpzStream, atomic_path, write_npz_streamed


def test_atomic_path_replaces_only_on_success(tmp_path):
    target = tmp_path / "sub" / "file.npz"
    with atomic_path(target) as tmp:
        assert tmp.parent == target.parent and tmp.suffix == ".npz"
        tmp.write_text("first")
    with pytest.raises(RuntimeError), atomic_path(target) as tmp:
        tmp.write_text("half")
        raise RuntimeError("crash while writing")
    assert target.read_text() == "first"
    assert [p.name for p in target.parent.iterdir()] == ["file.npz"]


def test_streamed_npz_equals_savez_and_memory_maps(tmp_path):
    rng = np.random.default_rng(0)
    x, y = rng.normal(size=(5, 7, 3)).astype(np.float32), np.eye(4)[[0, 3, 1, 2, 2]]
    write_npz_streamed(tmp_path / "s.npz", {"x": NpzStream(x.shape, x.dtype, iter(x)),
                                           "y": NpzStream(y.shape, y.dtype, iter(y))})
    with np.load(tmp_path / "s.npz", mmap_mode="r") as loaded:
        assert loaded.files == ["x", "y"]
        np.testing.assert_array_equal(loaded["x"], x)
        np.testing.assert_array_equal(loaded["y"], y)
        assert loaded["y"].dtype == np.float64


def test_npy_writer_fills_in_the_length(tmp_path):
    rows = np.arange(3 * 2 * 4, dtype=np.float32).reshape(3, 2, 4)
    with NpyWriter(tmp_path / "a.npy", (2, 4), np.float32) as npy:
        for row in rows:
            npy.append(row)
    np.testing.assert_array_equal(np.load(tmp_path / "a.npy", mmap_mode="r"), rows)


def test_registry_and_sub_parsers():
    assert PREPARERS["ntu120"] == "ista_train.prepare.ntu"
    assert PREPARERS["interactions"] == "ista_train.prepare.interactions"
    parser = argparse.ArgumentParser()
    add_prepare_parser(parser.add_subparsers(dest="command"))
    args = parser.parse_args(["prepare", "h2o", "--root", "raw", "--frames", "64"])
    assert args.dataset == "h2o" and args.frames == 64 and callable(args.func)
    args = parser.parse_args(["prepare", "ntu120", "--mutual-only"])
    assert args.mutual_only and args.frames == 300 and args.out == "data/ntu120"
    assert parser.parse_args(["prepare", "asb", "--root", "r"]).types == ["action", "verb", "noun"]


def test_cli_reports_a_missing_folder_in_one_sentence(tmp_path):
    pytest.importorskip("ista_train.cli")
    result = subprocess.run([sys.executable, "-m", "ista_train", "prepare", "sbu", "--root",
                             str(tmp_path / "nowhere"), "--out", str(tmp_path / "out")],
                            capture_output=True, text=True, timeout=120)
    assert result.returncode != 0
    assert "nowhere does not exist" in result.stderr and "Traceback" not in result.stderr
    assert issubclass(PrepareError, Exception)
