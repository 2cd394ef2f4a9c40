"""Frame in, tracked 3D skeletons out: detector + tracking + lifting + layouts.

Ids: bodies are ``person_<n>``; a hand seen next to a body's wrist is tied to it and
called ``<body id>_<side>_hand`` (side = the body's side, from the pose, which is more
reliable than the hand model's handedness); a hand never tied to a body is
``hand_<n>``. A hand track keeps the name of its first tie for life, so a frame where
its body is missed or mislabelled does not rename it. With an ntu25 or sbu15 body layout, a tied hand
also refines the body's wrist, hand centre, hand tip and thumb.
"""
from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np

from ista_ros.core.layouts import attach_hand, convert, get_layout
from ista_ros.keypoints.detector import Detection, KeypointDetector
from ista_ros.keypoints.geometry import Intrinsics, lift
from ista_ros.keypoints.tracking import Tracker, assign, box_of

POSE = "mediapipe_pose33"
_POSE_WRIST = {"left": 15, "right": 16}
HAND_TIE_MAX_COST = 1.0  # hand wrist to body wrist, in hand sizes


@dataclass
class DetectedSkeleton:
    """One tracked body or hand in one camera frame, in 3D."""
    id: str
    kind: str              # "person", "left_hand" or "right_hand" (Skeleton.msg kinds)
    layout: str
    joints: np.ndarray     # (J, 3) metres, camera optical frame
    confidence: np.ndarray  # (J,)


class KeypointPipeline:
    def __init__(self, detector: KeypointDetector, body_layout: str = "ntu25",
                 hand_layout: str = "hand21", max_age: float = 1.0):
        for name in (body_layout, hand_layout):
            get_layout(name)  # fail early on unknown names
        self.detector, self.body_layout, self.hand_layout = detector, body_layout, hand_layout
        self.bodies = Tracker("person", max_age=max_age)
        self.hands = Tracker("hand", max_age=max_age)
        self._hand_names: dict[str, str] = {}  # hand track id -> tied name
        self.timings: dict[str, float] = {}
        self._last_stamp = float("-inf")

    def process(self, rgb: np.ndarray, stamp_s: float, intrinsics: Intrinsics | None = None,
                depth_m: np.ndarray | None = None) -> list[DetectedSkeleton]:
        if stamp_s < self._last_stamp:  # time went back (a looping recording): start over
            self.bodies.tracks.clear()
            self.hands.tracks.clear()
            self._hand_names.clear()
        self._last_stamp = stamp_s
        start = time.perf_counter()
        bodies, hands = self.detector.detect(rgb, stamp_s)
        detected = time.perf_counter()
        k = intrinsics or Intrinsics.guess(rgb.shape[1], rgb.shape[0])
        body_ids = [t.id for t in self.bodies.update([box_of(b.uv) for b in bodies], stamp_s)]
        hand_ids = [t.id for t in self.hands.update([box_of(h.uv) for h in hands], stamp_s)]
        self._forget_dead_hands()
        ties = self._tie_hands(bodies, body_ids, hands, hand_ids)
        hand_xyz = [lift(h.uv, h.world, k, depth_m) for h in hands]
        skeletons = []
        for b, (body, body_id) in enumerate(zip(bodies, body_ids)):
            joints, conf = self._body(lift(body.uv, body.world, k, depth_m), body.confidence,
                                      [(side, hand_xyz[h], hands[h].confidence)
                                       for h, (tb, side) in ties.items() if tb == b])
            skeletons.append(DetectedSkeleton(body_id, "person", self.body_layout, joints, conf))
        for h, (hand, hand_id) in enumerate(zip(hands, hand_ids)):
            joints = convert(hand_xyz[h], "hand21", self.hand_layout)
            conf = convert(hand.confidence[:, None], "hand21", self.hand_layout)[:, 0]
            side = ties[h][1] if h in ties else hand.handedness
            skeletons.append(DetectedSkeleton(self._hand_names.get(hand_id, hand_id), f"{side}_hand",
                                              self.hand_layout, joints, conf))
        self.timings = {**{f"detect_{stage}": v for stage, v in self.detector.timings.items()},
                        "detect": detected - start, "track_lift": time.perf_counter() - detected}
        return skeletons

    def _body(self, pose_xyz, pose_conf, tied_hands):
        """Pose33 joints -> body layout, refining the hands from tied hand21 hands."""
        if self.body_layout == POSE:
            return pose_xyz, pose_conf
        joints = convert(pose_xyz, POSE, "ntu25")
        conf = convert(pose_conf[:, None], POSE, "ntu25")
        for side, hand_xyz, hand_conf in tied_hands:
            joints = attach_hand(joints, hand_xyz, side)
            conf = attach_hand(conf, hand_conf[:, None], side)
        joints = convert(joints, "ntu25", self.body_layout)
        conf = convert(conf, "ntu25", self.body_layout)[:, 0]
        return joints, np.clip(conf, 0.0, 1.0)

    def _tie_hands(self, bodies: list[Detection], body_ids: list[str],
                   hands: list[Detection], hand_ids: list[str]) -> dict[int, tuple[int, str]]:
        """Pair hands with body wrists (one hand per wrist); name tied hand tracks."""
        wrists = [(b, side) for b in range(len(bodies)) for side in ("left", "right")]
        cost = np.array([[np.linalg.norm(hand.uv[0] - bodies[b].uv[_POSE_WRIST[side]])
                          / box_of(hand.uv)[1] for b, side in wrists] for hand in hands])
        ties = {}
        for h, w in assign(cost.reshape(len(hands), len(wrists)), HAND_TIE_MAX_COST):
            b, side = wrists[w]
            name = f"{body_ids[b]}_{side}_hand"
            # First tie names the track for life; a name belongs to one track at a time.
            if hand_ids[h] not in self._hand_names and name not in self._hand_names.values():
                self._hand_names[hand_ids[h]] = name
            ties[h] = (b, side)
        return ties

    def _forget_dead_hands(self) -> None:
        alive = {t.id for t in self.hands.tracks}
        self._hand_names = {t: n for t, n in self._hand_names.items() if t in alive}

    def close(self) -> None:
        self.detector.close()
