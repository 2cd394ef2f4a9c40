"""Back-projection, depth sampling and size-based distance on known geometry."""
import numpy as np
import pytest

from ista_ros.keypoints.geometry import Intrinsics, back_project, distance_from_size, lift, project, sample_depth
from ista_ros.keypoints.tracking import Tracker, assign, box_of

K = Intrinsics(fx=500.0, fy=520.0, cx=320.0, cy=240.0)


def test_intrinsics_from_camera_info_k_and_guess():
    k = Intrinsics.from_k([500, 0, 320, 0, 520, 240, 0, 0, 1])
    assert k == K
    guess = Intrinsics.guess(640, 480, hfov_deg=90.0)
    assert guess.fx == pytest.approx(320.0) and (guess.cx, guess.cy) == (320.0, 240.0)
    assert K.scaled(0.5, 0.5) == Intrinsics(250.0, 260.0, 160.0, 120.0)


def test_back_project_inverts_project_in_optical_frame():
    points = np.array([[0.0, 0.0, 2.0], [0.5, -0.3, 1.5], [-1.0, 0.8, 4.0]])
    uv = project(points, K)
    np.testing.assert_allclose(uv[0], (320, 240))  # optical axis hits the principal point
    assert uv[1, 0] > 320 and uv[1, 1] < 240        # x right, y down
    np.testing.assert_allclose(back_project(uv, points[:, 2], K), points)


def test_sample_depth_takes_median_of_valid_pixels_only():
    depth = np.full((480, 640), 2.0)
    depth[100:103, 100:103] = 0.0             # hole
    depth[300, 300] = np.nan
    depth[200, 200] = 9.0                     # one outlier in the window
    got = sample_depth(depth, np.array([[101, 101], [300, 300], [200, 200], [-5, 10]]))
    assert got[0] == 2.0                      # window around the hole still has depth
    assert got[1] == 2.0 and got[2] == 2.0
    assert np.isnan(got[3])                   # outside the image
    hole = np.zeros((480, 640))
    assert np.isnan(sample_depth(hole, np.array([[10.0, 10.0]]))[0])


def _body_shape(rng):
    return rng.uniform([-0.25, -0.8, -0.1], [0.25, 0.8, 0.1], size=(33, 3))


def test_lift_without_depth_recovers_distance_and_separation_of_two_people():
    rng = np.random.default_rng(1)
    shape = _body_shape(rng)
    truth = [shape + (-0.6, 0.0, 2.5), shape + (0.7, 0.1, 3.5)]
    lifted = [lift(project(p, K), shape, K) for p in truth]
    for got, want in zip(lifted, truth):
        assert np.median(got[:, 2]) == pytest.approx(np.median(want[:, 2]), rel=0.05)
    gap = np.linalg.norm(lifted[1].mean(0) - lifted[0].mean(0))
    assert gap == pytest.approx(np.linalg.norm(truth[1].mean(0) - truth[0].mean(0)), rel=0.05)
    assert distance_from_size(project(truth[0], K), shape, K) == pytest.approx(2.5, rel=0.05)


def test_lift_with_depth_back_projects_each_joint():
    rng = np.random.default_rng(2)
    shape = _body_shape(rng)
    truth = shape + (0.2, 0.0, 3.0)
    uv = project(truth, K)
    depth = np.zeros((480, 640))
    for (u, v), z in zip(np.rint(uv).astype(int), truth[:, 2]):
        depth[v, u] = z
    lifted = lift(uv, shape * 0.5, K, depth)  # a wrong metric shape must not matter
    np.testing.assert_allclose(lifted, truth, atol=0.05)  # neighbours share depth windows


def test_assign_is_optimal_and_gated():
    cost = np.array([[0.1, 0.2], [0.15, 5.0]])
    assert sorted(assign(cost, max_cost=1.0)) == [(0, 1), (1, 0)]  # greedy would pick (0, 0)
    assert assign(np.array([[3.0]]), max_cost=1.0) == []
    assert sorted(assign(np.array([[0.5], [0.1], [0.9]]), 1.0)) == [(1, 0)]
    assert assign(np.zeros((0, 2)), 1.0) == []


def test_tracker_keeps_ids_through_motion_and_reidentifies_after_occlusion():
    tracker = Tracker("person", max_age=1.0)
    a, b = (np.array([100.0, 200.0]), 150.0), (np.array([500.0, 220.0]), 120.0)
    ids = [t.id for t in tracker.update([a, b], 0.0)]
    assert ids == ["person_0", "person_1"]
    moved = [(b[0] + (-10, 0), 121.0), (a[0] + (12, 3), 149.0)]  # order swapped, moved
    assert [t.id for t in tracker.update(moved, 0.1)] == ["person_1", "person_0"]
    assert [t.id for t in tracker.update([moved[1]], 0.5)] == ["person_0"]  # b occluded
    assert [t.id for t in tracker.update(moved, 0.9)] == ["person_1", "person_0"]
    assert [t.id for t in tracker.update([moved[0]], 3.0)] == ["person_2"]  # too long gone


def test_box_of():
    centre, size = box_of(np.array([[0.0, 0.0], [30.0, 40.0], [10.0, 5.0]]))
    np.testing.assert_allclose(centre, (15, 20))
    assert size == 50.0
