"""What one picture shows, and the camera it is seen through.

Joints are in the camera optical frame (REP-103: x right, y down, z forward, metres), the
frame the keypoints node publishes in; ``poses_from_frame`` converts other conventions
(the demo generator's Kinect axes) with ``ista_ros.core.axes``. A joint at the origin or
with confidence 0 is not located (the datasets' and the messages' rule) and is not drawn.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Sequence

import numpy as np

from ista_ros.core.axes import convert_axes
from ista_ros.errors import ConfigError

NO_INTERACTION_LABELS = ("none", "")  # InteractionAction.NO_INTERACTION_LABEL; the demo's truth between interactions
NEAR_M = 0.1  # joints closer to the camera than this are not drawn


@dataclass(frozen=True)
class EntityPose:
    """One entity in one frame: ``joints`` (J, 3) in the camera optical frame."""

    entity_id: str
    joints: np.ndarray
    layout: str = "ntu25"
    confidence: np.ndarray | None = None  # (J,), or None when the source gives none

    def located(self) -> np.ndarray:
        """(J,) True for the joints the source located."""
        found = np.all(np.isfinite(self.joints), axis=-1) & np.any(self.joints != 0, axis=-1)
        if self.confidence is not None and len(self.confidence) == len(self.joints):
            found &= np.asarray(self.confidence) > 0
        return found


@dataclass(frozen=True)
class GroupLabel:
    """What one group is doing: ``label`` (a class name, or "none": no interaction) with its
    ``confidence``; ``truth``: the ground truth's class name ("" or "none": no interaction),
    or None when unknown."""

    group_id: str
    entity_ids: tuple[str, ...]
    label: str
    confidence: float
    truth: str | None = None

    @property
    def is_interaction(self) -> bool:
        return self.label not in NO_INTERACTION_LABELS

    def agrees(self) -> bool | None:
        """Whether the label is the truth; None when the truth is unknown."""
        if self.truth is None:
            return None
        same_nothing = self.label in NO_INTERACTION_LABELS and self.truth in NO_INTERACTION_LABELS
        return same_nothing or self.label == self.truth


def poses_from_frame(points: np.ndarray, ids: Sequence[str], layout: str = "ntu25",
                     axes: str = "optical") -> list[EntityPose]:
    """The entities of one frame of a (C=3, J, E) sequence in the ``axes`` convention (e.g.
    "kinect" for the demo generator's), in the optical frame; entities all zero (not in
    view) are left out."""
    points = np.asarray(points, dtype=np.float32)
    if points.ndim != 3 or points.shape[0] != 3 or points.shape[-1] != len(ids):
        raise ConfigError(f"a frame is (3, J, E) with one id per entity; got shape {points.shape} and {len(ids)} ids.")
    optical = convert_axes(np.moveaxis(points, 0, -1), axes, "optical")  # (J, E, 3)
    return [EntityPose(str(i), optical[:, e]) for e, i in enumerate(ids) if np.any(points[..., e])]


@dataclass(frozen=True)
class Camera:
    """A pinhole camera: ``width`` x ``height`` pixels, focal length ``focal`` (pixels, the
    same on both axes), principal point (``cx``, ``cy``)."""

    width: int
    height: int
    focal: float
    cx: float
    cy: float

    @classmethod
    def with_fov(cls, width: int = 640, height: int = 480, fov_deg: float = 70.0) -> Camera:
        """A centred camera with a horizontal field of view of ``fov_deg`` (Kinect v2: 70)."""
        if not 1.0 <= fov_deg < 179.0 or width < 16 or height < 16:
            raise ConfigError(f"a camera needs a field of view in [1, 179) degrees and at least 16 x 16 pixels; "
                              f"got {fov_deg} degrees and {width} x {height}.")
        return cls(width, height, width / 2 / math.tan(math.radians(fov_deg) / 2), width / 2, height / 2)

    @classmethod
    def fitting(cls, points: np.ndarray, width: int = 640, height: int = 480, margin: float = 0.08,
                headroom: float = 0.12, max_fov_deg: float = 140.0) -> Camera:
        """A camera at the same place and turned the same way as the one the ``points`` (..., 3)
        were seen by, framing all of them: a crop of that camera's view, with at most
        ``max_fov_deg`` across. ``margin``: the share of the picture left free on each side;
        ``headroom``: the share more at the top, for the labels above people's heads."""
        points = np.asarray(points, dtype=float).reshape(-1, 3)
        points = points[np.all(np.isfinite(points), axis=1) & (points[:, 2] > NEAR_M)]
        if len(points) == 0:
            return cls.with_fov(width, height)
        plane = points[:, :2] / points[:, 2:]
        low, high = plane.min(axis=0), plane.max(axis=0)
        usable = np.array([width * (1 - 2 * margin), height * (1 - 2 * margin - headroom)])
        widest = width / 2 / math.tan(math.radians(max_fov_deg) / 2)
        focal = max(float(np.min(usable / np.maximum(high - low, 1e-6))), widest)
        cx, cy = np.array([width / 2, height * (1 + headroom) / 2]) - focal * (low + high) / 2
        return cls(width, height, focal, float(cx), float(cy))

    def project(self, points: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Pixels (..., 2) of ``points`` (..., 3), and (...) True where a point is in front
        of the camera (the others' pixels are meaningless)."""
        points = np.asarray(points, dtype=float)
        z = points[..., 2]
        visible = np.isfinite(points).all(axis=-1) & (z > NEAR_M)
        safe_z = np.where(visible, z, 1.0)[..., None]
        pixels = points[..., :2] / safe_z * self.focal + (self.cx, self.cy)
        return pixels, visible
