"""LiveRecognizer without ROS: intake checks, window assembly, classification, smoothing."""
from dataclasses import replace

import numpy as np
import pytest

from ista_ros.core.buffer import FrameEvent
from ista_ros.core.checkpoint import load_checkpoint
from ista_ros.core.engine import InferenceEngine
from ista_ros.core.layouts import get_layout
from ista_ros.core.recognition import LiveRecognizer, Settings, SkeletonInput
from recognizer_support import sequence, tiny_checkpoint

FRAME_NS = 33_333_333


@pytest.fixture(scope="module")
def loaded(tmp_path_factory):
    return load_checkpoint(tiny_checkpoint(tmp_path_factory))


def recognizer(loaded, **settings):
    cfg = loaded.config
    engine = InferenceEngine(loaded.model, device="cpu")
    shape = (cfg.num_channels, cfg.num_frames, cfg.num_joints, cfg.num_persons)
    return LiveRecognizer(loaded.meta, shape, engine.predict, Settings(**settings))


def feed(rec, seq, ids=("p1", "p2"), start=0, layout="ntu25", confidence=None):
    """Push a (C, T, J, E) sequence frame by frame (``confidence``: id -> (J,) in every
    frame; an id not in it gives none); returns the problems reported."""
    problems, confidence = [], confidence or {}
    for t in range(seq.shape[1]):
        skeletons = [SkeletonInput(i, "person", layout, seq[:, t, :, e].T, confidence.get(i))
                     for e, i in enumerate(ids)]
        problems += rec.push(start + t * FRAME_NS, skeletons)[1]
    return problems


@pytest.mark.parametrize("class_id", [0, 1])
def test_a_known_sequence_is_recognised_with_stamps_and_ids(loaded, class_id):
    rec = recognizer(loaded)
    seq = sequence(class_id, 60, np.random.default_rng(class_id + 10))
    assert feed(rec, seq, start=5 * 10**9) == []
    window = rec.window()
    result = rec.classify(window)
    assert result.class_id == class_id and result.label == loaded.meta.class_names[class_id]
    assert result.stamp == 5 * 10**9 + 59 * FRAME_NS and result.window_start == 5 * 10**9
    assert result.entity_ids == ["p1", "p2"] and not result.padded
    assert np.isclose(result.scores.sum(), 1.0, atol=1e-5) and result.confidence == result.scores[class_id]


def test_window_limits_and_minimum_frames(loaded):
    rec = recognizer(loaded, window_frames=20, window_seconds=0.0, min_frames=8)
    seq = sequence(0, 30, np.random.default_rng(0))
    feed(rec, seq[:, :5])
    assert rec.window() is None  # too few frames yet
    feed(rec, seq[:, 5:], start=5 * FRAME_NS)
    window = rec.window()
    assert window.sample.shape == (3, 20, 25, 2) and window.stamps[0] == 10 * FRAME_NS


def test_a_lone_person_is_zero_padded_and_flagged(loaded):
    rec = recognizer(loaded)
    seq = sequence(1, 30, np.random.default_rng(0))
    feed(rec, seq[..., :1], ids=("solo",))
    result = rec.classify(rec.window())
    assert result.entity_ids == ["solo", ""] and result.padded and result.num_observed == 1
    assert (result.class_id, result.label, result.reason) == (-1, "none", "too_few_entities")
    assert np.isclose(result.scores.sum(), 1.0, atol=1e-5) and not result.grouped
    padded = recognizer(loaded, lone_entities=True)  # padding allowed: the model answers
    feed(padded, seq[..., :1], ids=("solo",))
    result = padded.classify(padded.window())
    assert result.entity_ids == ["solo", ""] and result.padded and result.reason == "" and result.class_id >= 0


