"""`ista-train prepare ntu120` end to end on synthetic .skeleton files.

The synthetic files (test/synthetic/ntu.py) contain ghost bodies, a lying body, a
bystander with glitch frames, an id switch, empty frames, late entries, a missing second
person and a file without bodies; make_ntu says which persons each file must yield.
"""
from __future__ import annotations

import argparse
import hashlib

import numpy as np
import pytest

from ista_train.prepare import PrepareError, ntu
from synthetic.ntu import make_ntu, write_skeleton_file

# sha256 of the arrays the official CTR-GCN scripts (get_raw_skes_data.py,
# get_raw_denoised_data.py, seq_transformation.py; numpy 1.26 with `np.int = int`) wrote for
# make_ntu(seed=0) defaults; ours were bit-identical to them (padding to the longest
# sequence, as the official align_frames does, hence frames=1 below).
OFFICIAL_SHA256 = {
    "NTU120_CSub.npz": "c3396455a065594bd93591447db32f960e2fc5e9134ef60f6acf5a64ea74143d",
    "NTU120_CSet.npz": "d6f93e737a685a9e3967f7fcd222be7684f39b9aefadb1da8d0d9b4de0e7de7d",
}


def run_prepare(raw, out, **options):
    args = argparse.Namespace(raw_dir=raw, out=out, exclude=None, mutual_only=False, frames=300, workers=1)
    vars(args).update(options)
    ntu.prepare(args)


@pytest.fixture(scope="module")
def prepared(tmp_path_factory):
    root = tmp_path_factory.mktemp("ntu")
    expected = make_ntu(root / "raw")
    run_prepare(root / "raw", root / "out")
    return root, expected


def expected_sample(actors: np.ndarray) -> np.ndarray:
    """(T, 150): persons centred on person 1's joint 2 at its first frame, absent = 0, a lone
    person copied into the second slot."""
    present = (actors != 0).any(axis=(2, 3))
    first = np.argmax(present[:, 0])
    centred = np.where(present[:, :, None, None], actors - actors[first, 0, 1], 0)
    if centred.shape[1] == 1:
        centred = np.concatenate([centred, centred], axis=1)
    return centred.reshape(len(actors), 150)


def official_order(names: list[str], benchmark: str) -> tuple[list[str], list[str]]:
    """Train/test names grouped by ascending performer (CSub) or setup (CSet)."""
    key = (lambda n: int(n[9:12])) if benchmark == "CSub" else (lambda n: int(n[1:4]))
    is_train = (lambda n: key(n) in ntu.XSUB_TRAIN_SUBJECTS) if benchmark == "CSub" else (lambda n: key(n) % 2 == 0)
    ordered = sorted(sorted(names), key=key)
    return [n for n in ordered if is_train(n)], [n for n in ordered if not is_train(n)]


@pytest.mark.parametrize("benchmark", ["CSub", "CSet"])
def test_every_sample_holds_the_right_persons_centred_and_padded(prepared, benchmark):
    root, expected = prepared
    usable = [name for name, e in expected.items() if e.actors is not None]
    arrays = np.load(root / "out" / f"NTU120_{benchmark}.npz")
    for part, names in zip(("train", "test"), official_order(usable, benchmark)):
        x, y = arrays[f"x_{part}"], arrays[f"y_{part}"]
        assert x.shape == (len(names), 300, 150) and x.dtype == np.float32
        assert y.shape == (len(names), 120) and y.dtype == np.float64
        np.testing.assert_array_equal(y.sum(axis=1), 1)
        for row, name in enumerate(names):
            want = expected_sample(expected[name].actors)
            assert y[row].argmax() == int(name[-3:]) - 1
            np.testing.assert_allclose(x[row, :len(want)], want, atol=2e-5,
                                       err_msg=f"{name} ({expected[name].scenario})")
            assert not x[row, len(want):].any(), f"{name}: padding must be zeros"


def test_scenarios_cover_the_denoising_rules(prepared):
    _, expected = prepared
    scenarios = {e.scenario for e in expected.values()}
    assert scenarios == {"pair", "pair_noisy", "id_switch", "alone", "alone_noisy", "late", "gap", "empty"}


