"""Real MediaPipe on real photos: people, hands, layouts, stable ids, empty scenes."""
import numpy as np
import pytest

from ista_ros.core.layouts import get_layout
from ista_ros.keypoints.detector import KeypointDetector
from ista_ros.keypoints.pipeline import KeypointPipeline
from keypoints_photos import BASKETBALL, HAND, NO_PERSON, rgb


@pytest.fixture
def pipeline():
    pipe = KeypointPipeline(KeypointDetector())
    yield pipe
    pipe.close()


def _complete(skeleton):
    n = get_layout(skeleton.layout).num_joints
    return (skeleton.joints.shape == (n, 3) and skeleton.confidence.shape == (n,)
            and np.isfinite(skeleton.joints).all() and (skeleton.joints[:, 2] > 0).all())


def _sequence(image, shifts):
    return [np.roll(image, shift, axis=1) for shift in shifts]


def test_two_people_found_with_complete_layouts_and_ids_stable_while_moving(pipeline):
    ids_per_frame, spine_x = [], {}
    for i, frame in enumerate(_sequence(rgb(BASKETBALL), [0, 6, 12, 18, 24])):
        people = [s for s in pipeline.process(frame, i / 10) if s.kind == "person"]
        assert len(people) == 2 and all(_complete(p) and p.layout == "ntu25" for p in people)
        ids_per_frame.append(sorted(p.id for p in people))
        for p in people:
            spine_x.setdefault(p.id, []).append(p.joints[0, 0])
    assert all(ids == ids_per_frame[0] for ids in ids_per_frame)
    left, right = sorted(spine_x, key=lambda i: spine_x[i][0])
    # The left person stays left of the right one and both move right with the image.
    assert max(spine_x[left]) < min(spine_x[right])
    assert spine_x[left][-1] > spine_x[left][0]


def test_ids_stable_on_the_mirrored_photo(pipeline):
    mirrored = rgb(BASKETBALL)[:, ::-1]
    seen = [sorted(s.id for s in pipeline.process(frame, i / 10) if s.kind == "person")
            for i, frame in enumerate(_sequence(mirrored, [0, -6, -12, -18]))]
    assert len(seen[0]) == 2 and all(ids == seen[0] for ids in seen)


def test_hand_found_as_hand21_and_handedness_follows_mirroring():
    image = rgb(HAND)
    sides = []
    for frame in (image, image[:, ::-1]):
        detector = KeypointDetector()
        try:
            bodies, hands = detector.detect(frame, 0.0)
        finally:
            detector.close()
        assert len(hands) == 1 and hands[0].uv.shape == (21, 2)
        sides.append(hands[0].handedness)
    assert sorted(sides) == ["left", "right"]


def test_hand_skeleton_complete_and_named_stably(pipeline):
    frames = _sequence(rgb(HAND), [0, 5, 10, 15])
    runs = [[s for s in pipeline.process(f, i / 10) if s.kind.endswith("_hand")]
            for i, f in enumerate(frames)]
    assert all(len(hands) == 1 and _complete(hands[0]) for hands in runs)
    assert len({hands[0].id for hands in runs}) == 1
    assert runs[0][0].layout == "hand21"


def test_no_person_gives_no_skeletons(pipeline):
    image = rgb(NO_PERSON)
    assert [pipeline.process(image, i / 10) for i in range(2)] == [[], []]


def test_sbu15_and_asb_layouts_on_request():
    pipe = KeypointPipeline(KeypointDetector(), body_layout="sbu15", hand_layout="asb_hand21")
    try:
        skeletons = pipe.process(rgb(BASKETBALL), 0.0) + pipe.process(rgb(HAND), 0.5)
    finally:
        pipe.close()
    layouts = {s.layout for s in skeletons}
    assert layouts == {"sbu15", "asb_hand21"} and all(_complete(s) for s in skeletons)
