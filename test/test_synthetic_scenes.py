"""Scenes of several interactions in one view, and the groups the recognizer's rule finds in them."""
import numpy as np
import pytest

from ista_ros.core.buffer import Observation, SkeletonBuffer, seconds_to_ns
from ista_ros.core.groups import INTERACTION_RADIUS, LEAVE_FACTOR, Entity, GroupSettings, GroupTracker, group_id
from ista_ros.synthetic import interactions, scenes
from ista_ros.synthetic.scenes import centres, generate_scene


@pytest.fixture(scope="module")
def scene():
    return generate_scene([[8, 0, 6, 9], [3, 1, 5]], np.random.default_rng(3), passers_by=2)


def test_scene_holds_the_planted_people_passers_by_and_per_group_labels(scene):
    steps = scene.sequence.shape[1]
    assert scene.sequence.shape == (3, steps, 25, 6) and scene.sequence.dtype == np.float32
    assert scene.entity_ids == ["person_0", "person_1", "person_2", "person_3", "passer_by_0", "passer_by_1"]
    assert [g.entity_ids for g in scene.groups] == [("person_0", "person_1"), ("person_2", "person_3")]
    assert scene.passers_by == ["passer_by_0", "passer_by_1"]
    for group, classes in zip(scene.groups, [[8, 0, 6, 9], [3, 1, 5]]):
        assert group.labels.shape == (steps,) and group.labels.dtype == np.int64
        runs = [int(c) for i, c in enumerate(group.labels) if c != -1 and (i == 0 or group.labels[i - 1] != c)]
        assert runs == classes
    shorter = min(scene.groups, key=lambda g: np.flatnonzero(g.labels != -1)[-1])
    assert shorter.labels[-1] == -1  # its people stand still after their last interaction


def test_people_of_different_groups_and_passers_by_keep_their_distances(scene):
    c = centres(scene.sequence)  # (T, N, 3)
    between_groups = np.linalg.norm(c[:, :2, None] - c[:, None, 2:4], axis=-1)
    assert np.nanmin(between_groups) >= scenes.SEPARATION * INTERACTION_RADIUS - 1e-4
    to_passers = np.linalg.norm(c[:, :4, None] - c[:, None, 4:], axis=-1)
    assert np.nanmin(to_passers) >= scenes.CLEARANCE * INTERACTION_RADIUS - 1e-4
    between_passers = np.linalg.norm(c[:, 4] - c[:, 5], axis=-1)
    assert np.nanmin(between_passers) >= scenes.CLEARANCE * INTERACTION_RADIUS - 1e-4
    assert scenes.CLEARANCE > LEAVE_FACTOR  # a passer-by is never close enough to hold a group


def test_passers_by_cross_the_scene_and_are_out_of_view_otherwise(scene):
    c = centres(scene.sequence)
    for e in (4, 5):
        seen = np.flatnonzero(~np.isnan(c[:, e, 0]))
        assert np.all(np.diff(seen) == 1)  # one crossing
        x = c[seen, e, 0]
        assert abs(x[-1] - x[0]) > np.nanmax(c[:, :4, 0]) - np.nanmin(c[:, :4, 0])


def test_everybody_stands_on_one_floor(scene):
    ankles = scene.sequence[:, :, list(interactions.ANKLE)].transpose(1, 3, 2, 0)  # (T, N, 2, 3)
    heights = []
    for e in range(len(scene.entity_ids)):
        seen = np.any(ankles[:, e] != 0, axis=(1, 2))
        heights.append(np.median((ankles[seen, e] @ scene.up).min(axis=1)))  # the lower ankle: on the floor
    assert np.ptp(heights) < 0.03


def test_the_recognizer_rule_finds_exactly_the_planted_groups_with_stable_ids(scene):
    planted = {group_id(g.entity_ids) for g in scene.groups}
    tracker = GroupTracker(["person", "person"])
    lone_tracker = GroupTracker(["person", "person"], GroupSettings(lone_entities=True, max_groups=8))
    buffer = SkeletonBuffer(capacity=90, forget_after=1.0)
    stride, updates = 5, 0
    for t in range(scene.sequence.shape[1]):
        buffer.push(t * seconds_to_ns(1 / scene.fps), observations(scene, t))
        if t % stride:
            continue
        since = buffer.newest - seconds_to_ns(1.0)
        entities = [Entity.from_history(h, since) for h in buffer.histories.values()]
        assert {g.id for g in tracker.update(entities)} == planted, f"frame {t}"
        lone = {g.id: g.members for g in lone_tracker.update(entities)}
        present = {e.id for e in entities} & set(scene.passers_by)
        assert lone == {**{p: [p] for p in present}, **{i: i.split("+") for i in planted}}
        updates += 1
    assert updates > 50


def observations(scene, t):
    frame = scene.sequence[:, t]
    return [Observation(i, "person", frame[:, :, e].T) for e, i in enumerate(scene.entity_ids)
            if frame[:, :, e].any()]


def test_the_default_radius_keeps_99_percent_of_the_generators_interaction_distances():
    """Where INTERACTION_RADIUS comes from, on a smaller draw (the docstring's numbers: 200 per class)."""
    rng = np.random.default_rng(0)
    distances = []
    for class_id in interactions.INTERACTIONS:  # not class none: people not interacting
        for _ in range(15):
            c = centres(interactions.generate(class_id, rng))
            distances.append(np.linalg.norm(c[:, 0] - c[:, 1], axis=-1))
    distances = np.concatenate(distances)
    distances = distances[~np.isnan(distances)]
    assert np.percentile(distances, 99) <= INTERACTION_RADIUS < np.percentile(distances, 99.9)


def test_scenes_are_reproducible_from_the_seed():
    a = generate_scene([[0], [4]], np.random.default_rng(7), passers_by=1)
    b = generate_scene([[0], [4]], np.random.default_rng(7), passers_by=1)
    np.testing.assert_array_equal(a.sequence, b.sequence)


def test_a_scene_needs_a_group():
    with pytest.raises(ValueError, match="at least one group"):
        generate_scene([], np.random.default_rng(0))
