"""The self-describing skeleton sequence file (ista_ros.core.sequence), numpy only."""
import numpy as np
import pytest

from ista_ros.core.sequence import Sequence, SequenceError, described, load_sequence, save_sequence


def two_people(frames=12):
    return np.random.default_rng(0).normal(size=(3, frames, 25, 2)).astype(np.float32)


def test_an_npz_carries_its_meaning(tmp_path):
    labels = np.array([-1] * 4 + [1] * 8)
    path = save_sequence(tmp_path / "scene.npz", Sequence(
        joints=two_people(), layout="ntu25", axes="kinect", fps=15, ids=["anna", "ben"],
        kinds=("person", "person"), labels=labels, class_names=("hug", "wave")))
    loaded = load_sequence(path)
    assert np.array_equal(loaded.joints, two_people()) and loaded.joints.dtype == np.float32
    assert (loaded.layout, loaded.axes, loaded.fps) == ("ntu25", "kinect", 15.0)
    assert loaded.ids.tolist() == ["anna", "ben"] and loaded.kinds == ("person", "person")
    assert loaded.labels.tolist() == labels.tolist() and loaded.class_names == ("hug", "wave")
    assert sorted(np.load(path).files) == sorted(["format", "version", "joints", "layout", "axes", "fps", "ids",
                                                  "kinds", "labels", "class_names"])  # no pickles


def test_a_plain_npy_has_joints_only(tmp_path):
    np.save(tmp_path / "scene.npy", two_people())
    loaded = load_sequence(tmp_path / "scene.npy")
    assert loaded.joints.shape == (3, 12, 25, 2)
    assert (loaded.layout, loaded.axes, loaded.fps, loaded.ids) == (None, None, None, None)


def test_per_frame_ids_from_a_tracker(tmp_path):
    ids = np.array([["a", "b"]] * 6 + [["c", "b"]] * 6)
    path = save_sequence(tmp_path / "s.npz", Sequence(two_people(), "ntu25", "optical", 30, ids))
    assert load_sequence(path).ids.tolist() == ids.tolist()


@pytest.mark.parametrize("change, message", [
    (dict(layout="hand21"), "layout 'hand21' has 21 joints, the joints array 25"),
    (dict(layout="kinect99"), "unknown joint layout 'kinect99'"),
    (dict(axes="up"), "unknown axis convention 'up'"),
    (dict(fps=0), "fps must be a positive number"),
    (dict(ids=["a"]), r"ids are \(E,\) or \(T, E\)"),
    (dict(kinds=("person",)), "1 kinds for 2 entities"),
    (dict(labels=np.zeros(12, int) + 2, class_names=("hug", "wave")), "labels run from -1 .none. to 2, but 2 class"),
    (dict(labels=np.zeros(5, int), class_names=("hug",)), r"one class per frame \(12,\)"),
    (dict(joints=np.zeros((12, 25, 2))), r"\(C, T, J, E\) with C = 2 or 3"),
])
def test_contradictions_are_refused_with_a_sentence(tmp_path, change, message):
    base = dict(joints=two_people(), layout="ntu25", axes="optical", fps=30.0, ids=["a", "b"])
    with pytest.raises(SequenceError, match=message):
        save_sequence(tmp_path / "bad.npz", Sequence(**{**base, **change}))
    assert not list(tmp_path.iterdir())  # nothing half-written


def test_saving_needs_a_description(tmp_path):
    with pytest.raises(SequenceError, match="give the sequence's axes, fps to save it"):
        save_sequence(tmp_path / "s.npz", Sequence(two_people(), layout="ntu25", ids=["a", "b"]))
    with pytest.raises(SequenceError, match="ends in .npz"):
        save_sequence(tmp_path / "s.npy", Sequence(two_people(), "ntu25", "optical", 30, ["a", "b"]))


def test_files_that_are_not_sequences(tmp_path):
    np.savez(tmp_path / "other.npz", x=np.zeros(3))
    with pytest.raises(SequenceError, match="not an ista_ros sequence file"):
        load_sequence(tmp_path / "other.npz")
    (tmp_path / "junk.npy").write_bytes(b"not numpy")
    with pytest.raises(SequenceError, match="not a readable .npy or .npz sequence"):
        load_sequence(tmp_path / "junk.npy")
    np.save(tmp_path / "objects.npy", np.array([{"a": 1}], dtype=object))
    with pytest.raises(SequenceError, match="not a readable"):
        load_sequence(tmp_path / "objects.npy")
    with pytest.raises(SequenceError, match="does not exist"):
        load_sequence(tmp_path / "none.npz")
    path = save_sequence(tmp_path / "future.npz", Sequence(two_people(), "ntu25", "optical", 30, ["a", "b"]))
    np.savez(path, **{**dict(np.load(path)), "version": np.int64(99)})
    with pytest.raises(SequenceError, match="version 99; this ista_ros reads up to 1"):
        load_sequence(path)


def test_the_file_wins_over_given_values_and_says_so(tmp_path):
    path = save_sequence(tmp_path / "s.npz", Sequence(two_people(), "ntu25", "kinect", 30, ["a", "b"]))
    sequence, conflicts = described(load_sequence(path), {"axes": "optical", "fps": 30, "layout": None})
    assert sequence.axes == "kinect" and sequence.fps == 30.0
    assert conflicts == ["the file says axes kinect, so axes optical is ignored"]
    np.save(tmp_path / "s.npy", two_people())
    given = {"axes": "kinect", "fps": 15.0, "ids": ["x", "y"]}
    sequence, conflicts = described(load_sequence(tmp_path / "s.npy"), given)
    assert (sequence.axes, sequence.fps, sequence.ids.tolist(), conflicts) == ("kinect", 15.0, ["x", "y"], [])
    with pytest.raises(SequenceError, match="layout 'hand21' has 21 joints"):
        described(load_sequence(tmp_path / "s.npy"), {"layout": "hand21"})
