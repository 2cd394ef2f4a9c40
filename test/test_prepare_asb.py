"""`ista-train prepare asb` on a synthetic Assembly101 download (poses_60fps JSON + CSVs)."""
from __future__ import annotations

import argparse
import csv
import hashlib
import os
import pickle

import numpy as np
import pytest

from ista_train.prepare import PrepareError, asb
from synthetic.asb import make_asb

# sha256 of (data, labels as int64) of the official Preprocess/ and PreprocessTest/ steps 1
# and 2 on make_asb(seed=0), samples put in step-1 order (the official step 2 takes the
# directory listing order); ours were identical in names, labels and data.
OFFICIAL_SHA256 = {
    ("action", "train"): "4de8947c66755574fb5cc6ff160a55ad493e6a4442641e40bf1aeffaaa31ece1",
    ("action", "validation"): "ec39265a6ecb5e5c31c9f9f97c9363f8ede7f705b35251fc67eedcd693b83ec4",
    ("verb", "train"): "ad56be88416fce00c5b9ddf83f4b3f5917eeb3cd08001cb14cef8881c30b4f6c",
    ("verb", "validation"): "934190d93e8784bdee38903d397f99109c5b7b0bfa026fd84f11bb1f2d6b6446",
    ("noun", "train"): "338fd44e41695920b1c830717f6c779a19949f7024c3b28f050208c4536c2fdd",
    ("noun", "validation"): "0e1df00b0dcd535e9f8b2622ecc01d07053e0263105465695e41371592b199aa",
    ("action", "test"): "9e30fa2b30380233a994a1160d2b7269881ee73fd453e60c1abf7296a7189588",
}


def run_prepare(root, out, splits=("train", "validation", "test"), types=("action", "verb", "noun")):
    asb.prepare(argparse.Namespace(root=root, poses=None, annotations=None, out=out, splits=list(splits),
                                   types=list(types), frames=200))


@pytest.fixture(scope="module")
def prepared(tmp_path_factory):
    root = tmp_path_factory.mktemp("asb")
    expected = make_asb(root / "raw")
    run_prepare(root / "raw", root / "out")
    return root, expected


def test_official_layout_hashes_and_shared_data(prepared):
    root, _ = prepared
    for (kind, split), digest in OFFICIAL_SHA256.items():
        folder = root / "out" / asb.LABEL_TYPES[kind]
        data = np.load(folder / f"{split}_data_joint_200.npy")
        assert data.dtype == np.float32 and data.shape[1:] == (3, 200, 21, 2)
        arrays = [data]
        if split != "test":
            names, labels = pickle.loads((folder / f"{split}_label.pkl").read_bytes())
            assert len(names) == len(labels) == len(data)
            arrays.append(np.array(labels, dtype=np.int64))
        assert hashlib.sha256(b"".join(a.tobytes() for a in arrays)).hexdigest() == digest, (kind, split)
    action, verb = (root / "out" / asb.LABEL_TYPES[k] / "train_data_joint_200.npy" for k in ("action", "verb"))
    assert os.path.samefile(action, verb) or action.read_bytes() == verb.read_bytes()


def test_sample_names_labels_and_order(prepared):
    root, expected = prepared
    for kind, marker in (("action", "a"), ("verb", "v"), ("noun", "n")):
        for split in ("train", "validation"):
            names, labels = pickle.loads((root / "out" / asb.LABEL_TYPES[kind] / f"{split}_label.pkl").read_bytes())
            assert [int(n.split("_")[0][2:]) for n in names] == list(range(len(names)))
            assert [int(n.split("_")[{"a": 1, "v": 2, "n": 3}[marker]][1:]) for n in names] == labels
    names, labels = pickle.loads((root / "out" / asb.LABEL_TYPES["action"] / "train_label.pkl").read_bytes())
    assert labels == expected["train"]  # recordings sorted, segments by start frame


def test_context_zero_padding_and_missing_test_poses(prepared):
    root, expected = prepared
    folder = root / "out" / asb.LABEL_TYPES["action"]
    names, _ = pickle.loads((folder / "train_label.pkl").read_bytes())
    data = np.load(folder / "train_data_joint_200.npy")
    lengths = [int(n.split("_len")[1].split("_")[0]) for n in names]
    assert min(lengths) < 200 < max(lengths)
    for sample, length in zip(data, lengths):
        assert sample[:, min(length, 200) - 1].any() and not sample[:, length:].any()
    test = np.load(folder / "test_data_joint_200.npy")
    assert len(test) == len(expected["test"])
    assert (test[-1, :, :10] == 1).all() and not test[-1, :, 10:].any()  # no poses: 10 frames of ones


def test_malformed_json_is_named_and_nothing_is_written(tmp_path):
    make_asb(tmp_path / "raw", frames=500)
    broken = sorted((tmp_path / "raw" / "poses_60fps").iterdir())[1]
    broken.write_text(broken.read_text()[:1000])
    with pytest.raises(PrepareError, match=broken.name):
        run_prepare(tmp_path / "raw", tmp_path / "out", splits=("train",))
    assert not [p for p in (tmp_path / "out").rglob("*") if p.is_file()]


def test_per_view_csv_is_refused_with_the_file_name(tmp_path):
    make_asb(tmp_path / "raw", frames=500)
    csv_path = tmp_path / "raw" / "fine-grained-annotations" / "validation.csv"
    rows = list(csv.reader(csv_path.read_text().splitlines()))
    rows[1][1] += "/C10095_rgb.mp4"  # the newer per-view release names views, not recordings
    csv_path.write_text("\n".join(",".join(row) for row in rows) + "\n")
    with pytest.raises(PrepareError, match="validation.csv"):
        run_prepare(tmp_path / "raw", tmp_path / "out")
    assert not (tmp_path / "out").exists()
