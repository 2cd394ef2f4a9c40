"""The procedural interaction generator: shapes, kinematics, class geometry, the scenes
without an interaction (class none), determinism, dropouts, datasets, streams and the
prepared npz files."""
from __future__ import annotations

import argparse
import subprocess
import sys
from dataclasses import replace

import numpy as np
import pytest

from ista_ros.core.window import valid_frame_count
from ista_ros.synthetic import interactions as gen

CLASSES = range(len(gen.CLASS_NAMES))
SEEDS = range(4)


def exact(class_id, seed, num_frames=None):
    """A sample without noise, dropouts or camera tilt: geometry can be measured on it."""
    return gen.generate(class_id, np.random.default_rng(seed), num_frames, variation=gen.EXACT)


def joint_distance(sample, joint_a, entity_a, joint_b, entity_b):
    """(T,) distance between two joints over time."""
    return np.linalg.norm(sample[:, :, joint_a, entity_a] - sample[:, :, joint_b, entity_b], axis=0)


def pelvis_distance(sample):
    return joint_distance(sample, gen.BASE, 0, gen.BASE, 1)


def foot_rise(sample):
    """How far the highest-lifted foot of either person rises above its lowest position."""
    feet = sample[1][:, list(gen.FOOT)]  # (T, 2, E) heights
    return float((feet - feet.min(axis=0)).max())


@pytest.mark.parametrize("class_id", CLASSES)
def test_sample_shape_and_values(class_id):
    sample = gen.generate(class_id, np.random.default_rng(class_id))
    assert sample.dtype == np.float32 and sample.ndim == 4
    assert sample.shape[0] == 3 and sample.shape[2:] == (25, 2)
    assert 0.7 * gen.DURATION_S[class_id] * gen.FPS <= sample.shape[1] <= 1.3 * gen.DURATION_S[class_id] * gen.FPS
    assert np.all(np.isfinite(sample))
    # People stay in front of the camera, a few metres away.
    depth = sample[2][sample[2] != 0]
    assert 0.5 < depth.min() and depth.max() < 7.5


def test_num_frames_and_max_frames():
    rng = np.random.default_rng(0)
    assert gen.generate(3, rng, num_frames=40).shape[1] == 40
    assert gen.generate(1, rng, max_frames=50).shape[1] == 50


def assert_bones_keep_their_length(sample, what):
    for entity in range(2):
        if not sample[..., entity].any():
            continue  # a person not in view
        for parent, child in gen.BONES:
            length = np.linalg.norm(sample[:, :, parent, entity] - sample[:, :, child, entity], axis=0)
            assert length.std() < 1e-4, (what, parent, child, entity)
            assert 0.02 < length.mean() < 0.6


@pytest.mark.parametrize("class_id", gen.INTERACTIONS)
def test_bones_keep_their_length(class_id):
    assert_bones_keep_their_length(exact(class_id, seed=class_id), gen.CLASS_NAMES[class_id])


@pytest.mark.parametrize("kind", gen.NEGATIVE_KINDS)
def test_bones_keep_their_length_without_an_interaction(kind):
    for seed in range(3):
        assert_bones_keep_their_length(negative(kind, seed), kind)


def test_body_size_varies_between_samples():
    heights = [np.linalg.norm(exact(8, seed)[:, 0, gen.HEAD, 0] - exact(8, seed)[:, 0, gen.FOOT[0], 0])
               for seed in range(8)]
    assert max(heights) - min(heights) > 0.1


@pytest.mark.parametrize("seed", SEEDS)
def test_handshake_right_hands_meet(seed):
    sample = exact(0, seed)
    mid = sample.shape[1] // 2
    assert joint_distance(sample, gen.HAND[1], 0, gen.HAND[1], 1)[mid] < 0.15
    assert joint_distance(sample, gen.HAND[1], 0, gen.HAND[1], 1)[0] > 0.4


