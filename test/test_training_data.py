"""ista_train datasets on small files in each official format, the test-time pipeline
(the core's model_input) and the training transforms."""
from __future__ import annotations

import pickle

import numpy as np
import pytest
import torch

from ista_ros.core.window import Preprocessing, model_input
from ista_train.data import DatasetError, SkeletonDataset, Split, read_split
from ista_train.data.formats import NTU_MUTUAL, SBU_FOLDS, sbu_sample
from ista_train.data.transforms import Augment, random_rotation, rearrange_entities, rotation_matrix

RNG = np.random.default_rng(0)


def motion(n, c, t, j, e, valid=None):
    """Smooth non-zero samples, zero-padded after `valid` frames."""
    x = np.cumsum(RNG.normal(0, 0.05, (n, c, t, j, e)), axis=2).astype(np.float32) + 1.0
    if valid is not None:
        for i, v in enumerate(valid):
            x[i, :, v:] = 0
    return x


def write_ntu(path, labels120, t=40):
    """A CTR-GCN NTU npz: x_<split> (N, T, 2*25*3), y_<split> one-hot over 120 classes."""
    arrays = {}
    for split in ("train", "test"):
        n = len(labels120)
        cthe = motion(n, 3, t, 25, 2, valid=RNG.integers(10, t, n))  # (N, C, T, J, E)
        arrays[f"x_{split}"] = cthe.transpose(0, 2, 4, 3, 1).reshape(n, t, 150)
        arrays[f"y_{split}"] = np.eye(120, dtype=np.float32)[labels120]
    np.savez(path, **arrays)
    return arrays


def test_ntu_keeps_the_26_mutual_classes_and_remaps_them(tmp_path):
    labels120 = np.array([0, 49, 59, 60, 104, 105, 119, 48, 55])
    arrays = write_ntu(tmp_path / "ntu.npz", labels120)
    split = read_split("ntu", {"data_path": str(tmp_path / "ntu.npz"), "split": "test"})
    assert split.labels.tolist() == [0, 10, 11, 25, 6]  # A50, A60, A106, A120, A56
    kept = [1, 2, 5, 6, 8]
    expected = arrays["x_test"][kept].reshape(5, -1, 2, 25, 3).transpose(0, 4, 1, 3, 2)
    np.testing.assert_array_equal(split.data, expected)
    assert len(NTU_MUTUAL) == 26


def write_sbu(root, frames_by_seq):
    """getSBU layout: <pair>/<label>/<seq>/skeleton_pos.txt, lines 'frame, 90 values'."""
    for (pair, label, seq), frames in frames_by_seq.items():
        folder = root / pair / f"{label:02d}" / seq
        folder.mkdir(parents=True)
        table = np.column_stack([np.arange(1, len(frames) + 1), frames.reshape(len(frames), 90)])
        np.savetxt(folder / "skeleton_pos.txt", table, delimiter=",", fmt="%.6f")


def test_sbu_folds_46_frame_cut_and_pad_with_transformed_padding(tmp_path):
    short, long = RNG.uniform(0, 1, (20, 2, 15, 3)), RNG.uniform(0, 1, (60, 2, 15, 3))
    write_sbu(tmp_path, {(SBU_FOLDS[1][0], 3, "001"): short, (SBU_FOLDS[0][0], 5, "001"): long})
    test = read_split("sbu", {"data_path": str(tmp_path), "split": "test", "fold": 1})
    train = read_split("sbu", {"data_path": str(tmp_path), "split": "train", "fold": 1})
    assert test.labels.tolist() == [2] and train.labels.tolist() == [4]
    assert test.data.shape == (1, 3, 46, 15, 2) and train.data.shape == (1, 3, 46, 15, 2)
    # padding is mapped like the coordinates: x = 1280 - 0 * 2560 -> padded frames are valid
    np.testing.assert_allclose(test.data[0, 0, 20:], 1280)
    np.testing.assert_allclose(test.data[0, 0, :20, :, 0], 1280 - short[:, 0, :, 0] * 2560, atol=0.01)
    np.testing.assert_allclose(train.data[0, 2, :, :, 1], long[:46, 1, :, 2] * 10000 / 7.8125, atol=0.01)


