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

from ista_ros.errors import ConfigError

# p_convention = R @ p_optical
FROM_OPTICAL = {
    "optical": np.eye(3),
    "kinect": np.diag([-1.0, -1.0, 1.0]),
    "body": np.array([[0.0, 0.0, 1.0], [-1.0, 0.0, 0.0], [0.0, -1.0, 0.0]]),
}


def check_axes(name: str) -> str:
    if name not in FROM_OPTICAL:
        raise ConfigError(f"unknown axis convention {name!r}; choose one of {', '.join(FROM_OPTICAL)}.")
    return name


def rotation(src: str, dst: str) -> np.ndarray:
    """R with p_dst = R @ p_src."""
    return FROM_OPTICAL[check_axes(dst)] @ FROM_OPTICAL[check_axes(src)].T


def convert_axes(points: np.ndarray, src: str, dst: str) -> np.ndarray:
    """Points (..., 3) from the ``src`` convention to ``dst`` (same origin, rotated); a new
    array unless the conventions are the same (then ``points`` itself)."""
    if check_axes(src) == check_axes(dst):
        return points
    return (points @ rotation(src, dst).T).astype(points.dtype, copy=False)


def up_vector(name: str) -> np.ndarray:
    """The direction of "up" for a level camera (or a robot standing upright)."""
    return FROM_OPTICAL[check_axes(name)] @ np.array([0.0, -1.0, 0.0])


def likely_input_axes(rise: np.ndarray, assumed: str, target: str) -> str | None:
    """``rise``: a direction that should point up (feet to head), already converted to
    ``target`` as if it came in ``assumed`` axes. The convention it most probably came in
    (its up is within 60 degrees of the rise), or None when no convention fits."""
    original = rotation(assumed, target).T @ rise
    cosines = {name: float(rotation(name, target) @ original @ up_vector(target)) / max(np.linalg.norm(rise), 1e-12)
               for name in FROM_OPTICAL}
    best = max(cosines, key=cosines.get)
    return best if cosines[best] >= 0.5 else None
