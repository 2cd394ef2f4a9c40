"""Groups: which tracked entities are recognised together, and their stable ids."""
import itertools

import numpy as np
import pytest

from ista_ros.core.buffer import Observation, SkeletonBuffer
from ista_ros.core.groups import INTERACTION_RADIUS, Entity, GroupSettings, GroupTracker, group_id, tied_body

PEOPLE = ["person", "person"]
HANDS = ["left_hand", "right_hand", "object"]
FRAME_NS = 33_333_333  # 30 FPS
R = INTERACTION_RADIUS


def entity(entity_id, positions, kind="person", first_seen=0, start=0):
    """An entity seen in consecutive frames from frame ``start``; positions: one (x, z) or x per frame."""
    positions = np.atleast_1d(np.asarray(positions, dtype=float))
    if positions.ndim == 1:
        positions = np.stack([positions, np.zeros_like(positions)], -1)
    centres = np.column_stack([positions[:, 0], np.ones(len(positions)), positions[:, 1]])
    stamps = (start + np.arange(len(centres))) * FRAME_NS
    return Entity(entity_id, kind, first_seen, int(stamps[-1]), stamps.astype(np.int64), centres)


def still(entity_id, x, frames=30, kind="person", first_seen=0, z=0.0):
    return entity(entity_id, [(x, z)] * frames, kind, first_seen)


def member_sets(groups):
    return [set(g.members) for g in groups]


def test_two_pairs_far_apart_are_two_groups_with_ids_from_their_members():
    people = [still("a", 0.0), still("b", 1.0), still("c", 20.0), still("d", 21.5)]
    groups = GroupTracker(PEOPLE).update(people)
    assert member_sets(groups) == [{"a", "b"}, {"c", "d"}]  # nearest first
    assert [g.id for g in groups] == ["a+b", "c+d"]
    assert groups[1].spread == pytest.approx(1.5)
    assert group_id(["d", None, "c"]) == "c+d"


def test_nearest_pairs_form_first_and_each_entity_is_in_one_group():
    people = [still("a", 0.0), still("b", 0.5), still("c", 1.5), still("d", 3.0)]
    groups = GroupTracker(PEOPLE).update(people)
    assert member_sets(groups) == [{"a", "b"}, {"c", "d"}]


def test_people_beyond_the_radius_form_no_group_and_a_lone_entity_only_when_asked():
    people = [still("a", 0.0), still("b", R + 0.1)]
    assert GroupTracker(PEOPLE).update(people) == []
    lone = GroupTracker(PEOPLE, GroupSettings(lone_entities=True)).update(people)
    assert [(g.id, g.entity_ids) for g in lone] == [("a", ["a", None]), ("b", ["b", None])]


def test_lone_groups_come_after_pairs_and_the_longest_tracked_first():
    people = [still("new", 10.0, first_seen=9), still("old", 20.0, first_seen=1), still("a", 0.0), still("b", 1.0)]
    groups = GroupTracker(PEOPLE, GroupSettings(lone_entities=True)).update(people)
    assert [g.id for g in groups] == ["a+b", "old", "new"]


def test_at_most_max_groups_nearest_first():
    people = [still("a", 0.0), still("b", 2.0), still("c", 10.0), still("d", 10.5), still("e", 20.0), still("f", 21.0)]
    groups = GroupTracker(PEOPLE, GroupSettings(max_groups=2)).update(people)
    assert [g.id for g in groups] == ["c+d", "e+f"]


def test_slots_are_ordered_by_first_sight_whatever_the_input_order():
    people = [still("late", 0.0, first_seen=50), still("early", 1.0, first_seen=10)]
    assert GroupTracker(PEOPLE).update(people)[0].entity_ids == ["early", "late"]
    assert GroupTracker(PEOPLE).update(people[::-1])[0].entity_ids == ["early", "late"]


def test_distance_is_the_median_over_the_recent_frames_not_the_newest_frame():
    walking_in = entity("b", np.linspace(R + 3.0, R - 0.5, 30))  # inside only in its last frames
    assert GroupTracker(PEOPLE).update([still("a", 0.0), walking_in]) == []
    glitch = entity("b", [1.0] * 29 + [R + 5.0])  # one wild frame
    assert member_sets(GroupTracker(PEOPLE).update([still("a", 0.0), glitch])) == [{"a", "b"}]