def test_h2o_and_asb_formats(tmp_path):
    data = motion(4, 3, 30, 21, 3)
    (tmp_path / "val").mkdir()
    torch.save(torch.from_numpy(data), tmp_path / "val" / "data.pth")
    torch.save(torch.tensor([1, 36, 2, 5]), tmp_path / "val" / "gt.pth")
    h2o = read_split("h2o", {"data_path": str(tmp_path), "split": "val"})
    assert h2o.labels.tolist() == [0, 35, 1, 4]
    np.testing.assert_array_equal(h2o.data, data)

    np.save(tmp_path / "asb.npy", data[:, :, :, :, :2])
    with open(tmp_path / "asb.pkl", "wb") as f:
        pickle.dump((["a", "b", "c", "d"], [3, 0, 2, 1]), f)
    asb = read_split("asb", {"data_path": str(tmp_path / "asb.npy"), "label_path": str(tmp_path / "asb.pkl")})
    assert asb.labels.tolist() == [3, 0, 2, 1] and asb.sample_names == ["a", "b", "c", "d"]
    unlabelled = read_split("asb", {"data_path": str(tmp_path / "asb.npy"), "label_path": "x"}, labelled=False)
    assert unlabelled.labels is None


def test_asb_label_file_cannot_run_code(tmp_path):
    np.save(tmp_path / "asb.npy", motion(1, 3, 10, 21, 2))
    with open(tmp_path / "evil.pkl", "wb") as f:
        pickle.dump((["a"], [print]), f)
    with pytest.raises(DatasetError, match="evil.pkl"):
        read_split("asb", {"data_path": str(tmp_path / "asb.npy"), "label_path": str(tmp_path / "evil.pkl")})


def test_missing_files_are_named(tmp_path):
    with pytest.raises(DatasetError, match="nowhere.npz"):
        read_split("ntu", {"data_path": str(tmp_path / "nowhere.npz"), "split": "train"})
    with pytest.raises(DatasetError, match="not supported"):
        read_split("ntu", {"data_path": "x", "bone": True})


def test_test_path_is_the_core_model_input():
    data = motion(3, 3, 50, 25, 2, valid=[50, 31, 12])
    pre = Preprocessing(num_frames=24, p_interval=(0.95,), centre_joint=1)
    dataset = SkeletonDataset(Split(data, np.array([0, 1, 2]), ["a", "b", "c"]), pre)
    for i in range(3):
        x, label, index = dataset[i]
        np.testing.assert_array_equal(x.numpy(), model_input(data[i], pre))
        assert (label, index) == (i, i)


def test_random_crop_keeps_at_least_64_frames():
    # 200 valid frames, p in [0.1, 0.2] would keep 20-40: the floor keeps 64. With a linear
    # ramp over time, the kept span's length is the difference of its end values.
    t = np.arange(300, dtype=np.float32)
    sample = np.broadcast_to(t[None, :, None, None], (3, 300, 2, 2)).copy() + 1
    sample[:, 200:] = 0
    augment = Augment(p_interval=(0.1, 0.2), num_frames=300, random_rot=False)
    rng = np.random.default_rng(1)
    for _ in range(20):
        x = augment(sample, rng)[0, :, 0, 0]
        assert 62 <= x[-1] - x[0] <= 64 and x[0] >= 1 and x[-1] <= 200


def test_rotation_is_a_proper_rotation_and_preserves_distances():
    r = rotation_matrix(np.array([0.2, -0.1, 0.3]))
    np.testing.assert_allclose(r @ r.T, np.eye(3), atol=1e-12)
    assert np.isclose(np.linalg.det(r), 1.0)
    sample = motion(1, 3, 8, 5, 2)[0]
    rotated = random_rotation(sample, np.random.default_rng(0))
    np.testing.assert_allclose(np.linalg.norm(rotated, axis=0), np.linalg.norm(sample, axis=0), rtol=1e-5)


