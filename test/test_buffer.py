"""SkeletonBuffer: ring buffers per entity, stamps, forgetting, takeover, window gathering."""
import numpy as np
import pytest

from ista_ros.core.buffer import FrameEvent, Observation, SkeletonBuffer

MS = 1_000_000  # ns


def obs(entity_id, x=0.0, kind="person", joints=3):
    return Observation(entity_id, kind, np.full((joints, 3), x, np.float32) + np.arange(joints)[:, None])


def test_window_holds_the_newest_frames_by_count_and_by_age():
    buf = SkeletonBuffer(capacity=5)
    for i in range(8):
        assert buf.push(i * 100 * MS, [obs("a", i)]) is FrameEvent.ACCEPTED
    assert buf.window_stamps() == [i * 100 * MS for i in range(3, 8)]
    assert buf.window_stamps(max_frames=2) == [600 * MS, 700 * MS]
    assert buf.window_stamps(max_seconds=0.25) == [500 * MS, 600 * MS, 700 * MS]
    assert len(buf.histories["a"].frames) == 5  # trimmed with the ring


def test_gather_aligns_entities_by_stamp_and_zero_pads():
    buf = SkeletonBuffer(capacity=10)
    buf.push(0, [obs("a", 1.0)])
    buf.push(10 * MS, [obs("a", 2.0), obs("b", 5.0)])
    stamps = buf.window_stamps()
    sample = buf.gather(["b", "a", None], stamps, num_channels=3, num_joints=3)
    assert sample.shape == (3, 2, 3, 3)
    assert np.all(sample[:, 0, :, 0] == 0)  # b not seen yet
    assert sample[0, 1, 0, 0] == 5.0 and sample[0, 0, 0, 1] == 1.0 and sample[0, 1, 0, 1] == 2.0
    assert np.all(sample[..., 2] == 0)  # padded slot
    assert sample[0, 1, 2, 1] == 4.0  # joint order kept (2.0 + joint index 2)


def test_located_fractions_are_each_entitys_mean_over_the_frames_it_was_seen_in_the_window():
    buf = SkeletonBuffer(capacity=10)
    located = Observation("a", "person", np.zeros((3, 3), np.float32), located=0.2)
    buf.push(0, [located, obs("gone", 50.0)])
    buf.push(10 * MS, [obs("a"), obs("b", 5.0)])  # located: 1 by default (no confidence)
    buf.push(20 * MS, [Observation("a", "person", np.zeros((3, 3), np.float32), located=0.6)])
    stamps = buf.window_stamps()
    assert buf.located_fractions(["a", "b", None], stamps) == pytest.approx({"a": 0.6, "b": 1.0})
    assert buf.located_fractions(["a", "gone"], stamps[1:]) == pytest.approx({"a": 0.8})  # gone: not in these
    assert buf.gather(["a"], stamps, num_channels=3, num_joints=3).shape == (3, 3, 3, 1)


def test_duplicates_and_slightly_late_frames_are_dropped():
    buf = SkeletonBuffer(capacity=10, reorder_tolerance=0.5)
    buf.push(1000 * MS, [obs("a")])
    assert buf.push(1000 * MS, [obs("a", 9)]) is FrameEvent.DUPLICATE
    assert buf.push(900 * MS, [obs("a", 9)]) is FrameEvent.OUT_OF_ORDER
    assert buf.window_stamps() == [1000 * MS]
    assert len(buf.histories["a"].frames) == 1


def test_stamps_jumping_back_start_a_new_timeline():
    buf = SkeletonBuffer(capacity=10, reorder_tolerance=0.5)
    for i in range(5):
        buf.push(10_000 * MS + i * 33 * MS, [obs("a")])
    assert buf.push(0, [obs("b")]) is FrameEvent.RESTARTED
    assert buf.window_stamps() == [0]
    assert list(buf.histories) == ["b"]


def test_a_long_gap_forwards_clears_the_old_scene():
    buf = SkeletonBuffer(capacity=10, forget_after=1.0)
    buf.push(0, [obs("a")])
    assert buf.push(5000 * MS, [obs("b")]) is FrameEvent.RESUMED
    assert buf.window_stamps() == [5000 * MS] and list(buf.histories) == ["b"]


def test_entities_unseen_for_the_timeout_are_forgotten():
    buf = SkeletonBuffer(capacity=100, forget_after=1.0)
    buf.push(0, [obs("a"), obs("b")])
    for i in range(1, 12):
        buf.push(i * 100 * MS, [obs("a")])
    assert set(buf.histories) == {"a"}


def test_a_new_id_where_one_vanished_takes_over_its_history():
    buf = SkeletonBuffer(capacity=100, takeover_gap=0.5, takeover_radius=0.5)
    for i in range(5):
        buf.push(i * 33 * MS, [obs("p1", 0.0), obs("p2", 3.0)])
    buf.push(5 * 33 * MS, [obs("p7", 0.1), obs("p2", 3.0)])  # tracker renamed p1
    assert set(buf.histories) == {"p7", "p2"}
    assert len(buf.histories["p7"].frames) == 6 and buf.histories["p7"].first_seen == 0


def test_flickering_ids_keep_one_history():
    buf = SkeletonBuffer(capacity=100)
    for i in range(10):
        buf.push(i * 33 * MS, [obs("a" if i % 2 else "b", 0.0)])
    assert len(buf.histories) == 1
    assert len(next(iter(buf.histories.values())).frames) == 10


def test_no_takeover_across_kinds_distance_or_long_gaps():
    buf = SkeletonBuffer(capacity=100, forget_after=2.0, takeover_gap=0.5, takeover_radius=0.5)
    buf.push(0, [obs("a", 0.0)])
    buf.push(33 * MS, [obs("far", 2.0)])
    buf.push(66 * MS, [obs("hand", 0.0, kind="left_hand")])
    buf.push(1000 * MS, [obs("late", 0.0)])
    assert all(len(t.frames) == 1 for t in buf.histories.values())
    assert set(buf.histories) == {"a", "far", "hand", "late"}


def test_capacity_must_be_positive():
    with pytest.raises(ValueError):
        SkeletonBuffer(capacity=0)
