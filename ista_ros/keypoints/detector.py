"""MediaPipe Tasks pose and hand landmarkers, run concurrently on each frame.

Offline only: the models come from the .task bundles built from the installed wheel
(ista_ros.keypoints.bundles). VIDEO running mode (tracking between frames), so frames
must come with increasing timestamps; equal or older ones are nudged forward by 1 ms.
"""
from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import numpy as np

from ista_ros.errors import ConfigError
from ista_ros.keypoints import bundles


@dataclass
class Detection:
    """One body (mediapipe_pose33) or hand (hand21) in one frame."""
    kind: str                      # "person" or "hand"
    uv: np.ndarray                 # (J, 2) pixels
    world: np.ndarray              # (J, 3) metres around the entity's own origin
    confidence: np.ndarray         # (J,) in [0, 1]
    handedness: str | None = None  # "left"/"right" for hands (true side, unmirrored image)


@dataclass
class DetectorConfig:
    num_poses: int = 2
    num_hands: int = 2
    hand_model: str = "lite"          # "lite" or "full"
    min_pose_confidence: float = 0.2  # lower than MediaPipe's 0.5: finds people cut by the frame edge
    min_hand_confidence: float = 0.3
    concurrent: bool = True           # pose and hands in parallel threads (2 cores: ~1.6x)


class KeypointDetector:
    """Detect up to ``num_poses`` bodies and ``num_hands`` hands in RGB frames."""

    def __init__(self, config: DetectorConfig | None = None):
        from mediapipe.tasks.python import BaseOptions, vision

        self.config = cfg = config or DetectorConfig()
        if cfg.hand_model not in ("lite", "full"):
            raise ConfigError(f"hand_model must be 'lite' or 'full', not {cfg.hand_model!r}.")
        self._pose = self._hands = None
        if cfg.num_poses > 0:
            self._pose = vision.PoseLandmarker.create_from_options(vision.PoseLandmarkerOptions(
                base_options=BaseOptions(
                    model_asset_path=str(bundles.bundle_path("pose_landmarker_full"))),
                running_mode=vision.RunningMode.VIDEO, num_poses=cfg.num_poses,
                min_pose_detection_confidence=cfg.min_pose_confidence,
                min_pose_presence_confidence=cfg.min_pose_confidence,
                min_tracking_confidence=cfg.min_pose_confidence))
        if cfg.num_hands > 0:
            self._hands = vision.HandLandmarker.create_from_options(vision.HandLandmarkerOptions(
                base_options=BaseOptions(model_asset_path=str(
                    bundles.bundle_path(f"hand_landmarker_{cfg.hand_model}"))),
                running_mode=vision.RunningMode.VIDEO, num_hands=cfg.num_hands,
                min_hand_detection_confidence=cfg.min_hand_confidence,
                min_hand_presence_confidence=cfg.min_hand_confidence,
                min_tracking_confidence=cfg.min_hand_confidence))
        self._pool = ThreadPoolExecutor(max_workers=2, thread_name_prefix="mediapipe")
        self._last_ms = -1
        self.timings: dict[str, float] = {}  # seconds spent by the last frame's stages

    def detect(self, rgb: np.ndarray, stamp_s: float) -> tuple[list[Detection], list[Detection]]:
        """Bodies and hands in an (H, W, 3) uint8 RGB frame captured at ``stamp_s``."""
        import mediapipe as mp

        stamp_ms = max(int(round(stamp_s * 1000)), self._last_ms + 1)
        self._last_ms = stamp_ms
        image = mp.Image(image_format=mp.ImageFormat.SRGB, data=np.ascontiguousarray(rgb))
        size = np.array([rgb.shape[1], rgb.shape[0]], dtype=float)
        if not self.config.concurrent:
            return (self._timed("pose", self._run_pose, image, stamp_ms, size),
                    self._timed("hands", self._run_hands, image, stamp_ms, size))
        bodies = self._pool.submit(self._timed, "pose", self._run_pose, image, stamp_ms, size)
        hands = self._pool.submit(self._timed, "hands", self._run_hands, image, stamp_ms, size)
        return bodies.result(), hands.result()

    def _timed(self, stage, fn, *args):
        start = time.perf_counter()
        try:
            return fn(*args)
        finally:
            self.timings[stage] = time.perf_counter() - start

    def _run_pose(self, image, stamp_ms: int, size: np.ndarray) -> list[Detection]:
        if self._pose is None:
            return []
        result = self._pose.detect_for_video(image, stamp_ms)
        return [
            Detection("person", _pixels(landmarks, size), _metres(world),
                      np.array([lm.visibility or 0.0 for lm in landmarks], dtype=float))
            for landmarks, world in zip(result.pose_landmarks, result.pose_world_landmarks)
        ]

    def _run_hands(self, image, stamp_ms: int, size: np.ndarray) -> list[Detection]:
        if self._hands is None:
            return []
        result = self._hands.detect_for_video(image, stamp_ms)
        detections = []
        for landmarks, world, handedness in zip(
                result.hand_landmarks, result.hand_world_landmarks, result.handedness):
            score = handedness[0].score
            detections.append(Detection(
                "hand", _pixels(landmarks, size), _metres(world),
                np.full(len(landmarks), score, dtype=float), handedness[0].category_name.lower()))
        return detections

    def close(self) -> None:
        """Release the MediaPipe graphs; safe to call more than once."""
        self._pool.shutdown(wait=True)
        for task in (self._pose, self._hands):
            if task is not None:
                task.close()
        self._pose = self._hands = None


def _pixels(landmarks, size: np.ndarray) -> np.ndarray:
    return np.array([(lm.x, lm.y) for lm in landmarks], dtype=float) * size


def _metres(landmarks) -> np.ndarray:
    return np.array([(lm.x, lm.y, lm.z) for lm in landmarks], dtype=float)