@pytest.mark.parametrize("seed", SEEDS)
def test_hug_brings_torsos_together(seed):
    sample = exact(1, seed)
    torso = joint_distance(sample, gen.SPINE_SHOULDER, 0, gen.SPINE_SHOULDER, 1)
    assert torso[sample.shape[1] // 2] < 0.45 and torso[0] > 0.9


@pytest.mark.parametrize("seed", SEEDS)
def test_push_moves_the_partner_back(seed):
    sample = exact(2, seed)
    moved = np.abs(sample[0, -1, gen.BASE] - sample[0, 0, gen.BASE])  # (E,) along x (side view)
    assert moved.max() > 0.25


@pytest.mark.parametrize("seed", SEEDS)
def test_punch_reaches_the_partners_head(seed):
    sample = exact(3, seed)
    closest = min(joint_distance(sample, hand, e, gen.HEAD, 1 - e).min() for hand in gen.HAND for e in range(2))
    assert closest < 0.3


@pytest.mark.parametrize("seed", SEEDS)
def test_kick_raises_a_foot_and_others_do_not(seed):
    assert foot_rise(exact(4, seed)) > 0.35
    assert foot_rise(exact(5, seed)) < 0.05  # pointing: nobody moves their feet


@pytest.mark.parametrize("seed", SEEDS)
def test_point_at_straightens_an_arm_towards_the_partner(seed):
    sample = exact(5, seed)
    mid = sample.shape[1] // 2
    arm = max(joint_distance(sample, gen.SHOULDER[s], e, gen.HAND[s], e)[mid] for s in range(2) for e in range(2))
    assert arm > 0.5


@pytest.mark.parametrize("seed", SEEDS)
def test_wave_raises_a_hand_above_the_shoulders(seed):
    sample = exact(6, seed)
    mid = sample.shape[1] // 2
    above = max(sample[1, mid, gen.HAND[s], e] - sample[1, mid, gen.SPINE_SHOULDER, e]
                for s in range(2) for e in range(2))
    assert above > 0.1


@pytest.mark.parametrize("seed", SEEDS)
def test_hand_over_brings_hands_together(seed):
    sample = exact(7, seed)
    closest = min(joint_distance(sample, a, 0, b, 1).min() for a in gen.HAND for b in gen.HAND)
    assert closest < 0.25


@pytest.mark.parametrize("seed", SEEDS)
def test_approach_closes_and_walk_apart_opens_the_distance(seed):
    approach, apart = pelvis_distance(exact(8, seed)), pelvis_distance(exact(9, seed))
    assert approach[-1] < approach[0] - 1.2
    assert apart[-1] > apart[0] + 1.5


# --- class none: scenes without an interaction

HANDS = [*gen.WRIST, *gen.HAND, *gen.HAND_TIP, *gen.THUMB]
NEGATIVE_SEEDS = range(12)


def negative(kind, seed, variation=gen.EXACT):
    return gen.generate(gen.NONE, np.random.default_rng(seed), variation=variation, kind=kind)


def closest_touch(sample):
    """The least distance (m) from a hand joint of one person to any joint of the other."""
    closest = np.inf
    for e in range(2):
        hands, other = sample[:, :, HANDS, e], sample[:, :, :, 1 - e]
        closest = min(closest, np.linalg.norm(hands[:, :, :, None] - other[:, :, None, :], axis=0).min())
    return closest


def test_none_is_the_last_class():
    assert gen.CLASS_NAMES[gen.NONE] == "none" and gen.NONE == len(gen.CLASS_NAMES) - 1 == 10
    assert list(gen.INTERACTIONS) == list(range(10))
    assert gen.CLASS_NAMES[:10] == ("handshake", "hug", "push", "punch", "kick",
                                    "point at", "wave at", "hand over", "approach", "walk apart")


@pytest.mark.parametrize("kind", [k for k in gen.NEGATIVE_KINDS if k != "alone"])
def test_people_without_an_interaction_never_touch(kind):
    closest = min(closest_touch(negative(kind, seed)) for seed in NEGATIVE_SEEDS)
    assert closest > 0.2, f"{kind}: a hand {closest:.2f} m from the other person"


def test_touching_interactions_do_touch():
    """The measure above tells the classes apart: hands meet in these."""
    for class_id in (0, 1, 7):  # handshake, hug, hand over
        assert closest_touch(exact(class_id, 0)) < 0.1


@pytest.mark.parametrize("seed", NEGATIVE_SEEDS)
def test_passers_pass_each_other(seed):
    sample = negative("pass", seed)  # exact: a side view, the lanes along the camera's x
    along = sample[0, :, gen.BASE, 0] - sample[0, :, gen.BASE, 1]
    assert np.sign(along[0]) != np.sign(along[-1])  # who was on the left ends on the right
    assert min(abs(along[0]), abs(along[-1])) > 0.5
    lanes = np.abs(sample[2, :, gen.BASE, 0] - sample[2, :, gen.BASE, 1])
    assert lanes.min() > 0.8


@pytest.mark.parametrize("seed", NEGATIVE_SEEDS)
def test_side_by_side_walkers_keep_their_distance_while_they_walk(seed):
    sample = negative("side by side", seed)
    assert 0.8 < pelvis_distance(sample).min() and pelvis_distance(sample).max() < 1.4
    walked = np.linalg.norm(sample[:, -1, gen.BASE] - sample[:, 0, gen.BASE], axis=0)  # (E,)
    assert walked.min() > 2.0


@pytest.mark.parametrize("seed", NEGATIVE_SEEDS)
def test_talkers_stand_apart_facing_each_other(seed):
    sample = negative("talk", seed)
    distance = pelvis_distance(sample)
    assert 1.0 < distance.min() and distance.max() < 2.0
    assert np.linalg.norm(sample[:, -1, gen.BASE] - sample[:, 0, gen.BASE], axis=0).max() < 0.15  # nobody walks


def test_one_person_actions_happen_at_a_distance():
    samples = [negative("one-person action", seed) for seed in range(16)]
    assert min(pelvis_distance(s).min() for s in samples) > 1.3
    sat = [max(np.ptp(s[1, :, gen.BASE, e]) for e in range(2)) > 0.25 for s in samples]  # a pelvis drops
    raised = [(s[1, :, list(gen.HAND)] - s[1, :, [gen.HEAD]]).max() > 0.1 for s in samples]  # hands above the head
    assert any(sat) and any(raised) and not all(sat)


@pytest.mark.parametrize("seed", range(4))
def test_a_person_alone_is_entity_0_and_entity_1_is_padding(seed):
    sample = negative("alone", seed, variation=replace(gen.Variation(), dropout_rate=1.0))
    assert not sample[..., 1].any()
    assert np.all(sample[..., 0].any(axis=(0, 2)))  # the only person never drops out


@pytest.mark.parametrize("seed", NEGATIVE_SEEDS)
def test_crossing_pedestrians_walk_on_without_stopping_for_each_other(seed):
    sample = negative("crossing", seed)
    assert pelvis_distance(sample).min() > 0.6
    walked = np.linalg.norm(sample[:, -1, gen.BASE] - sample[:, 0, gen.BASE], axis=0)  # (E,)
    assert walked.max() > 2.0  # at least one walks through the whole scene; the other may wait
    step = np.linalg.norm(np.diff(sample[:, :, gen.BASE], axis=1), axis=0)  # (T-1, E)
    assert step[:, np.argmax(walked)].min() > 0.01  # and never stops (no approach, no meeting)


def test_crossing_pedestrians_come_from_every_direction():
    def heading(sample, e):
        travel = sample[[0, 2], -1, gen.BASE, e] - sample[[0, 2], 0, gen.BASE, e]
        return np.arctan2(travel[1], travel[0])

    angles = []
    for seed in range(40):
        sample = negative("crossing", seed)
        if all(np.linalg.norm(sample[[0, 2], -1, gen.BASE, e] - sample[[0, 2], 0, gen.BASE, e]) > 1 for e in (0, 1)):
            angles.append(abs(np.angle(np.exp(1j * (heading(sample, 0) - heading(sample, 1))))))
    angles = np.degrees(angles)
    assert (angles < 30).any() and ((angles > 60) & (angles < 120)).any() and (angles > 150).any()


def test_depth_error_moves_each_person_along_the_camera_ray_keeping_the_body():
    clean = negative("talk", 3)
    noisy = negative("talk", 3, variation=replace(gen.EXACT, depth_error=(0.1, 0.1)))
    shift = noisy - clean  # (3, T, J, E): the same vector for every joint of a person in a frame
    np.testing.assert_allclose(shift, np.broadcast_to(shift[:, :, :1], shift.shape), atol=1e-5)
    centre = clean.mean(axis=2)  # (3, T, E); the camera is at the origin
    relative = shift[:, :, 0] / centre  # every axis scaled alike: a move along the ray
    np.testing.assert_allclose(relative, np.broadcast_to(relative[:1], relative.shape), atol=1e-4)
    assert 0.01 < np.abs(relative).mean() < 0.4
    assert not np.allclose(relative[0, :, 0], relative[0, :, 1])  # each person has their own error
    assert_bones_keep_their_length(noisy, "talk")


def test_a_kind_goes_with_class_none_only():
    with pytest.raises(ValueError, match="class none only"):
        gen.generate(3, np.random.default_rng(0), kind="pass")
    with pytest.raises(ValueError, match="class none only"):
        gen.generate(gen.NONE, np.random.default_rng(0), kind="dance")


def test_streams_mix_interactions_and_scenes_without_one():
    absent_segments = 0
    for seed in range(10):
        sequence, labels = gen.generate_stream([0, gen.NONE, gen.NONE, 4, gen.NONE], np.random.default_rng(seed))
        runs = [int(v) for i, v in enumerate(labels) if i == 0 or v != labels[i - 1]]
        assert runs == [0, -1, 10, -1, 10, -1, 4, -1, 10]
        missing = dropped_entity_frames(sequence)
        assert not missing.all(axis=1).any()  # a frame never loses everybody
        starts = np.flatnonzero(np.diff(np.r_[-2, labels]) != 0)
        for start, end in zip(starts, np.r_[starts[1:], len(labels)]):
            if labels[start] == gen.NONE and missing[start:end, 1].all():
                absent_segments += 1
                assert not missing[start:end, 0].any()
    assert absent_segments > 0


def test_same_seed_same_sample_other_seed_other_sample():
    a = gen.generate(4, np.random.default_rng(7))
    b = gen.generate(4, np.random.default_rng(7))
    c = gen.generate(4, np.random.default_rng(8))
    np.testing.assert_array_equal(a, b)
    assert a.shape != c.shape or not np.allclose(a, c)


def dropped_entity_frames(sample):
    """(T, E) True where a person is missing (all coordinates zero)."""
    return np.all(sample == 0, axis=(0, 2))


@pytest.mark.parametrize("rate", [0.0, 0.5])
def test_dropouts_occur_at_the_configured_rate(rate):
    rng = np.random.default_rng(11)
    variation = replace(gen.Variation(), dropout_rate=rate)
    samples = [gen.generate(int(rng.integers(10)), rng, variation=variation) for _ in range(300)]
    missing = [dropped_entity_frames(s) for s in samples]
    fraction = np.mean([m.any() for m in missing])
    assert abs(fraction - rate) < 0.08
    for m in missing:
        assert not m[0].any() and not m[-1].any()  # never the first or last frame
        assert not m.all(axis=1).any()  # never both people at once: the frame stays valid
        assert m.sum() == 0 or gen.Variation().dropout_frames[0] <= m.sum() <= gen.Variation().dropout_frames[1]


def test_dataset_is_balanced_padded_and_valid():
    data, labels = gen.generate_dataset(3, np.random.default_rng(0), max_frames=120)
    assert data.shape == (33, 3, 120, 25, 2) and data.dtype == np.float32
    assert labels.dtype == np.int64 and np.array_equal(np.bincount(labels), [3] * 11)
    for sample, label in zip(data, labels):
        valid = valid_frame_count(sample)
        assert valid >= 0.7 * min(gen.DURATION_S) * gen.FPS
        assert np.all(sample[:, valid:] == 0)  # zero padding after the last frame only
        assert np.all(sample[:, :valid].sum(axis=(0, 2, 3)) != 0)


def test_windows_are_live_like_cuts_of_streams():
    data, labels = gen.generate_windows(2, np.random.default_rng(1), window_frames=(60, 90), none_weight=2)
    assert data.shape == (24, 3, 90, 25, 2) and np.array_equal(np.bincount(labels), [2] * 10 + [4])
    lengths = [valid_frame_count(sample) for sample in data]
    assert min(lengths) >= 60 and max(lengths) <= 90 and len(set(lengths)) > 1
    again, _ = gen.generate_windows(2, np.random.default_rng(1), window_frames=(60, 90), none_weight=2)
    np.testing.assert_array_equal(data, again)


def test_stream_labels_each_frame():
    classes = [0, 4, 8, 9]
    sequence, labels = gen.generate_stream(classes, np.random.default_rng(3))
    assert sequence.shape[0] == 3 and sequence.shape[2:] == (25, 2) and sequence.shape[1] == len(labels)
    assert np.all(np.isfinite(sequence))
    runs = [int(v) for i, v in enumerate(labels) if i == 0 or v != labels[i - 1]]
    assert runs == [0, -1, 4, -1, 8, -1, 9]
    assert np.all(labels[labels >= 0] == np.repeat(classes, [np.sum(labels == c) for c in classes]))
    # Entity 0 is one person throughout: no jump of the pelvis between frames (transitions blend).
    step = np.linalg.norm(np.diff(sequence[:, :, gen.BASE], axis=1), axis=0)
    present = ~dropped_entity_frames(sequence)
    both = present[1:] & present[:-1]
    assert step[both].max() < 0.25


def test_bad_class_id_is_refused():
    with pytest.raises(ValueError, match="class id 12"):
        gen.generate(12, np.random.default_rng(0))


def test_generator_loads_neither_ros_nor_torch():
    """Training and tests import the generator; it must not drag in the ROS demo application."""
    probe = ("import sys, ista_ros.synthetic.interactions, ista_ros.synthetic.render; "
             "print(sorted({'rclpy', 'torch', 'ista_ros.demo'} & set(sys.modules)))")
    loaded = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True).stdout
    assert loaded.strip() == "[]"