@pytest.mark.parametrize("random_rot", [False, True])
def test_entity_rearrangement_with_and_without_rotation(random_rot):
    sample = motion(1, 3, 64, 5, 3)[0]
    seen = set()
    for seed in range(30):
        augment = Augment((1.0, 1.0), 64, random_rot=random_rot, entity_rearrangement=True)
        x = augment(sample, np.random.default_rng(seed))
        plain = Augment((1.0, 1.0), 64, random_rot=random_rot)(sample, np.random.default_rng(seed))
        # same entities, maybe in another order: match each output entity to an input one
        order = tuple(int(np.argmin([np.abs(np.linalg.norm(x[..., e], axis=0) -
                                            np.linalg.norm(sample[..., k], axis=0)).max() for k in range(3)]))
                      for e in range(3))
        assert sorted(order) == [0, 1, 2]
        seen.add(order)
        assert x.shape == plain.shape == (3, 64, 5, 3)
    assert len(seen) > 1


def test_rearrange_entities_permutes_only_the_last_axis():
    sample = np.arange(2 * 3 * 4 * 3, dtype=np.float32).reshape(2, 3, 4, 3)
    out = rearrange_entities(sample, np.random.default_rng(3))
    assert sorted(map(tuple, out.reshape(-1, 3).T.tolist())) == sorted(map(tuple, sample.reshape(-1, 3).T.tolist()))


def test_augmentation_depends_on_seed_epoch_and_index_only():
    data = motion(2, 3, 80, 5, 2)
    augment = Augment((0.5, 1.0), 32, random_rot=True, entity_rearrangement=True)
    dataset = SkeletonDataset(Split(data, np.array([0, 1]), ["a", "b"]), Preprocessing(32), augment, seed=7)
    first = dataset[1][0]
    np.testing.assert_array_equal(dataset[1][0], first)
    dataset.set_epoch(1)
    assert not torch.equal(dataset[1][0], first)


def test_sbu_sample_shape():
    assert sbu_sample(RNG.uniform(0, 1, (10, 2, 15, 3))).shape == (3, 46, 15, 2)


def test_labels_and_class_names_must_fit_the_recipe(tmp_path):
    from ista_train.data import build_dataset
    from ista_train.recipe import recipe_from_dict

    np.savez(tmp_path / "train.npz", data=motion(3, 3, 20, 5, 2), label=np.array([0, 1, 4]),
             class_names=np.array(["a", "b", "c", "d", "e"]))
    model = {"num_classes": 4, "num_joints": 5, "num_frames": 16, "num_persons": 2, "window_size": [8, 1, 2],
             "config": [[8, 8, 4]]}
    args = {"data_path": str(tmp_path), "split": "train", "p_interval": [0.5, 1]}
    with pytest.raises(DatasetError, match="outside 0-3"):
        build_dataset(recipe_from_dict({"model_args": model, "train_feeder_args": args}), train=True)
    model["num_classes"] = 5
    recipe = recipe_from_dict({"model_args": model, "train_feeder_args": args, "class_names": list("abcdx")})
    with pytest.raises(DatasetError, match="agree"):
        build_dataset(recipe, train=True)


@pytest.mark.parametrize("augment", [None, Augment((0.5, 1.0), 24, random_rot=True, entity_rearrangement=True)])
def test_a_change_to_the_core_model_input_reaches_training_inputs(monkeypatch, augment):
    """Training (augmented or not) builds its inputs with the core's model_input: a step
    changed there is what the model is trained with, as it is what the node feeds it."""
    import ista_ros.core.window as core_window
    data = motion(1, 3, 50, 25, 2)
    dataset = SkeletonDataset(Split(data, np.array([0]), ["a"]), Preprocessing(24), augment)
    before = dataset[0][0]
    crop = core_window.crop_resize
    monkeypatch.setattr(core_window, "crop_resize", lambda *args: np.zeros_like(crop(*args)))
    after = dataset[0][0]
    assert torch.count_nonzero(before) > 0 and torch.count_nonzero(after) == 0