def test_official_subject_and_setup_splits():
    assert len(ntu.XSUB_TRAIN_SUBJECTS) == 53
    assert {1, 2, 4, 5, 8, 9, 13, 103} <= ntu.XSUB_TRAIN_SUBJECTS
    assert not {3, 6, 7, 10, 104, 105, 106} & ntu.XSUB_TRAIN_SUBJECTS
    samples = [ntu.SampleId(setup, 1, performer, 1, 50) for setup in (1, 2, 31, 32) for performer in (3, 1)]
    train, test = ntu.split_order(samples, "CSet")
    assert [samples[i].setup for i in train] == [2, 2, 32, 32]
    assert [samples[i].setup for i in test] == [1, 1, 31, 31]
    train, test = ntu.split_order(samples, "CSub")
    assert [samples[i].performer for i in train] == [1] * 4 and [samples[i].performer for i in test] == [3] * 4


def test_mutual_classes_are_a50_to_a60_and_a106_to_a120():
    assert sorted(ntu.MUTUAL_CLASSES) == list(range(50, 61)) + list(range(106, 121))


def test_bit_identical_to_the_official_scripts(tmp_path):
    make_ntu(tmp_path / "raw")
    run_prepare(tmp_path / "raw", tmp_path / "out", frames=1, workers=2)
    for filename, digest in OFFICIAL_SHA256.items():
        with np.load(tmp_path / "out" / filename) as arrays:
            sha = hashlib.sha256()
            for key in ("x_train", "y_train", "x_test", "y_test"):
                sha.update(np.ascontiguousarray(arrays[key]).tobytes())
        assert sha.hexdigest() == digest, filename


def test_mutual_only_keeps_26_class_samples_with_120_wide_labels(tmp_path):
    expected = make_ntu(tmp_path / "raw", actions=(1, 50, 106))
    run_prepare(tmp_path / "raw", tmp_path / "out", mutual_only=True)
    with np.load(tmp_path / "out" / "NTU120_CSet.npz") as arrays:
        labels = np.concatenate([arrays["y_train"], arrays["y_test"]]).argmax(axis=1) + 1
        assert arrays["y_train"].shape[1] == 120
    mutual = [n for n, e in expected.items() if e.actors is not None and int(n[-3:]) in ntu.MUTUAL_CLASSES]
    assert sorted(labels.tolist()) == sorted(int(n[-3:]) for n in mutual)


def test_length_threshold_keeps_bodies_seen_in_more_than_11_frames():
    def body(frames, x):
        joints = np.tile(np.linspace(0, 1, 25)[:, None] * [0.1, 1, 0], (frames, 1)).astype(np.float32)
        return ntu.Body(joints + np.float32(x), 0, np.float32(frames))

    kept = ntu.denoise({"a": body(12, 0), "b": body(11, 1), "c": body(30, 2)})
    assert [b.frames for b in kept] == [30, 12]  # ordered by motion, the 11-frame body dropped


def test_malformed_file_is_named_and_nothing_is_written(tmp_path):
    make_ntu(tmp_path / "raw")
    broken = sorted((tmp_path / "raw").rglob("*.skeleton"))[3]
    broken.write_text("\n".join(broken.read_text().splitlines()[:40]) + "\n0.1 0.2\n")
    with pytest.raises(PrepareError, match=broken.name):
        run_prepare(tmp_path / "raw", tmp_path / "out", workers=2)
    assert not (tmp_path / "out").exists() or not any((tmp_path / "out").iterdir())


def test_missing_raw_folder_and_badly_named_file(tmp_path):
    with pytest.raises(PrepareError, match="does not exist"):
        run_prepare(tmp_path / "nowhere", tmp_path / "out")
    write_skeleton_file(tmp_path / "raw" / "clip.skeleton", [[]])
    with pytest.raises(PrepareError, match="clip.skeleton"):
        run_prepare(tmp_path / "raw", tmp_path / "out")


def test_exclude_list_skips_the_named_samples(tmp_path):
    expected = make_ntu(tmp_path / "raw", actions=(50,), empty_file=False)
    skip = sorted(expected)[:2]
    (tmp_path / "missing.txt").write_text("\n".join(skip) + "\n")
    run_prepare(tmp_path / "raw", tmp_path / "out", exclude=str(tmp_path / "missing.txt"))
    with np.load(tmp_path / "out" / "NTU120_CSub.npz") as arrays:
        assert len(arrays["x_train"]) + len(arrays["x_test"]) == len(expected) - 2
