"""Entity choice: which tracked entities fill the model's slots, and in which order."""
import numpy as np
import pytest

from ista_ros.core.entities import Candidate, choose, fits


def cand(entity_id, x, kind="person", first_seen=0, last_seen=100):
    return Candidate(entity_id, kind, first_seen, last_seen, np.array([x, 0.0, 0.0]))


def test_closest_pair_is_chosen_among_many_persons():
    people = [cand("a", 0.0), cand("b", 5.0), cand("c", 5.6), cand("d", 12.0)]
    assert set(choose(people, ["person", "person"], "closest")) == {"b", "c"}


def test_oldest_rule_prefers_long_tracked_entities():
    people = [cand("new", 0.0, first_seen=50), cand("old1", 4.0, first_seen=1), cand("old2", 9.0, first_seen=2),
              cand("near", 0.3, first_seen=60)]
    assert choose(people, ["person", "person"], "oldest") == ["old1", "old2"]


def test_slots_are_ordered_by_first_sight_so_they_do_not_flip():
    people = [cand("late", 0.0, first_seen=20), cand("early", 1.0, first_seen=10)]
    assert choose(people, ["person", "person"]) == ["early", "late"]


def test_fewer_entities_than_slots_are_padded():
    assert choose([cand("a", 0.0)], ["person", "person"]) == ["a", None]
    assert choose([], ["person", "person"]) == [None, None]


def test_hands_fill_their_side_and_unknown_hands_fill_the_rest():
    hands = [cand("r", 0.0, kind="right_hand"), cand("l", 5.0, kind="left_hand"), cand("p", 0.1)]
    assert choose(hands, ["left_hand", "right_hand"]) == ["l", "r"]
    assert choose([cand("h", 0.0, kind="hand"), cand("r", 0.2, kind="right_hand")],
                  ["left_hand", "right_hand"]) == ["h", "r"]
    assert fits("object", "") and not fits("object", "left_hand") and not fits("right_hand", "left_hand")


def test_a_tie_keeps_the_previous_choice():
    people = [cand("a", 0.0), cand("b", 1.0), cand("c", 2.0)]  # a-b and b-c equally close
    assert set(choose(people, ["person", "person"], previous=["b", "c"])) == {"b", "c"}
    assert set(choose(people, ["person", "person"], previous=["a", "b"])) == {"a", "b"}


def test_many_candidates_stay_fast_and_valid():
    rng = np.random.default_rng(0)
    crowd = [cand(f"p{i}", float(rng.uniform(0, 50)), last_seen=int(i)) for i in range(200)]
    ids = choose(crowd, ["person", "person"])
    assert len(set(ids)) == 2 and None not in ids


def test_unknown_rule_is_refused():
    with pytest.raises(ValueError, match="unknown"):
        choose([], ["person"], "loudest")