def test_bad_skeletons_are_reported_and_the_good_ones_kept(loaded):
    rec = recognizer(loaded)
    good = np.zeros((25, 3), np.float32) + 1.0
    nan = good.copy()
    nan[3, 1] = np.nan
    skeletons = [SkeletonInput(i, "person", layout, points) for i, layout, points in [
        ("ok", "ntu25", good), ("n", "ntu25", nan), ("e", "ntu25", np.zeros((0, 3))), ("j", "ntu25", good[:20]),
        ("u", "kinect99", good), ("f", "ntu25", np.full((25, 3), np.inf)), ("ok", "ntu25", good)]]
    event, problems = rec.push(0, skeletons)
    assert event is FrameEvent.ACCEPTED
    assert [p.key for p in problems] == ["not_finite", "empty", "layout", "layout", "not_finite", "duplicate_id"]
    assert "kinect99" in problems[3].message and "needs" in problems[2].message
    assert list(rec.buffer.histories) == ["ok"]


def test_other_layouts_are_mapped_to_the_checkpoints(loaded):
    rec = recognizer(loaded)
    pose = np.random.default_rng(0).normal(size=(get_layout("mediapipe_pose33").num_joints, 3))
    assert rec.push(0, [SkeletonInput("mp", "person", "mediapipe_pose33", pose)])[1] == []
    assert rec.buffer.histories["mp"].frames[-1][1].shape == (25, 3)
    problems = rec.push(FRAME_NS, [SkeletonInput("h", "", "hand21", np.zeros((21, 3)))])[1]
    assert problems[0].key == "layout" and "no mapping" in problems[0].message


def test_a_member_with_too_few_located_joints_makes_its_group_no_interaction(loaded):
    seq = sequence(1, 40, np.random.default_rng(7))
    located = np.ones(25, np.float32)
    guessed = located.copy()
    guessed[:15] = 0.1  # 60 % of one person's joints below joint_confidence
    results = {}
    for case, settings, confidence in [("located", {}, {"p1": located, "p2": located}),
                                       ("guessed", {}, {"p1": located, "p2": guessed}),
                                       ("no confidence", {}, None),
                                       ("rule off", {"min_located_joints": 0.0}, {"p1": located, "p2": guessed})]:
        rec = recognizer(loaded, **settings)
        assert feed(rec, seq, confidence=confidence) == []
        results[case] = rec.classify(rec.window())
    assert (results["located"].class_id, results["located"].label, results["located"].reason) == (1, "wave", "")
    poor = results["guessed"]
    assert (poor.class_id, poor.label, poor.reason) == (-1, "none", "too_few_joints") and poor.grouped
    assert np.all(np.isfinite(poor.scores))  # still run through the model: the scores are the located pair's
    np.testing.assert_allclose(poor.scores, results["located"].scores, atol=1e-6)
    for case in ("no confidence", "rule off"):
        assert (results[case].class_id, results[case].reason) == (1, ""), case


def test_located_joints_are_averaged_over_the_window(loaded):
    seq = sequence(1, 40, np.random.default_rng(8))
    guessed = np.where(np.arange(25) < 15, 0.1, 1.0).astype(np.float32)  # 40 % located
    rec = recognizer(loaded, window_frames=40, window_seconds=0.0)
    feed(rec, seq[:, :30])
    feed(rec, seq[:, 30:], start=30 * FRAME_NS, confidence={"p2": guessed})
    assert rec.window().reason == ""  # 30 frames at 100 %, 10 at 40 %: 85 % on average
    feed(rec, seq[:, :30], start=40 * FRAME_NS, confidence={"p2": guessed})
    assert rec.window().reason == "too_few_joints"  # 40 of the last 40 frames at 40 %


def test_a_bad_confidence_drops_the_skeleton_with_its_key(loaded):
    rec = recognizer(loaded)
    points = np.ones((25, 3), np.float32)
    skeletons = [SkeletonInput(i, "person", "ntu25", points + k, confidence) for k, (i, confidence) in enumerate([
        ("short", np.ones(20)), ("nan", np.full(25, np.nan)), ("percent", np.full(25, 80.0)),
        ("negative", np.full(25, -0.1)), ("ok", np.ones(25))])]
    event, problems = rec.push(0, skeletons)
    assert [p.key for p in problems] == ["confidence"] * 4 and list(rec.buffer.histories) == ["ok"]
    assert "'short' dropped: it has 20 joint confidences for 25 joints" in problems[0].message
    assert "not all in [0, 1]" in problems[1].message


