"""Hands tied to their body's wrists, names kept across frames (scripted detections)."""
import numpy as np

from ista_ros.core.layouts import get_layout
from ista_ros.keypoints.detector import Detection
from ista_ros.keypoints.geometry import Intrinsics
from ista_ros.keypoints.pipeline import KeypointPipeline

K = Intrinsics.guess(640, 480)


class ScriptedDetector:
    """Stands in for MediaPipe: returns the detections a test scripted for each frame."""

    def __init__(self, frames):
        self.frames, self.timings = list(frames), {}

    def detect(self, rgb, stamp_s):
        return self.frames.pop(0)

    def close(self):
        pass


def _body(x_offset: float) -> Detection:
    rng = np.random.default_rng(0)
    uv = rng.uniform((150, 100), (250, 400), size=(33, 2)) + (x_offset, 0)
    uv[15] = (260 + x_offset, 250)  # left wrist (image right of a person facing us)
    uv[16] = (140 + x_offset, 250)  # right wrist
    world = rng.uniform(-0.3, 0.3, size=(33, 3)) * (1, 3, 0.3)
    return Detection("person", uv, world, np.ones(33))


def _hand(wrist_uv, handedness="left") -> Detection:
    rng = np.random.default_rng(1)
    uv = np.asarray(wrist_uv) + rng.uniform(-5, 45, size=(21, 2))
    uv[0] = wrist_uv
    return Detection("hand", uv, rng.uniform(-0.05, 0.05, (21, 3)), np.full(21, 0.9), handedness)


def test_hand_at_a_wrist_is_named_after_its_body_and_keeps_the_name():
    body = _body(0)
    frames = [
        ([body], [_hand((262, 252), "right")]),   # handedness wrong; the pose side wins
        ([], [_hand((266, 254))]),               # body missed: the hand keeps its name
        ([body], [_hand((265, 250)), _hand((600, 50))]),  # a second, untied hand
    ]
    pipe = KeypointPipeline(ScriptedDetector(frames))
    runs = [{s.id: s for s in pipe.process(np.zeros((480, 640, 3), np.uint8), t, K)}
            for t in (0.0, 0.1, 0.2)]
    assert set(runs[0]) == {"person_0", "person_0_left_hand"}
    assert runs[0]["person_0_left_hand"].kind == "left_hand"
    assert set(runs[1]) == {"person_0_left_hand"}
    assert set(runs[2]) == {"person_0", "person_0_left_hand", "hand_1"}
    # The tied hand refines the body's hand joints (ntu25 hand tip = middle finger tip).
    ntu, hand = get_layout("ntu25"), get_layout("hand21")
    np.testing.assert_allclose(runs[0]["person_0"].joints[ntu.index("hand_tip_left")],
                               runs[0]["person_0_left_hand"].joints[hand.index("middle_tip")])


def test_two_bodies_each_get_their_own_hands():
    frames = [([_body(0), _body(300)], [_hand((440, 250)), _hand((262, 250))])]
    pipe = KeypointPipeline(ScriptedDetector(frames))
    ids = {s.id for s in pipe.process(np.zeros((480, 640, 3), np.uint8), 0.0, K)}
    assert ids == {"person_0", "person_1", "person_0_left_hand", "person_1_right_hand"}


def test_time_going_back_starts_new_tracks():
    body = _body(0)
    pipe = KeypointPipeline(ScriptedDetector([([body], []), ([body], []), ([body], [])]))
    blank = np.zeros((480, 640, 3), np.uint8)
    ids = [[s.id for s in pipe.process(blank, t, K)] for t in (10.0, 10.1, 0.0)]
    assert ids == [["person_0"], ["person_0"], ["person_1"]]  # a looping recording restarted
