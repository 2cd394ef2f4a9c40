"""Labels of recordings (ista_ros.core.labels): the CSV, a labels topic as segments, and
the rule that labels a window."""
from __future__ import annotations

import pytest

from ista_ros.core.labels import (
    LabelChange,
    LabelsError,
    Segment,
    bag_segments,
    label_window,
    read_labels_csv,
    segments_from_changes,
)

S = 1_000_000_000
START = 1_764_600_000 * S  # capture stamp of a bag's first frame


def write(tmp_path, text):
    path = tmp_path / "labels.csv"
    path.write_text(text)
    return path


def test_csv_times_relative_absolute_seconds_and_nanoseconds(tmp_path):
    rows = read_labels_csv(write(tmp_path, (
        "# my labels\n"
        "bag,start,end,label,entities\n"
        "day1,2.0,5.5,high five,person_0+person_1\n"
        f"day1,{START // S + 7}.25,{START // S + 9},wave away,\n"
        f"day1/,{START + 10 * S},{START + 11 * S},handshake\n")))
    segments = bag_segments(rows, "recordings/day1", START, START + 20 * S)
    assert segments == [
        Segment(START + 2 * S, START + 5_500_000_000 + 1, "high five", frozenset({"person_0", "person_1"})),
        Segment(START + 7_250_000_000, START + 9 * S + 1, "wave away"),
        Segment(START + 10 * S, START + 11 * S + 1, "handshake"),
    ]
    assert bag_segments(rows, "day2", START, START + 20 * S) == []


def test_csv_row_outside_its_bag_is_refused(tmp_path):
    """An absolute time taken for a relative one (or the wrong bag) lands outside the bag."""
    rows = read_labels_csv(write(tmp_path, "bag,start,end,label\nday1,30,35,wave\n"))
    with pytest.raises(LabelsError, match=r"labels.csv row 1 \('wave'\) lies outside bag day1"):
        bag_segments(rows, "day1", START, START + 20 * S)


@pytest.mark.parametrize("text, message", [
    ("bag,begin,end,label\nday1,1,2,wave\n", "needs a header line with the columns bag,start,end,label"),
    ("bag,start,end,label\nday1,soon,2,wave\n", "row 1: 'soon' is not a time"),
    ("bag,start,end,label\nday1,3,2,wave\n", "row 1 ends before it starts"),
    ("bag,start,end,label\nday1,1,2,\n", "row 1 leaves one of bag, start, end, label empty"),
    (f"bag,start,end,label\nday1,1,{START},wave\n", "both be absolute or both relative"),
    ("bag,start,end,label\n", "has no rows"),
])
def test_csv_mistakes_are_one_sentence(tmp_path, text, message):
    with pytest.raises(LabelsError, match=message):
        read_labels_csv(write(tmp_path, text))


def test_per_frame_labels_become_segments_that_end_at_the_next_change():
    """The demo's ground truth: one message per frame, "" between interactions."""
    frames = [("", 0), ("wave", 1), ("wave", 2), ("wave", 3), ("", 4), ("push", 5), ("push", 6)]
    changes = [LabelChange(START + t * S, label) for label, t in frames]
    assert segments_from_changes(changes, START + 7 * S) == [
        Segment(START + 1 * S, START + 4 * S, "wave"), Segment(START + 5 * S, START + 7 * S, "push")]


def test_labels_of_different_entities_are_separate_timelines():
    pair, other = frozenset({"a", "b"}), frozenset({"c", "d"})
    changes = [LabelChange(START, "hug", pair), LabelChange(START + S, "wave", other),
               LabelChange(START + 2 * S, "", pair)]
    assert segments_from_changes(changes, START + 3 * S) == [
        Segment(START, START + 2 * S, "hug", pair), Segment(START + S, START + 3 * S, "wave", other)]


def test_a_window_takes_the_label_that_holds_min_share_of_its_frames():
    segments = [Segment(0, 70, "wave"), Segment(70, 200, "push")]
    stamps = list(range(0, 100))
    assert label_window(stamps, ["a", "b"], segments, 0.6).label == "wave"
    verdict = label_window(stamps, ["a", "b"], segments, 0.8)
    assert (verdict.label, verdict.reason, verdict.share) == (None, "mixed", 0.7)
    assert label_window(range(300, 400), ["a"], segments, 0.6).reason == "unlabelled"
    partly = label_window(range(150, 250), ["a"], segments, 0.6)
    assert (partly.label, partly.reason) == (None, "unlabelled")


def test_a_label_for_given_entities_labels_only_their_windows():
    segments = [Segment(0, 100, "hug", frozenset({"a", "b"}))]
    assert label_window(range(100), ["a", "b"], segments, 0.6).label == "hug"
    assert label_window(range(100), ["b", "a"], segments, 0.6).label == "hug"  # slot order does not matter
    assert label_window(range(100), ["a", None], segments, 0.6).label is None  # b padded: not their window
    assert label_window(range(100), ["c", "d"], segments, 0.6).label is None