def test_confidence_in_another_layout_is_mapped_to_the_checkpoints(loaded):
    rec = recognizer(loaded)
    pose = get_layout("mediapipe_pose33")
    confidence = np.ones(pose.num_joints, np.float32)
    legs = [pose.index(f"{side}_{joint}") for side in ("left", "right")
            for joint in ("knee", "ankle", "heel", "foot_index")]
    confidence[legs] = 0.2  # legs out of the frame: ntu25's knees, ankles and feet
    points = np.random.default_rng(0).normal(size=(pose.num_joints, 3))
    observation = rec.observation(SkeletonInput("mp", "person", "mediapipe_pose33", points, confidence))
    assert observation.points.shape == (25, 3) and observation.located == pytest.approx(19 / 25)
    confidence[pose.index("left_hip")] = 0.0  # spine base: the mean of the hips, 0.5, still located
    observation = rec.observation(SkeletonInput("mp", "person", "mediapipe_pose33", points, confidence))
    assert observation.located == pytest.approx(18 / 25)  # only the left hip more
    problem = rec.push(0, [SkeletonInput("mp", "person", "mediapipe_pose33", points, np.ones(25))])[1][0]
    assert problem.key == "confidence" and "25 joint confidences for 33 joints" in problem.message


def test_kinds_without_a_slot_are_skipped_silently(loaded):
    rec = recognizer(loaded)
    hand = SkeletonInput("h", "left_hand", "hand21", np.ones((21, 3)))
    body = SkeletonInput("b", "person", "ntu25", np.ones((25, 3)))
    assert rec.push(0, [hand, body])[1] == [] and list(rec.buffer.histories) == ["b"]


def test_a_crowd_is_capped_with_one_problem(loaded):
    rec = recognizer(loaded, max_entities=4)
    crowd = [SkeletonInput(f"p{i}", "person", "ntu25", np.full((25, 3), float(i))) for i in range(50)]
    event, problems = rec.push(0, crowd)
    assert [p.key for p in problems] == ["too_many"] and len(rec.buffer.histories) == 4


def test_smoothing_blends_windows_of_the_same_entities(loaded):
    rng = np.random.default_rng(3)
    plain, smooth = (recognizer(loaded, window_frames=40, window_seconds=0.0, smoothing=s) for s in (0.0, 0.9))
    first, second = sequence(0, 40, np.random.default_rng(1)), sequence(1, 40, rng)
    results = []
    for rec in (plain, smooth):
        feed(rec, first)
        rec.classify(rec.window())
        feed(rec, second, start=40 * FRAME_NS)  # same ids, the scene changes
        results.append(rec.classify(rec.window()))
    assert results[0].class_id == 1
    assert results[1].scores[1] < results[0].scores[1] - 0.3


def test_settings_are_checked():
    with pytest.raises(ValueError, match="smoothing"):
        Settings(smoothing=1.0)
    with pytest.raises(ValueError, match="window"):
        Settings(window_frames=0, window_seconds=0.0)
    for joints in ({"joint_confidence": 1.5}, {"min_located_joints": -0.1}):
        with pytest.raises(ValueError, match=r"joint_confidence and min_located_joints must be in \[0, 1\]"):
            Settings(**joints)


