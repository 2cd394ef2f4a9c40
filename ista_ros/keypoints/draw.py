"""Annotated camera images: each skeleton (bones of its layout) in its group's colour, each
entity's id under it, each group's label in a box above the group's people, no box covering
another.

The colours and the label placement are the caller's: the keypoints package may not
import ``ista_ros.viz`` (test_layering), so the node passes viz's group colours and
``place_labels``, and the annotated image, the rendered videos and the RViz markers agree.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Sequence

import numpy as np

from ista_ros.core.layouts import get_layout
from ista_ros.keypoints.geometry import Intrinsics, project

Colour = tuple[int, int, int]
Box = tuple[int, int, int, int]  # x0, y0, x1, y1 in pixels (x1, y1 excluded)
# place_labels(anchors, sizes, image, gap=, above=, taken=) -> a box per label, none
# overlapping another (ista_ros.viz.frame.place_labels)
Placer = Callable[..., list[Box]]

PANEL: Colour = (12, 13, 17)  # label boxes: opaque, readable over any photo
RIM: Colour = (0, 0, 0)  # under bones and around ids: they stand out from the photo
TEXT: Colour = (245, 245, 245)
MIN_DEPTH_M = 0.1
_HAND_SUFFIXES = ("_left_hand", "_right_hand")


@dataclass(frozen=True)
class GroupMark:
    """One group as drawn: its members' ids, its label's text and colour; ``quiet``: a "no
    interaction" answer (small text in ``colour``, no colour bar, no line to its people)."""

    entity_ids: tuple[str, ...]
    text: str
    colour: Colour
    quiet: bool = False


def annotate(rgb: np.ndarray, skeletons, k: Intrinsics, groups: Sequence[GroupMark], place_labels: Placer,
             ungrouped: Colour) -> np.ndarray:
    """A copy of ``rgb`` with ``skeletons`` (DetectedSkeleton: id, layout, joints in the optical
    frame, confidence) projected through ``k``, in their group's colour (``ungrouped`` when
    in none or in a quiet one), and the ``groups``' labels. A group none of whose members is
    in view gets its label in the top-left corner."""
    import cv2

    canvas = np.ascontiguousarray(rgb, dtype=np.uint8).copy()
    scale = canvas.shape[1] / 640
    colour = _member_colours(skeletons, groups, ungrouped)
    boxes = {}
    for skeleton in skeletons:
        uv, located = _pixels(skeleton, k)
        if located.any():
            _draw_bones(cv2, canvas, skeleton.layout, uv, located, colour[skeleton.id], scale)
            boxes[skeleton.id] = _box(uv[located], canvas.shape)
    labels = _draw_labels(cv2, canvas, groups, boxes, place_labels, scale)
    _draw_ids(cv2, canvas, boxes, colour, place_labels, scale, taken=labels)
    return canvas


def _member_colours(skeletons, groups: Sequence[GroupMark], ungrouped: Colour) -> dict[str, Colour]:
    """Entity id -> colour: its group's; a hand's (``<body id>_left_hand``) its body's."""
    group_colour = {i: g.colour for g in groups if not g.quiet for i in g.entity_ids}
    return {s.id: group_colour.get(s.id, group_colour.get(_body_of(s.id), ungrouped)) for s in skeletons}


def _body_of(entity_id: str) -> str:
    for suffix in _HAND_SUFFIXES:
        if entity_id.endswith(suffix):
            return entity_id[:-len(suffix)]
    return entity_id


def _pixels(skeleton, k: Intrinsics) -> tuple[np.ndarray, np.ndarray]:
    """Pixels (J, 2) of the joints, and (J,) True where a joint was located in front of the camera."""
    joints = np.asarray(skeleton.joints, dtype=float)
    located = np.isfinite(joints).all(axis=1) & (joints[:, 2] > MIN_DEPTH_M)
    confidence = np.asarray(skeleton.confidence, dtype=float)
    if len(confidence) == len(joints):
        located &= confidence > 0  # the source could not place it: its position means nothing
    safe = np.where(located[:, None], joints, [0.0, 0.0, 1.0])
    return np.clip(project(safe, k), -1e5, 1e5), located


def _box(uv: np.ndarray, shape: tuple[int, ...]) -> Box:
    """The pixels' bounding box, inside the image."""
    height, width = shape[:2]
    x0, y0 = np.clip(np.floor(uv.min(axis=0)), 0, [width - 1, height - 1]).astype(int)
    x1, y1 = np.clip(np.ceil(uv.max(axis=0)) + 1, 1, [width, height]).astype(int)
    return int(x0), int(y0), int(max(x1, x0 + 1)), int(max(y1, y0 + 1))