def test_prepare_writes_native_splits_with_different_samples(tmp_path):
    from ista_train.data.formats import read_native
    from ista_train.prepare import interactions as preparer

    parser = argparse.ArgumentParser()
    preparer.add_arguments(parser)
    args = parser.parse_args(["--out", str(tmp_path), "--train-per-class", "2", "--val-per-class", "1",
                              "--max-frames", "100"])
    preparer.prepare(args)
    train, val = read_native(tmp_path, "train"), read_native(tmp_path, "val")
    # --none-weight 2 (the default): twice as many of none as of each interaction.
    assert train.data.shape == (24, 3, 100, 25, 2) and val.data.shape == (12, 3, 100, 25, 2)
    assert train.class_names == list(gen.CLASS_NAMES) and train.layout == "ntu25"
    assert not any(np.array_equal(v, t) for v in val.data for t in train.data)
    assert not list(tmp_path.glob(".*partial*"))  # atomic writes leave no temporary file


@pytest.mark.parametrize("given", [["-0.1", "0.1"], ["0.2", "0.1"], ["0", "1.5"]])
def test_prepare_refuses_a_depth_error_that_is_not_a_relative_range(tmp_path, given):
    from ista_train.prepare import interactions as preparer

    parser = argparse.ArgumentParser()
    preparer.add_arguments(parser)
    with pytest.raises(ValueError, match="--depth-error"):
        preparer.prepare(parser.parse_args(["--out", str(tmp_path), "--depth-error", *given]))
    assert not list(tmp_path.iterdir())


def test_prepare_windows_mode(tmp_path):
    from ista_train.data.formats import read_native
    from ista_train.prepare import interactions as preparer

    parser = argparse.ArgumentParser()
    preparer.add_arguments(parser)
    preparer.prepare(parser.parse_args(["--out", str(tmp_path), "--train-per-class", "1", "--val-per-class", "1",
                                        "--windows", "40", "50"]))
    assert read_native(tmp_path, "val").data.shape == (12, 3, 50, 25, 2)