def test_incoming_axes_are_turned_into_the_checkpoints(loaded):
    meta = replace(loaded.meta, axes="kinect")  # a model trained on Kinect-space data (NTU)
    cfg = loaded.config
    shape = (cfg.num_channels, cfg.num_frames, cfg.num_joints, cfg.num_persons)
    rec = LiveRecognizer(meta, shape, InferenceEngine(loaded.model, device="cpu").predict, Settings(),
                         input_axes="optical")
    points = np.tile([1.0, 2.0, 3.0], (25, 1)).astype(np.float32)  # 1 m right, 2 m down, 3 m ahead
    obs = rec.observation(SkeletonInput("p1", "person", "ntu25", points))
    np.testing.assert_allclose(obs.points, np.tile([-1.0, -2.0, 3.0], (25, 1)))
    with pytest.raises(ValueError, match="unknown axis convention"):
        LiveRecognizer(meta, shape, lambda x: x, Settings(), input_axes="enu")


def test_a_huge_finite_coordinate_is_dropped_as_implausible(loaded):
    # 1e30 m used to pass (only NaN/inf were checked) and turn the model's output into NaN
    rec = recognizer(loaded)
    far = np.ones((25, 3), np.float32)
    far[3, 0] = 1e30
    problems = rec.push(0, [SkeletonInput("far", "person", "ntu25", far),
                            SkeletonInput("ok", "person", "ntu25", np.ones((25, 3), np.float32))])[1]
    assert [p.key for p in problems] == ["implausible"] and "max_coordinate=100 m" in problems[0].message
    assert list(rec.buffer.histories) == ["ok"]
    assert recognizer(loaded, max_coordinate=1e31).push(0, [SkeletonInput("far", "person", "ntu25", far)])[1] == []
    with pytest.raises(ValueError, match="max_coordinate"):
        Settings(max_coordinate=0)


def test_a_non_finite_model_output_costs_only_its_window(loaded):
    from ista_ros.core.recognition import WindowError
    engine = InferenceEngine(loaded.model, device="cpu")
    poisoned = {"on": False}

    def predict(x):
        logits = engine.predict(x)
        return np.full_like(logits, np.nan) if poisoned["on"] else logits

    cfg = loaded.config
    rec = LiveRecognizer(loaded.meta, (cfg.num_channels, cfg.num_frames, cfg.num_joints, cfg.num_persons),
                         predict, Settings(smoothing=0.5))
    feed(rec, sequence(1, 40, np.random.default_rng(2)))
    good = rec.classify(rec.window())
    poisoned["on"] = True
    with pytest.raises(WindowError) as err:
        rec.classify(rec.window())
    assert err.value.key == "not_finite_output"
    poisoned["on"] = False
    after = rec.classify(rec.window())  # the smoothing never saw the NaN
    assert np.all(np.isfinite(after.scores)) and after.class_id == good.class_id


def test_kinds_without_a_slot_do_not_count_against_max_entities(loaded):
    # 16 hands listed before two people used to push the people out
    rec = recognizer(loaded, max_entities=16)
    hands = [SkeletonInput(f"h{i}", "left_hand", "hand21", np.ones((21, 3))) for i in range(16)]
    people = [SkeletonInput(f"p{i}", "person", "ntu25", np.full((25, 3), i + 1.0)) for i in range(2)]
    assert rec.push(0, hands + people)[1] == [] and sorted(rec.buffer.histories) == ["p0", "p1"]


def test_axis_conversion_leaves_the_callers_array_alone(loaded):
    cfg = loaded.config
    rec = LiveRecognizer(replace(loaded.meta, axes="kinect"), (3, cfg.num_frames, 25, 2), lambda x: x, Settings(),
                         input_axes="optical")
    points = np.tile(np.float32([1.0, 2.0, 3.0]), (25, 1))
    rec.push(0, [SkeletonInput("p", "person", "ntu25", points)])
    np.testing.assert_array_equal(points, np.tile([1.0, 2.0, 3.0], (25, 1)))
    np.testing.assert_allclose(rec.buffer.histories["p"].frames[-1][1][0], [-1.0, -2.0, 3.0])


