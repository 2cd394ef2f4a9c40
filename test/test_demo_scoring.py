"""Scoring of the demo's windows against per-frame ground truth (no ROS)."""
from __future__ import annotations

from ista_ros.demo.scoring import NO_INTERACTION, NONE_LABEL, Score, Truth, window_line

MS = 1_000_000


def truth_of(labels, step_ms=33):
    truth = Truth()
    for i, label in reversed(list(enumerate(labels))):  # out of order on purpose
        truth.add(i * step_ms * MS, label)
    return truth


def test_window_inside_one_interaction_gets_its_label():
    truth = truth_of([3] * 30 + [NO_INTERACTION] * 10 + [5] * 30)
    assert truth.of_window(0, 29 * 33 * MS) == 3
    assert truth.of_window(45 * 33 * MS, 69 * 33 * MS) == 5
    assert truth.newest() == 69 * 33 * MS


def test_window_across_two_interactions_or_between_is_not_scored():
    truth = truth_of([3] * 30 + [NO_INTERACTION] * 10 + [5] * 30)
    assert truth.of_window(15 * 33 * MS, 55 * 33 * MS) is None  # 15 + 10 + 16 frames: no 60 % share
    assert truth.of_window(30 * 33 * MS, 39 * 33 * MS) is None  # only the transition
    assert truth.of_window(80 * 33 * MS, 90 * 33 * MS) is None  # no ground truth there
    assert truth.of_window(15 * 33 * MS, 44 * 33 * MS, min_share=0.4) == 3  # 15 of 30 frames


def test_score_counts_and_summary():
    score = Score()
    score.add(1, 1, 40.0)
    score.add(2, 1, 60.0)
    score.add(4, None, 50.0)
    assert (score.correct, score.scored, score.unscored) == (1, 2, 1)
    assert score.accuracy == 50.0
    assert score.summary().startswith("accuracy 50.0% (1 of 2 windows") and "latency p50 50 ms" in score.summary()


def test_windows_without_an_interaction_count_as_false_interactions_unless_reported_none():
    score = Score()
    score.add("hug", "hug", 10.0)
    score.add(NONE_LABEL, NONE_LABEL, 10.0)  # the model's class none, or the recognizer's reserved answer
    score.add(NONE_LABEL, NONE_LABEL, 10.0)
    score.add("punch", NONE_LABEL, 10.0)
    score.add(NONE_LABEL, "push", 10.0)  # an interaction missed: wrong, not a false interaction
    assert (score.correct, score.scored, score.negatives, score.false_interactions) == (1, 2, 3, 1)
    assert score.accuracy == 50.0 and round(score.false_interaction_rate, 1) == 33.3
    assert "false interactions 33.3% (1 of 3 windows without one)" in score.summary()


def test_truth_of_a_window_without_an_interaction_is_class_none():
    none_id = 10
    truth = truth_of([none_id] * 40 + [NO_INTERACTION] * 10 + [2] * 30)
    assert truth.of_window(0, 39 * 33 * MS) == none_id


def test_window_line_shows_truth_and_verdict():
    assert window_line(1.25, "hug", 0.9, "hug", 42.0).endswith("ok")
    assert window_line(1.25, "hug", 0.9, "push", 42.0).endswith("MISS")
    assert "(mixed)" in window_line(1.25, "hug", 0.9, "", 42.0)
    assert "truth" not in window_line(1.25, "hug", 0.9, None, 42.0)


def test_a_videos_tally_says_what_was_reported_and_why_the_rest_was_no_interaction():
    from ista_ros.demo.scoring import VideoTally

    tally = VideoTally()
    for label, reason in [("none", "too_far"), ("push", ""), ("none", "too_far"), ("none", "none_class")]:
        tally.add(label, reason, 10.0)
    assert tally.summary() == ("4 windows recognised (a video has no ground truth): 1 reported as an interaction "
                               "(push 1), 3 no interaction (too_far 2, none_class 1), latency p50 10 ms")
    assert VideoTally().summary() == ("0 windows recognised (a video has no ground truth): 0 reported as an "
                                      "interaction, 0 no interaction")
