"""Scoring several planted groups at once: recognised groups matched by entity ids (no ROS)."""
from __future__ import annotations

from ista_ros.demo.scoring import Answer, GroupScores

MS = 1_000_000
NAMES = ["handshake", "wave at", "none"]
A, B = ("p0", "p1"), ("p2", "p3")


def scores_with_truth(frames: int = 90) -> GroupScores:
    scores = GroupScores(NAMES, window_ns=1000 * MS)
    for i in range(frames):
        scores.add_truth(i * 33 * MS, "p0+p1", A, 0)  # a handshake all along
        scores.add_truth(i * 33 * MS, "p2+p3", B, 2)  # no interaction all along
    return scores


def test_each_recognised_group_is_scored_against_the_planted_group_of_its_people():
    scores = scores_with_truth()
    end = 89 * 33 * MS
    verdicts = scores.judge([Answer(["p1", "p0"], "handshake", 0.9, 40 * 33 * MS, end),
                             Answer(["p2", "p3"], "wave at", 0.6, 40 * 33 * MS, end)], end, 50.0)
    assert [(v.group, v.label, v.truth) for v in verdicts] == [("p0+p1", "handshake", "handshake"),
                                                               ("p2+p3", "wave at", "none")]
    assert scores.scores["p0+p1"].accuracy == 100.0 and scores.scores["p2+p3"].false_interaction_rate == 100.0
    assert (scores.overall.scored, scores.overall.negatives, scores.stray) == (1, 1, 0)
    assert scores.newest() == end


def test_a_planted_group_not_reported_is_no_interaction_and_mixed_groups_are_strays():
    scores = scores_with_truth()
    end = 89 * 33 * MS
    mixed = Answer(["p1", "passer_by_0"], "wave at", 0.7, 40 * 33 * MS, end)
    apart = Answer(["p0", "p3"], "none", 0.5, 40 * 33 * MS, end, grouped=False)  # the too_far answer: no group
    padded = Answer(["p0", ""], "none", 0.8, 40 * 33 * MS, end, grouped=False)  # p1 gone: about p0's group
    verdicts = scores.judge([mixed, apart, padded], end, 50.0)
    assert [(v.group, v.label, v.confidence) for v in verdicts] == [("p0+p1", "none", 0.8), ("p2+p3", "none", None)]
    assert verdicts[1].start == end - 1000 * MS  # the window of a group not reported
    assert scores.stray == 1 and scores.scores["p0+p1"].accuracy == 0.0
    assert scores.scores["p2+p3"].false_interaction_rate == 0.0