def standing(x: float) -> np.ndarray:
    """(25, 3) an ntu25 person standing at x in Kinect axes (y up): head 1.7 m, feet 0 m."""
    layout = get_layout("ntu25")
    points = np.tile(np.float32([x, 1.0, 3.0]), (25, 1))
    points[layout.index("head"), 1] = 1.7
    points[[layout.index("foot_left"), layout.index("foot_right")], 1] = 0.0
    return points


@pytest.mark.parametrize("input_axes, problem", [("kinect", False), ("optical", True)])
def test_people_upside_down_in_the_checkpoints_axes_are_reported_with_the_likely_axes(loaded, input_axes, problem):
    # a Kinect-space sequence played as optical used to be recognised upside down without a word
    cfg = loaded.config
    rec = LiveRecognizer(replace(loaded.meta, axes="kinect"), (3, cfg.num_frames, 25, 2), lambda x: x,
                         Settings(), input_axes=input_axes)
    for t in range(10):
        rec.push(t * FRAME_NS, [SkeletonInput("a", "person", "ntu25", standing(-0.5 + 0.01 * t)),
                                SkeletonInput("b", "person", "ntu25", standing(0.5))])
    problems = rec.window().problems
    if not problem:
        assert problems == []
        return
    assert [p.key for p in problems] == ["axes"]
    assert "input_axes" in problems[0].message and "player.axes" in problems[0].message
    assert "probably 'kinect'" in problems[0].message and "2 of 2 people" in problems[0].message


def test_a_checkpoint_that_does_not_say_its_axes_or_layout_is_refused_live(loaded):

    from ista_ros.core.checkpoint import CheckpointError
    cfg = loaded.config
    shape = (3, cfg.num_frames, 25, 2)
    for unknown, what in (({"axes": None}, "coordinate axes"), ({"layout": None}, "joint layout"),
                          ({"entity_kinds": None}, "entity kinds")):
        with pytest.raises(CheckpointError, match=f"does not say the {what}.*config/model YAML"):
            LiveRecognizer(replace(loaded.meta, **unknown), shape, lambda x: x, Settings())


# ------------------------------------------------------------------ groups

class CountingModel:
    """The engine's predict, counting calls and batch sizes."""

    def __init__(self, loaded):
        self.engine = InferenceEngine(loaded.model, device="cpu")
        self.batches = []

    def __call__(self, x):
        self.batches.append(len(x))
        return self.engine.predict(x)


def group_recognizer(loaded, predict, meta=None, **settings):
    cfg = loaded.config
    return LiveRecognizer(meta or loaded.meta, (cfg.num_channels, cfg.num_frames, cfg.num_joints, cfg.num_persons),
                          predict, Settings(**settings))


def walker(frames: int, rng, z: float = 9.0) -> np.ndarray:
    """(3, T, 25, 1) one person walking along x from -10 m to 30 m, ``z`` m behind the pairs."""
    person = sequence(0, frames, rng)[..., :1].copy()
    person[0] += np.linspace(-10.0, 30.0, frames)[:, None, None] - person[0].mean()
    person[2] += z
    return person


def two_pairs(frames: int, rng, apart: float = 20.0) -> np.ndarray:
    """(3, T, 25, 5): a waving pair, an approaching pair ``apart`` m to its right, a passer-by."""
    waving, approaching = sequence(1, frames, rng), sequence(0, frames, rng)
    approaching[0] += apart
    return np.concatenate([waving, approaching, walker(frames, rng)], axis=-1)


IDS = ("w1", "w2", "a1", "a2", "walker")


