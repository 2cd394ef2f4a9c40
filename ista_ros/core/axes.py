"""Axis conventions of skeleton coordinates, and the rotations between them.

Messages carry joints in REP-103 frames; a model expects the axes of the data it was
trained on. Converting at the recognizer's input keeps both honest.

- ``optical``: REP-103 camera optical frame: x right, y down, z forward (OpenCV,
  MediaPipe, the keypoints node, H2O's camera poses).
- ``kinect``: Kinect v2 camera space (NTU RGB+D, the demo's generator): x to the camera's
  left, y up, z forward; the optical frame turned half a turn about z.
- ``body``: REP-103 body frame: x forward, y left, z up.
"""
from __future__ import annotations

import numpy as np

# p_convention = R @ p_optical
FROM_OPTICAL = {
    "optical": np.eye(3),
    "kinect": np.diag([-1.0, -1.0, 1.0]),
    "body": np.array([[0.0, 0.0, 1.0], [-1.0, 0.0, 0.0], [0.0, -1.0, 0.0]]),
}


def check_axes(name: str) -> str:
    if name not in FROM_OPTICAL:
        raise ValueError(f"unknown axis convention {name!r}; choose one of {', '.join(FROM_OPTICAL)}.")
    return name


def convert_axes(points: np.ndarray, src: str, dst: str) -> np.ndarray:
    """Points (..., 3) from the ``src`` convention to ``dst`` (same origin, rotated)."""
    if check_axes(src) == check_axes(dst):
        return points
    rotation = FROM_OPTICAL[dst] @ FROM_OPTICAL[src].T
    return (points @ rotation.T).astype(points.dtype, copy=False)
