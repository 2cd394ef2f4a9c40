"""`ista-train prepare sbu` on a synthetic SBU download, read back with the official feeder's
treatment (46-frame cut/pad, coordinate transform applied to the padding too)."""
from __future__ import annotations

import argparse
import hashlib
import shutil

import numpy as np
import pytest

from ista_train.prepare import PrepareError, sbu
from synthetic.sbu import make_sbu

# sha256 of (data as float32, labels as int64) that the official getSBU.py + feeders/
# feeder_sbu.py (pandas 2.2.3) gave for fold 0 of make_sbu(seed=0); read_sbu of our tree
# matched them exactly.
OFFICIAL_FOLD0_SHA256 = {
    "train": "516438a7b8ac1df8a78e9fe0c760d5baacdb8d30bc8e9f9a7517ff285483861c",
    "test": "46f149a89d98ed12326191d4e1f9ad9e0363ada8cb9d9316a5e32c3ebf79a664",
}


def run_prepare(root, out):
    sbu.prepare(argparse.Namespace(root=root, out=out))


@pytest.fixture(scope="module")
def prepared(tmp_path_factory):
    root = tmp_path_factory.mktemp("sbu")
    files = make_sbu(root / "Clean")
    run_prepare(root / "Clean", root / "out")
    return root, files


def test_writes_the_getsbu_tree_byte_for_byte(prepared):
    root, files = prepared
    assert len(files) == 21 * 8
    for path in files:
        assert (root / "out" / path.relative_to(root / "Clean")).read_bytes() == path.read_bytes()
    assert not list((root / "out").rglob("*.partial*"))


def test_official_feeder_view_of_the_tree(prepared):
    formats = pytest.importorskip("ista_train.data.formats")
    root, _ = prepared
    for split, digest in OFFICIAL_FOLD0_SHA256.items():
        data = formats.read_sbu(root / "out", split, 0)
        assert data.data.shape[1:] == (3, 46, 15, 2)
        sha = hashlib.sha256(data.data.astype(np.float32).tobytes() + data.labels.astype(np.int64).tobytes())
        assert sha.hexdigest() == digest, split
    # the padding quirk: frames after a short sequence read (1280, 960, 0), so they count as valid
    test = formats.read_sbu(root / "out", "test", 0)
    padding = np.array([1280, 960, 0], dtype=np.float32)[:, None, None, None]
    short = 0
    for index, pair in enumerate(p for p in sbu.FOLDS[0] for _ in range(8)):
        path = root / "Clean" / pair / f"{index % 8 + 1:02d}" / "001" / "skeleton_pos.txt"
        frames = len(path.read_text().splitlines())
        short += frames < 46
        assert test.labels[index] == index % 8
        assert (test.data[index, :, frames:] == padding).all()
        assert not (test.data[index, :, :min(frames, 46)] == padding).all(axis=(0, 2, 3)).any()
    assert short > 0


def test_fold_list_is_the_official_one():
    assert [len(f) for f in sbu.FOLDS] == [4, 4, 4, 4, 5]
    assert sbu.FOLDS[4] == ("s04s02", "s04s03", "s04s06", "s06s02", "s06s03")
    assert len({p for f in sbu.FOLDS for p in f}) == 21


def test_malformed_file_is_named_and_nothing_is_written(tmp_path):
    files = make_sbu(tmp_path / "Clean", length=(12, 14))
    lines = files[40].read_text().splitlines()
    files[40].write_text("\n".join(lines[:5] + [lines[5].rsplit(",", 1)[0]] + lines[6:]) + "\n")
    with pytest.raises(PrepareError, match="skeleton_pos.txt is malformed at line 6"):
        run_prepare(tmp_path / "Clean", tmp_path / "out")
    assert not (tmp_path / "out").exists()


def test_missing_pair_and_missing_file_are_named(tmp_path):
    files = make_sbu(tmp_path / "Clean", length=(12, 14))
    files[0].unlink()
    with pytest.raises(PrepareError, match=str(files[0])):
        run_prepare(tmp_path / "Clean", tmp_path / "out")
    shutil.rmtree(tmp_path / "Clean" / "s06s03")
    with pytest.raises(PrepareError, match="s06s03"):
        run_prepare(tmp_path / "Clean", tmp_path / "out")