def test_two_pairs_are_two_groups_recognised_in_one_batched_call_and_the_passer_by_in_none(loaded):
    model = CountingModel(loaded)
    rec = group_recognizer(loaded, model)
    scene = two_pairs(150, np.random.default_rng(5))
    seen = []
    for start in range(0, 150, 10):
        feed(rec, scene[:, start:start + 10], ids=IDS, start=start * FRAME_NS)
        windows = rec.windows()
        if windows is None:
            continue
        results, problems = rec.recognise(windows)
        assert problems == [] and len(results) == len(windows)
        seen.append({r.group_id: r for r in results})
    assert model.batches == [2] * len(seen) and len(seen) >= 12  # one call per stride, the two groups batched
    assert all(set(ids) == {"w1+w2", "a1+a2"} for ids in seen)  # stable ids; the passer-by in no group
    last = seen[-1]
    assert last["w1+w2"].label == "wave" and last["a1+a2"].label == "approach"
    assert last["w1+w2"].entity_ids == ["w1", "w2"] and last["a1+a2"].entity_ids == ["a1", "a2"]
    one = group_recognizer(loaded, CountingModel(loaded))  # a group's answer does not depend on the others
    feed(one, scene[..., 2:4], ids=IDS[2:4])
    alone = one.recognise(one.windows())[0][0]
    np.testing.assert_allclose(alone.scores, last["a1+a2"].scores, atol=1e-5)


def test_results_come_best_first_interactions_before_no_interaction(loaded):
    logits = {0: [4.0, 0.0], 1: [0.0, 1.0]}  # first group sure of class 0, second hesitant about class 1

    def predict(x):
        return np.array([logits[i] for i in range(len(x))])

    rec = group_recognizer(loaded, predict, confidence_threshold=0.8)
    feed(rec, two_pairs(40, np.random.default_rng(1))[..., :4], ids=IDS[:4])
    results, _ = rec.recognise(rec.windows())
    assert [(r.label, r.reason) for r in results] == [("approach", ""), ("none", "low_confidence")]
    assert results[1].class_id == -1 and np.isclose(results[1].confidence, 1 / (1 + np.e ** -1), atol=1e-6)
    np.testing.assert_allclose(results[1].scores.sum(), 1.0, atol=1e-6)


def test_a_closed_set_checkpoint_without_a_threshold_is_told_how_to_hear_no_interaction(loaded):
    assert "none" not in loaded.meta.class_names  # the paper's class sets are closed
    hint = recognizer(loaded).closed_set_hint()
    assert "confidence_threshold" in hint and "no interaction" in hint
    assert recognizer(loaded, confidence_threshold=0.5).closed_set_hint() == ""
    with_none = replace(loaded.meta, class_names=[*loaded.meta.class_names[:-1], "none"])
    assert group_recognizer(loaded, None, meta=with_none).closed_set_hint() == ""


def test_smoothing_is_per_group_and_ends_with_the_group(loaded):
    rng = np.random.default_rng(2)
    rec = group_recognizer(loaded, CountingModel(loaded), smoothing=0.9, window_frames=40, window_seconds=0.0)
    waving, approaching = sequence(1, 40, rng), sequence(0, 40, rng)
    approaching[0] += 20.0
    feed(rec, np.concatenate([waving, approaching], axis=-1), ids=IDS[:4])
    first = {r.group_id: r for r in rec.recognise(rec.windows())[0]}
    assert first["w1+w2"].label == "wave" and first["a1+a2"].label == "approach"  # no blend across groups
    swapped = np.concatenate([approaching, waving], axis=-1)  # each pair now does the other's interaction
    swapped[0] += np.repeat([20.0, -20.0], 2)
    feed(rec, swapped, ids=IDS[:4], start=40 * FRAME_NS)
    blended = {r.group_id: r for r in rec.recognise(rec.windows())[0]}
    assert blended["w1+w2"].label == "wave"  # its own history, 0.9 of it, holds it back
    feed(rec, approaching[..., :1], ids=("w1",), start=80 * FRAME_NS)  # w2 gone: the group ends ...
    assert [r.reason for r in rec.recognise(rec.windows())[0]] == ["too_few_entities"]
    feed(rec, swapped[..., :2], ids=IDS[:2], start=120 * FRAME_NS)   # ... and forms again: smoothing starts afresh
    again = {r.group_id: r for r in rec.recognise(rec.windows())[0]}
    assert again["w1+w2"].label == "approach" and again["w1+w2"].confidence > blended["w1+w2"].confidence