def _draw_bones(cv2, canvas: np.ndarray, layout: str, uv: np.ndarray, located: np.ndarray, colour: Colour,
                scale: float) -> None:
    width = max(2, round(2 * scale))
    points = [tuple(p) for p in np.rint(uv).astype(int).tolist()]
    skeleton = get_layout(layout)
    bones = [(a, b) for a, b in skeleton.bones if len(located) == skeleton.num_joints and located[a] and located[b]]
    for thickness, tint in ((width + 2, RIM), (width, colour)):
        for a, b in bones:
            cv2.line(canvas, points[a], points[b], tint, thickness, cv2.LINE_AA)
    for index in np.flatnonzero(located):
        cv2.circle(canvas, points[index], width, colour, -1, cv2.LINE_AA)


def _text_size(cv2, text: str, size: float, thickness: int) -> tuple[int, int, int]:
    """Width, height above the baseline, depth below it."""
    (width, height), baseline = cv2.getTextSize(text, cv2.FONT_HERSHEY_SIMPLEX, size, thickness)
    return width, height, baseline


def _union(boxes: list[Box]) -> Box:
    return min(b[0] for b in boxes), min(b[1] for b in boxes), max(b[2] for b in boxes), max(b[3] for b in boxes)


def _draw_labels(cv2, canvas: np.ndarray, groups: Sequence[GroupMark], boxes: dict[str, Box],
                 place_labels: Placer, scale: float) -> list[Box]:
    """Each group's label box above its people's bounding box; the boxes drawn."""
    corner: Box = (0, 0, 1, 1)  # a group with nobody in view: listed from the top-left corner
    anchors = [_union([boxes[i] for i in g.entity_ids if i in boxes]) if any(i in boxes for i in g.entity_ids)
               else corner for g in groups]
    pad, bar = max(3, round(6 * scale)), max(4, round(5 * scale))
    fonts = [(0.45 * scale, 1) if g.quiet else (0.6 * scale, 2) for g in groups]
    extents = [_text_size(cv2, g.text, size, thickness) for g, (size, thickness) in zip(groups, fonts)]
    sizes = [(w + 2 * pad + (0 if g.quiet else bar), h + d + 2 * pad) for g, (w, h, d) in zip(groups, extents)]
    places = place_labels(anchors, sizes, (canvas.shape[1], canvas.shape[0]), gap=round(8 * scale), above=True)
    for group, anchor, box in zip(groups, anchors, places):  # lines first: labels cover them
        if not group.quiet and anchor != corner:  # a line to the people: the label may have moved aside
            start = ((box[0] + box[2]) // 2, box[3] if box[3] <= anchor[1] else box[1])
            cv2.line(canvas, start, ((anchor[0] + anchor[2]) // 2, anchor[1]), group.colour, 1, cv2.LINE_AA)
    for group, box, (size, thickness), (_, height, _) in zip(groups, places, fonts, extents):
        x0, y0, x1, y1 = box
        canvas[y0:y1, x0:x1] = PANEL
        text_x = x0 + pad
        if not group.quiet:
            canvas[y0:y1, x0:x0 + bar] = group.colour
            cv2.rectangle(canvas, (x0, y0), (x1 - 1, y1 - 1), group.colour, 1)
            text_x += bar
        cv2.putText(canvas, group.text, (text_x, y0 + pad + height), cv2.FONT_HERSHEY_SIMPLEX, size,
                    group.colour if group.quiet else TEXT, thickness, cv2.LINE_AA)
    return list(places)


def _draw_ids(cv2, canvas: np.ndarray, boxes: dict[str, Box], colour: dict[str, Colour], place_labels: Placer,
              scale: float, taken: Sequence[Box]) -> None:
    """Each entity's id under its feet (above when the image ends there), on a dark rim,
    clear of the labels and of each other."""
    size = 0.45 * scale
    ids = sorted(boxes, key=lambda i: (boxes[i][0], i))
    extents = [_text_size(cv2, i, size, 1) for i in ids]
    places = place_labels([boxes[i] for i in ids], [(w, h + d) for w, h, d in extents],
                          (canvas.shape[1], canvas.shape[0]), gap=round(4 * scale), above=False, taken=taken)
    for entity_id, (_, height, _), (x0, y0, _, _) in zip(ids, extents, places):
        origin = (x0, y0 + height)
        cv2.putText(canvas, entity_id, origin, cv2.FONT_HERSHEY_SIMPLEX, size, RIM, 4, cv2.LINE_AA)
        cv2.putText(canvas, entity_id, origin, cv2.FONT_HERSHEY_SIMPLEX, size, colour[entity_id], 1, cv2.LINE_AA)
