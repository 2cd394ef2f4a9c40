"""Up to six bodies: optimal assignment at that size, stable ids on real crowd footage.

The crowd is Debian opencv-doc's vtest.avi (pedestrians in a square, 768x576, 10 FPS).
Its people are about 90 px tall, too small for MediaPipe's pose detector, so ``crowd``
tiles a crop around each of six walkers of frame 200 into a 3x2 grid at 640x480 (each
crop keeps its place, so the people move as in the video).
"""
import itertools

import numpy as np
import pytest

from ista_ros.keypoints.tracking import Tracker, assign

# Centres (x, y) in vtest.avi of six walkers around frame 200, and the crop height.
WALKERS = [(96, 185), (234, 230), (502, 185), (632, 318), (722, 305), (688, 128)]
CROP_HEIGHT = 110


def crowd(first: int, count: int, people: int = 6) -> list[np.ndarray]:
    """Frames first..first+count-1 of vtest.avi as 640x480 RGB grids of ``people`` tiles."""
    import cv2

    from keypoints_photos import VIDEO, opencv_doc

    video = cv2.VideoCapture(str(opencv_doc(VIDEO)))
    video.set(cv2.CAP_PROP_POS_FRAMES, first)
    tile_w, tile_h = 640 // 3, 480 // 2
    crop_w = CROP_HEIGHT * tile_w // tile_h
    frames = []
    for _ in range(count):
        ok, bgr = video.read()
        assert ok, "vtest.avi ended early"
        grid = np.zeros((480, 640, 3), np.uint8)
        for k, (x, y) in enumerate(WALKERS[:people]):
            crop = bgr[y - CROP_HEIGHT // 2:y + CROP_HEIGHT // 2, x - crop_w // 2:x + crop_w // 2]
            row, col = divmod(k, 3)
            grid[row * tile_h:(row + 1) * tile_h, col * tile_w:(col + 1) * tile_w] = cv2.resize(
                crop, (tile_w, tile_h))
        frames.append(cv2.cvtColor(grid, cv2.COLOR_BGR2RGB))
    return frames


def _exhaustive(cost, max_cost):
    """(pairs, total cost) of the best matching by trying every one."""
    rows, cols = cost.shape
    best = (0, 0.0)
    for chosen in itertools.product(range(-1, cols), repeat=rows):
        taken = [c for c in chosen if c >= 0]
        if len(taken) == len(set(taken)) and all(cost[r, c] <= max_cost for r, c in enumerate(chosen) if c >= 0):
            best = max(best, (len(taken), -sum(cost[r, c] for r, c in enumerate(chosen) if c >= 0)))
    return best[0], -best[1]


def test_assignment_is_optimal_most_pairs_first():
    rng = np.random.default_rng(7)
    for _ in range(150):
        cost = rng.random(rng.integers(1, 6, size=2)) * 2.0
        pairs = assign(cost, 1.0)
        assert len({r for r, _ in pairs}) == len({c for _, c in pairs}) == len(pairs)
        found = (len(pairs), sum(cost[r, c] for r, c in pairs))
        assert found[0] == _exhaustive(cost, 1.0)[0] and found[1] == pytest.approx(_exhaustive(cost, 1.0)[1])


def test_one_more_pair_beats_a_cheaper_matching():
    # Greedy would take (0, 0) at 0.1 and leave row 1 alone; two pairs at 1.8 are better.
    assert sorted(assign(np.array([[0.1, 0.9], [0.9, 5.0]]), 1.0)) == [(0, 1), (1, 0)]


def test_six_walkers_keep_six_distinct_ids_while_lingering_tracks_wait():
    tracker = Tracker("person")
    starts = np.array([[60.0 + 100 * k, 240.0] for k in range(6)])
    ids = [t.id for t in tracker.update([(c, 80.0) for c in starts], 0.0)]
    for step in range(1, 20):
        seen = range(6) if step % 5 else range(0, 6, 2)  # every fifth frame half are missed
        boxes = [(starts[k] + [3.0 * step, 2.0 * step], 80.0) for k in seen]
        assert [t.id for t in tracker.update(boxes, step / 10)] == [ids[k] for k in seen]
    assert len(set(ids)) == 6


@pytest.fixture(scope="module")
def crowd_people():
    from ista_ros.keypoints.detector import DetectorConfig, KeypointDetector
    from ista_ros.keypoints.pipeline import KeypointPipeline

    pipeline = KeypointPipeline(KeypointDetector(DetectorConfig(num_poses=6)))
    try:
        return [[s.id for s in pipeline.process(frame, (196 + i) / 10.0) if s.kind == "person"]
                for i, frame in enumerate(crowd(196, 8))]
    finally:
        pipeline.close()


def test_num_poses_six_finds_more_than_two_people_in_a_crowd(crowd_people):
    assert max(len(ids) for ids in crowd_people) > 2, crowd_people
    assert all(len(set(ids)) == len(ids) for ids in crowd_people)


def test_crowd_ids_stay_the_same_over_consecutive_frames(crowd_people):
    # The detector flickers on these small, blurred people; where it finds the same three or
    # more in consecutive frames, the tracker must give them the same ids.
    runs = [(a, b) for a, b in zip(crowd_people, crowd_people[1:]) if len(a) > 2 and len(b) > 2]
    assert runs, crowd_people
    assert all(set(a) == set(b) for a, b in runs), crowd_people
