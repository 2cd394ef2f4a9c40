"""Annotated images: skeletons (bones of their layout), ids and the latest action label."""
from __future__ import annotations

import numpy as np

from ista_ros.core.layouts import get_layout
from ista_ros.keypoints.geometry import Intrinsics, project

_COLOURS = [(230, 25, 75), (60, 180, 75), (0, 130, 200), (245, 130, 48), (145, 30, 180),
            (70, 240, 240)]


def draw_skeletons(rgb: np.ndarray, skeletons, k: Intrinsics, label: str = "") -> np.ndarray:
    """A copy of ``rgb`` with each skeleton's joints projected through ``k``."""
    import cv2

    canvas = np.ascontiguousarray(rgb).copy()
    for i, skeleton in enumerate(skeletons):
        colour = _COLOURS[i % len(_COLOURS)]
        uv = np.rint(project(skeleton.joints, k)).astype(int)
        for a, b in get_layout(skeleton.layout).bones:
            cv2.line(canvas, tuple(uv[a]), tuple(uv[b]), colour, 2, cv2.LINE_AA)
        top = uv[np.argmin(uv[:, 1])]
        cv2.putText(canvas, skeleton.id, (int(top[0]), max(int(top[1]) - 8, 12)),
                    cv2.FONT_HERSHEY_SIMPLEX, 0.5, colour, 1, cv2.LINE_AA)
    if label:
        cv2.putText(canvas, label, (10, 28), cv2.FONT_HERSHEY_SIMPLEX, 0.8, (255, 255, 0), 2,
                    cv2.LINE_AA)
    return canvas
