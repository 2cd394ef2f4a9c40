"""Lifting 2D keypoints to metres in the camera frame.

Frame convention (REP-103 camera optical frame, the frame of sensor_msgs/Image and
CameraInfo): origin at the optical centre, x right, y down, z forward along the
optical axis, metres. Skeletons are published in the image's ``frame_id``.

With a depth image (registered to the colour image), each joint is back-projected from
its pixel and the depth under it (median of a small window; zero/NaN = no depth).
Joints without valid depth, and every joint when there is no depth image, come from
a weak-perspective model: MediaPipe's world landmarks give the entity's metric shape
around its own origin, the pinhole model gives the distance at which that shape has
its observed pixel size (z = f * metric extent / pixel extent, least squares over all
joints), and the shape is placed along the ray through its image centroid. Distances
between entities are thus meaningful (to the accuracy of MediaPipe's size estimate,
roughly 10-20 % in depth) even without depth.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

MIN_DEPTH_M, MAX_DEPTH_M = 0.1, 20.0


@dataclass(frozen=True)
class Intrinsics:
    fx: float
    fy: float
    cx: float
    cy: float

    @classmethod
    def from_k(cls, k) -> "Intrinsics":
        """From a row-major 3x3 camera matrix (CameraInfo.k)."""
        k = np.asarray(k, dtype=float).reshape(3, 3)
        return cls(k[0, 0], k[1, 1], k[0, 2], k[1, 2])

    @classmethod
    def guess(cls, width: int, height: int, hfov_deg: float = 60.0) -> "Intrinsics":
        """Square pixels, centred principal point, a typical webcam's field of view."""
        f = width / (2.0 * np.tan(np.radians(hfov_deg) / 2.0))
        return cls(f, f, width / 2.0, height / 2.0)

    def scaled(self, sx: float, sy: float) -> "Intrinsics":
        """The same camera for an image resized by (sx, sy)."""
        return Intrinsics(self.fx * sx, self.fy * sy, self.cx * sx, self.cy * sy)


def back_project(uv: np.ndarray, depth: np.ndarray, k: Intrinsics) -> np.ndarray:
    """Pixels (..., 2) at depths (...) in metres -> points (..., 3) in the optical frame."""
    uv = np.asarray(uv, dtype=float)
    z = np.asarray(depth, dtype=float)
    x = (uv[..., 0] - k.cx) / k.fx * z
    y = (uv[..., 1] - k.cy) / k.fy * z
    return np.stack([x, y, z], axis=-1)


def project(points: np.ndarray, k: Intrinsics) -> np.ndarray:
    """Points (..., 3) in the optical frame -> pixels (..., 2)."""
    points = np.asarray(points, dtype=float)
    z = points[..., 2]
    return np.stack([points[..., 0] / z * k.fx + k.cx, points[..., 1] / z * k.fy + k.cy], -1)


def sample_depth(depth_m: np.ndarray, uv: np.ndarray, radius: int = 2) -> np.ndarray:
    """Median valid depth in a (2r+1)^2 window around each pixel (J, 2); NaN if none."""
    height, width = depth_m.shape
    out = np.full(len(uv), np.nan)
    for i, (u, v) in enumerate(np.rint(uv).astype(int)):
        if not (0 <= u < width and 0 <= v < height):
            continue
        window = depth_m[max(v - radius, 0):v + radius + 1, max(u - radius, 0):u + radius + 1]
        valid = window[np.isfinite(window) & (window > MIN_DEPTH_M) & (window < MAX_DEPTH_M)]
        if valid.size:
            out[i] = np.median(valid)
    return out


def distance_from_size(uv: np.ndarray, world: np.ndarray, k: Intrinsics) -> float:
    """Distance (m) at which metric shape ``world`` (J, 3) projects to pixels ``uv`` (J, 2)."""
    pixel = uv - uv.mean(axis=0)
    metric = (world[:, :2] - world[:, :2].mean(axis=0)) * (k.fx, k.fy)
    # pixel ~= metric / z: least squares for s = 1 / z.
    s = float(np.sum(pixel * metric)) / max(float(np.sum(metric * metric)), 1e-12)
    if s <= 0:
        return MAX_DEPTH_M
    return float(np.clip(1.0 / s, MIN_DEPTH_M, MAX_DEPTH_M))


def lift(uv: np.ndarray, world: np.ndarray, k: Intrinsics,
         depth_m: np.ndarray | None = None) -> np.ndarray:
    """Joints of one entity to metres in the optical frame (see module docstring).

    uv: (J, 2) pixels; world: (J, 3) metric landmarks around the entity's own origin
    (MediaPipe world landmarks: x right, y down, z away from the camera, like the optical
    frame); depth_m: optional depth image in metres, registered to the colour image.
    """
    uv = np.asarray(uv, dtype=float)
    world = np.asarray(world, dtype=float)
    joint_depth = sample_depth(depth_m, uv) if depth_m is not None else np.full(len(uv), np.nan)
    valid = np.isfinite(joint_depth)
    if valid.sum() >= max(3, len(uv) // 4):
        # Surface depth of the visible joints anchors the shape's centre.
        z_centre = float(np.median(joint_depth[valid] - (world[valid, 2] - world[:, 2].mean())))
    else:
        z_centre = distance_from_size(uv, world, k)
    centre = back_project(uv.mean(axis=0), z_centre, k)
    model = centre + (world - world.mean(axis=0))
    if valid.any():
        model[valid] = back_project(uv[valid], joint_depth[valid], k)
    return model