def test_people_far_apart_are_no_interaction_too_far(loaded):
    rec = group_recognizer(loaded, CountingModel(loaded))
    feed(rec, two_pairs(40, np.random.default_rng(3), apart=20.0)[..., [0, 2]], ids=("w1", "a1"))
    windows = rec.windows()
    assert [w.reason for w in windows] == ["too_far"]
    result = rec.recognise(windows)[0][0]
    assert (result.class_id, result.label, result.reason) == (-1, "none", "too_far") and not result.grouped
    assert sorted(result.entity_ids) == ["a1", "w1"] and np.isclose(result.scores.sum(), 1.0, atol=1e-5)


def test_the_checkpoints_none_class_is_no_interaction_and_probabilities_are_calibrated(loaded):
    logits = np.array([[2.0, 3.0]])
    rec = group_recognizer(loaded, lambda x: logits, meta=replace(loaded.meta, class_names=["wave", "none"]))
    feed(rec, sequence(1, 30, np.random.default_rng(0)))
    result = rec.classify(rec.window())
    assert (result.class_id, result.label, result.reason) == (-1, "none", "none_class")
    hot = group_recognizer(loaded, lambda x: logits, meta=replace(loaded.meta, temperature=4.0))
    feed(hot, sequence(1, 30, np.random.default_rng(0)))
    result = hot.classify(hot.window())
    expected = np.exp([0.5, 0.75]) / np.exp([0.5, 0.75]).sum()  # softmax(logits / T)
    np.testing.assert_allclose(result.scores, expected, atol=1e-6)
    assert result.label == "wave" and np.isclose(result.confidence, expected[1])


def test_a_non_finite_row_costs_only_its_group(loaded):
    def predict(x):
        out = np.tile([[0.0, 3.0]], (len(x), 1))
        out[0] = np.nan
        return out

    rec = group_recognizer(loaded, predict)
    feed(rec, two_pairs(40, np.random.default_rng(4))[..., :4], ids=IDS[:4])
    results, problems = rec.recognise(rec.windows())
    assert len(results) == 1 and [p.key for p in problems] == ["not_finite_output"]


def test_a_new_timeline_starts_the_groups_over(loaded):
    rec = group_recognizer(loaded, CountingModel(loaded), smoothing=0.9, window_frames=40, window_seconds=0.0)
    rng = np.random.default_rng(6)
    feed(rec, sequence(1, 40, rng), start=10**12)
    assert rec.recognise(rec.windows())[0][0].label == "wave"
    feed(rec, sequence(0, 40, rng), start=0)  # stamps jump back: a bag played again
    result = rec.recognise(rec.windows())[0][0]
    assert result.label == "approach" and result.confidence > 0.9  # nothing of the old timeline blended in
    assert rec.tracker.groups.keys() == {"p1+p2"}


def test_groups_are_settings_checked_in_one_sentence():
    with pytest.raises(ValueError, match="radii must be positive"):
        Settings(interaction_radius=0.0)
    with pytest.raises(ValueError, match="max_groups"):
        Settings(max_groups=0)


@pytest.mark.skipif(not __import__("torch").cuda.is_available(), reason="CUDA graphs need a GPU")
def test_cuda_graphs_are_captured_at_warm_up_for_padded_batch_sizes(loaded):
    from ista_ros.core.engine import GRAPH_BATCHES
    engine = InferenceEngine(loaded.model, device="cuda")
    engine.warm_up()
    assert sorted(engine._graphs) == list(GRAPH_BATCHES)
    x = np.random.default_rng(0).normal(size=(11, *engine.sample_shape)).astype(np.float32)
    reference = InferenceEngine(loaded.model, device="cuda", cuda_graph=False).predict(x)
    for n in (1, 3, 5, 11):
        np.testing.assert_allclose(engine.predict(x[:n]), reference[:n], atol=1e-4)
    assert sorted(engine._graphs) == list(GRAPH_BATCHES)  # nothing captured while running