def test_frames_older_than_the_recent_time_do_not_count():
    long_ago_near = entity("b", [1.0] * 60 + [R + 1.0] * 30)  # 2 s near, then 1 s far
    assert GroupTracker(PEOPLE).update([still("a", 0.0, frames=90), long_ago_near]) == []
    settings = GroupSettings(recent_seconds=3.0)
    assert len(GroupTracker(PEOPLE, settings).update([still("a", 0.0, frames=90), long_ago_near])) == 1


def test_a_pair_at_the_radius_does_not_flicker():
    tracker = GroupTracker(PEOPLE)
    distances = [0.95 * R] + [1.05 * R, 0.97 * R, 1.15 * R, 1.0 * R] * 5
    ids = [[g.id for g in tracker.update([still("a", 0.0), still("b", d)])] for d in distances]
    assert ids == [["a+b"]] * len(distances)
    assert tracker.update([still("a", 0.0), still("b", 1.25 * R)]) == []  # beyond leave_factor x radius
    assert tracker.update([still("a", 0.0), still("b", 1.1 * R)]) == []  # and it must come within R again


def test_a_pair_never_within_the_radius_never_forms():
    tracker = GroupTracker(PEOPLE)
    for d in [1.05 * R, 1.01 * R, 1.1 * R]:
        assert tracker.update([still("a", 0.0), still("b", d)]) == []


def test_a_member_leaving_ends_the_group_and_the_new_membership_is_a_new_group():
    tracker = GroupTracker(PEOPLE, GroupSettings(lone_entities=True))
    assert [g.id for g in tracker.update([still("a", 0.0), still("b", 1.0)])] == ["a+b"]
    assert [g.id for g in tracker.update([still("a", 0.0)])] == ["a"]
    assert [g.id for g in tracker.update([still("a", 0.0), still("c", 1.0)])] == ["a+c"]


def test_a_formed_group_is_kept_when_a_newcomer_comes_nearer():
    tracker = GroupTracker(PEOPLE)
    tracker.update([still("a", 0.0), still("b", 1.0)])
    groups = tracker.update([still("a", 0.0), still("b", 1.0), still("c", 0.3)])
    assert member_sets(groups) == [{"a", "b"}]


def test_an_existing_group_is_displaced_by_max_groups_only_by_a_clearly_nearer_one():
    tracker = GroupTracker(PEOPLE, GroupSettings(max_groups=1))
    assert [g.id for g in tracker.update([still("a", 0.0), still("b", 1.0)])] == ["a+b"]
    nearly = [still("a", 0.0), still("b", 1.0), still("c", 10.0), still("d", 10.9)]
    assert [g.id for g in tracker.update(nearly)] == ["a+b"]
    clearly = [still("a", 0.0), still("b", 1.0), still("c", 10.0), still("d", 10.5)]
    assert [g.id for g in tracker.update(clearly)] == ["c+d"]


def test_three_person_slots_take_a_third_person_within_the_radius_of_both():
    slots = ["person"] * 3
    people = [still("a", 0.0), still("b", 1.0), still("c", 1.0 + R - 0.2), still("d", 0.5, z=1.0)]
    assert member_sets(GroupTracker(slots).update(people)) == [{"a", "b", "d"}]


def test_entities_of_kinds_without_a_slot_are_ignored():
    people = [still("a", 0.0), still("a_left_hand", 0.2, kind="left_hand"), still("b", 1.0)]
    assert member_sets(GroupTracker(PEOPLE).update(people)) == [{"a", "b"}]


def test_random_scenes_put_every_entity_in_at_most_one_group():
    rng = np.random.default_rng(0)
    for _ in range(20):
        people = [still(f"p{i}", x, z=z) for i, (x, z) in enumerate(rng.uniform(0, 12, (9, 2)))]
        groups = GroupTracker(PEOPLE, GroupSettings(lone_entities=True, max_groups=9)).update(people)
        members = [m for g in groups for m in g.members]
        assert len(members) == len(set(members)) == 9
        for g in groups:
            if len(g.members) == 2:
                a, b = (p for p in people if p.id in g.members)
                assert np.linalg.norm(a.centres[-1] - b.centres[-1]) <= R


# --------------------------------------------------------------------------- hands

def hand(entity_id, x, side, z=0.0):
    return still(entity_id, x, kind=f"{side}_hand", z=z)


