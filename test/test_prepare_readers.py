"""What `ista-train prepare` writes is what ista_train's dataset readers (the official
feeders' views) accept: synthetic raw data -> prepare -> read_split with official feeder args."""
from __future__ import annotations

import argparse

import numpy as np
import pytest

from ista_train.prepare import asb, h2o, ntu
from synthetic import make_asb, make_h2o, make_ntu
from synthetic.asb import ACTIONS

data = pytest.importorskip("ista_train.data")


def test_ntu_mutual_26_read_back(tmp_path):
    expected = make_ntu(tmp_path / "raw", actions=(1, 50, 60, 106, 120))
    ntu.prepare(argparse.Namespace(raw_dir=tmp_path / "raw", out=tmp_path / "out", exclude=None,
                                   mutual_only=False, frames=300, workers=1))
    path = str(tmp_path / "out" / "NTU120_CSub.npz")
    train, test = (data.read_split("ntu", {"data_path": path, "split": s}) for s in ("train", "test"))
    assert train.data.shape[1:] == (3, 300, 25, 2)
    labels = sorted(train.labels.tolist() + test.labels.tolist())
    mutual_names = [n for n, e in expected.items() if e.actors is not None and int(n[-3:]) >= 50]
    remap = {50: 0, 60: 10, 106: 11, 120: 25}  # A50-A60 -> 0-10, A106-A120 -> 11-25
    assert labels == sorted(remap[int(n[-3:])] for n in mutual_names)


def test_h2o_read_back(tmp_path):
    labels = make_h2o(tmp_path / "raw", clips=(3, 2, 2), length=(10, 30))
    h2o.prepare(argparse.Namespace(root=tmp_path / "raw", out=tmp_path / "out", frames=120))
    val = data.read_split("h2o", {"data_path": str(tmp_path / "out"), "split": "val"})
    assert val.data.shape == (2, 3, 120, 21, 3)
    assert val.labels.tolist() == [label - 1 for label in labels["val"]]  # the feeder's 0-based labels
    test = data.read_split("h2o", {"data_path": str(tmp_path / "out"), "split": "test"}, labelled=False)
    assert len(test.data) == 2


def test_asb_read_back(tmp_path):
    expected = make_asb(tmp_path / "raw", frames=500)
    asb.prepare(argparse.Namespace(root=tmp_path / "raw", poses=None, annotations=None, out=tmp_path / "out",
                                   splits=["train", "test"], types=["verb"], frames=200))
    folder = tmp_path / "out" / asb.LABEL_TYPES["verb"]
    train = data.read_split("asb", {"data_path": str(folder / "train_data_joint_200.npy"),
                                    "label_path": str(folder / "train_label.pkl")})
    verbs = {action: verb for action, verb, *_ in ACTIONS}
    assert train.labels.tolist() == [verbs[a] for a in expected["train"]]
    test = data.read_split("asb", {"data_path": str(folder / "test_data_joint_200.npy")}, labelled=False)
    assert len(test.data) == len(expected["test"]) and np.isfinite(test.data).all()
