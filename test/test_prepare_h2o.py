"""`ista-train prepare h2o` on a synthetic H2O pose download."""
from __future__ import annotations

import argparse
import hashlib

import numpy as np
import pytest
import torch

from ista_train.prepare import PrepareError, h2o
from synthetic.h2o import make_h2o

# sha256 of the tensors (data, then gt) the official data/h2o/generate_h2o.py (pandas
# 2.2.3, torch 2.13) wrote for make_h2o(seed=0); ours were identical (torch.equal, same dtypes).
OFFICIAL_SHA256 = {
    "train": "d84a7503d8ac6e6d49f4428ce1c444c92a32cd31cd06fdf7d026316ac124cca0",
    "val": "0f26f5bbff5cb64a539323ed80a5ef44d1b99011e93356dd94dc479677b89846",
    "test": "b574880a74f516af6505ead44635a8f67db1ac238bb7be981a5f3a7dc85ceffd",
}


def run_prepare(root, out, frames=120):
    h2o.prepare(argparse.Namespace(root=root, out=out, frames=frames))


def load(path):
    return torch.load(path, weights_only=True)  # plain tensors: safe loading works


@pytest.fixture(scope="module")
def prepared(tmp_path_factory):
    root = tmp_path_factory.mktemp("h2o")
    labels = make_h2o(root / "raw")
    run_prepare(root / "raw", root / "out")
    return root, labels


def test_files_shapes_labels_and_official_hashes(prepared):
    root, labels = prepared
    for split, digest in OFFICIAL_SHA256.items():
        data = load(root / "out" / split / "data.pth")
        assert data.dtype == torch.float32 and data.shape == (len(labels[split]), 3, 120, 21, 3)
        arrays = [data.numpy()]
        if split == "test":
            assert not (root / "out" / split / "gt.pth").exists()
        else:
            gt = load(root / "out" / split / "gt.pth")
            assert gt.dtype == torch.int64 and gt.tolist() == labels[split]
            arrays.append(gt.numpy())
        assert hashlib.sha256(b"".join(a.tobytes() for a in arrays)).hexdigest() == digest, split


def raw_frame(clip, frame):
    hands = np.loadtxt(clip / "cam4" / "hand_pose" / f"{frame:06d}.txt").reshape(2, 64)
    obj = np.loadtxt(clip / "cam4" / "obj_pose" / f"{frame:06d}.txt")
    entities = [h[1:] * (h[0] != 0) for h in hands] + [obj[1:]]
    return np.stack(entities).reshape(3, 21, 3).transpose(2, 1, 0)  # (C, J, E)


def test_frames_entities_padding_and_centre_crop(prepared):
    root, _ = prepared
    rows = h2o.read_split_file(root / "raw", "train")
    data = load(root / "out" / "train" / "data.pth").numpy()
    lengths = []
    for sample, row in zip(data, rows):
        clip, start, end = root / "raw" / row["path"], int(row["start_act"]), int(row["end_act"])
        length = end - start + 1
        offset = max(0, (length - 120) // 2)  # centre crop of long clips
        for t in (0, min(length, 120) - 1):
            np.testing.assert_allclose(sample[:, t], raw_frame(clip, start + offset + t), rtol=1e-6)
        assert not sample[:, length:].any()  # zero padding of short clips
        lengths.append(length)
    assert min(lengths) < 120 < max(lengths)


def test_untracked_left_hand_stays_zero(prepared):
    root, _ = prepared
    data = load(root / "out" / "train" / "data.pth").numpy()
    left_missing = (data[:, :, :, :, 0] == 0).all(axis=(1, 3)) & data[:, :, :, :, 1].any(axis=(1, 3))
    assert left_missing.any()


def test_malformed_frame_file_is_named_and_nothing_is_written(tmp_path):
    make_h2o(tmp_path / "raw", clips=(2, 1, 1), length=(10, 20))
    row = h2o.read_split_file(tmp_path / "raw", "val")[0]
    broken = tmp_path / "raw" / row["path"] / "cam4" / "obj_pose" / f"{int(row['start_act']) + 1:06d}.txt"
    broken.write_text("3 0.1 0.2\n")
    with pytest.raises(PrepareError, match=str(broken)):
        run_prepare(tmp_path / "raw", tmp_path / "out")
    assert not (tmp_path / "out").exists()


def test_missing_split_file_is_named(tmp_path):
    make_h2o(tmp_path / "raw", clips=(2, 1, 1), length=(10, 20))
    (tmp_path / "raw" / "label_split" / "action_test.txt").unlink()
    with pytest.raises(PrepareError, match="action_test.txt"):
        run_prepare(tmp_path / "raw", tmp_path / "out")