def test_hands_tied_to_one_body_group_together_even_when_another_hand_is_nearer():
    hands = [hand("person_0_left_hand", 0.0, "left"), hand("person_0_right_hand", 0.9, "right"),
             hand("person_1_left_hand", 1.0, "left"), hand("person_1_right_hand", 1.5, "right")]
    groups = GroupTracker(HANDS[:2]).update(hands)
    assert [g.entity_ids for g in groups] == [["person_1_left_hand", "person_1_right_hand"],
                                              ["person_0_left_hand", "person_0_right_hand"]]
    assert tied_body("person_0_left_hand") == "person_0" and tied_body("hand_3") is None


def test_hands_without_a_body_pair_with_the_nearest_compatible_hand_within_the_hand_radius():
    hands = [hand("hand_0", 0.0, "left"), hand("hand_1", 0.4, "right"), hand("hand_2", 0.3, "left"),
             hand("hand_3", 5.0, "right")]
    groups = GroupTracker(HANDS[:2]).update(hands)
    assert [g.entity_ids for g in groups] == [["hand_2", "hand_1"]]  # two left hands never pair


def test_a_hand_of_one_body_never_pairs_with_a_hand_of_another():
    hands = [hand("person_0_left_hand", 0.0, "left"), hand("person_1_right_hand", 0.2, "right")]
    assert GroupTracker(HANDS[:2]).update(hands) == []


def test_the_nearest_object_joins_the_hands_and_a_far_one_does_not():
    hands = [hand("person_0_left_hand", 0.0, "left"), hand("person_0_right_hand", 0.5, "right")]
    objects = [still("cup", 0.9, kind="object"), still("box", 1.2, kind="object"), still("far", 9.0, kind="object")]
    groups = GroupTracker(HANDS).update(hands + objects)
    assert [g.entity_ids for g in groups] == [["person_0_left_hand", "person_0_right_hand", "cup"]]
    assert groups[0].id == "cup+person_0_left_hand+person_0_right_hand"
    alone = GroupTracker(HANDS).update(hands + objects[2:])
    assert [g.entity_ids for g in alone] == [["person_0_left_hand", "person_0_right_hand", None]]


def test_an_object_arriving_later_joins_as_a_new_group():
    tracker = GroupTracker(HANDS)
    hands = [hand("h_left", 0.0, "left"), hand("h_right", 0.5, "right")]
    assert [g.id for g in tracker.update(hands)] == ["h_left+h_right"]
    assert [g.id for g in tracker.update(hands + [still("cup", 0.7, kind="object")])] == ["cup+h_left+h_right"]


# --------------------------------------------------------------------------- input

def test_entities_from_buffer_histories_keep_their_recent_centres():
    buffer = SkeletonBuffer(capacity=90)
    points = np.zeros((25, 3), np.float32)
    for frame in range(60):
        buffer.push(frame * FRAME_NS, [Observation("a", "person", points),
                                       Observation("b", "person", points + [1.0 + frame / 100, 0, 0])])
    since = 59 * FRAME_NS - 10 * FRAME_NS
    b = Entity.from_history(buffer.histories["b"], since)
    assert len(b.stamps) == 11 and b.stamps[0] == since and b.first_seen == 0
    assert b.centres[-1] == pytest.approx([1.59, 0.0, 0.0])
    entities = [Entity.from_history(h, since) for h in buffer.histories.values()]
    assert GroupTracker(PEOPLE).update(entities)[0].spread == pytest.approx(1.54)


def test_pairs_seen_in_no_common_recent_frame_do_not_group():
    a = entity("a", [0.0] * 10)
    b = entity("b", [0.5] * 10, start=10)
    assert GroupTracker(PEOPLE).update([a, b]) == []


@pytest.mark.parametrize("kwargs, words", [
    ({"radius": 0.0}, "radii must be positive"),
    ({"leave_factor": 0.9}, "leave_factor must be at least 1"),
    ({"max_groups": 0}, "max_groups at least 1"),
])
def test_settings_are_checked_with_one_sentence(kwargs, words):
    with pytest.raises(ValueError, match=words):
        GroupSettings(**kwargs)


def test_group_ids_are_the_same_for_the_same_members_in_any_order():
    ids = {group_id(p) for p in itertools.permutations(["x", "b", "a"])}
    assert ids == {"a+b+x"}
