"""One annotated frame, as a newcomer should read it in ten seconds: every entity's
skeleton seen from the camera, one colour per group (grey: in no group), each entity's id
under its feet, each group's label and confidence in a box above its people (boxes never
cover each other), with the ground truth and a green or red border when it is known,
and the time and latency in a corner.

Images are RGB (H, W, 3) uint8; OpenCV only draws on them.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Sequence

import cv2
import numpy as np

from ista_ros.core.layouts import get_layout
from ista_ros.viz.colours import AGREES, DIFFERS, UNGROUPED, Colour, group_colour, lighter
from ista_ros.viz.scene import Camera, EntityPose, GroupLabel

Box = tuple[int, int, int, int]  # x0, y0, x1, y1 in pixels (x1, y1 excluded)

BACKGROUND: Colour = (24, 26, 31)
PANEL: Colour = (10, 11, 14)
TEXT: Colour = (245, 245, 245)
MUTED: Colour = (170, 170, 170)
FONT = cv2.FONT_HERSHEY_SIMPLEX
BONE_M = 0.035  # drawn bone width, metres at the entity's depth
HAND_BONE_M = 0.01  # the same for hands and other layouts without a whole body
HEAD_M = 0.1  # drawn head radius, metres
SHADOW_M = 0.3  # least half width of the shadow under a person, metres
SHADOW: Colour = (38, 41, 49)
SUBPIXEL_BITS = 4  # OpenCV's fixed-point drawing: smooth lines at any position
FAR_PX = 1e5  # pixel coordinates are clipped to this (OpenCV takes int32)


@dataclass
class _Projected:
    pose: EntityPose
    pixels: np.ndarray  # (J, 2)
    shown: np.ndarray  # (J,) located and in front of the camera
    depth: float  # m, median over the shown joints

    def box(self) -> Box:
        shown = self.pixels[self.shown]
        x0, y0 = np.floor(shown.min(axis=0)).astype(int)
        x1, y1 = np.ceil(shown.max(axis=0)).astype(int)
        return int(x0), int(y0), int(x1) + 1, int(y1) + 1


def draw_frame(entities: Sequence[EntityPose], groups: Sequence[GroupLabel] = (), camera: Camera | None = None,
               colour_of: Callable[[str], Colour] = group_colour, latency_ms: float | None = None,
               time_s: float | None = None, title: str = "") -> np.ndarray:
    """The frame of ``entities`` (optical frame) seen by ``camera`` (default: 640 x 480, 70
    degrees across), labelled with ``groups``; ``colour_of(group_id)``: a group's colour."""
    camera = camera or Camera.with_fov()
    scale = camera.width / 640
    canvas = np.empty((camera.height, camera.width, 3), np.uint8)
    canvas[:] = BACKGROUND
    group_of = {entity_id: g for g in groups for entity_id in g.entity_ids if entity_id}
    colour = {p.entity_id: colour_of(group_of[p.entity_id].group_id) if p.entity_id in group_of else UNGROUPED
              for p in entities}
    projected = [p for p in (_project(pose, camera) for pose in entities) if p.shown.any()]
    for p in projected:
        if _whole_body(p.pose.layout):
            _draw_shadow(canvas, p, camera.focal)
    for p in sorted(projected, key=lambda p: -p.depth):  # far first: near people in front
        _draw_skeleton(canvas, p, colour[p.pose.entity_id], camera.focal)
    boxes = {p.pose.entity_id: p.box() for p in projected}
    labels = _draw_group_labels(canvas, groups, boxes, colour_of, scale)
    _draw_ids(canvas, boxes, colour, scale, taken=labels)
    _draw_corner(canvas, title, time_s, latency_ms, scale)
    if any(g.truth is not None for g in groups):
        _draw_legend(canvas, scale)
    return canvas


def draw_picture(rgb: np.ndarray, size: tuple[int, int], latency_ms: float | None = None,
                 time_s: float | None = None, title: str = "") -> np.ndarray:
    """A camera image (e.g. the keypoints node's, annotated) fitted into a frame of ``size``
    (width, height), its aspect kept on the background, with the corner panel."""
    width, height = size
    canvas = np.empty((height, width, 3), np.uint8)
    canvas[:] = BACKGROUND
    scale = min(width / rgb.shape[1], height / rgb.shape[0])
    fitted = (max(1, round(rgb.shape[1] * scale)), max(1, round(rgb.shape[0] * scale)))
    x0, y0 = (width - fitted[0]) // 2, (height - fitted[1]) // 2
    canvas[y0:y0 + fitted[1], x0:x0 + fitted[0]] = cv2.resize(rgb, fitted, interpolation=cv2.INTER_AREA)
    _draw_corner(canvas, title, time_s, latency_ms, width / 640)
    return canvas


def _project(pose: EntityPose, camera: Camera) -> _Projected:
    pixels, in_front = camera.project(pose.joints)
    shown = in_front & pose.located()
    depth = float(np.median(pose.joints[shown, 2])) if shown.any() else 0.0
    return _Projected(pose, np.clip(pixels, -FAR_PX, FAR_PX), shown, depth)


def _fixed(point) -> tuple[int, int]:
    return tuple(int(round(v * (1 << SUBPIXEL_BITS))) for v in point)


def _shade(colour: Colour, factor: float) -> Colour:
    return tuple(int(c * factor) for c in colour)


def _whole_body(layout: str) -> bool:
    return get_layout(layout).head_and_feet() is not None


def _draw_shadow(canvas: np.ndarray, p: _Projected, focal: float) -> None:
    """A lighter ellipse under the lowest joints: people stand on something."""
    x0, _, x1, y1 = p.box()
    half_width = max((x1 - x0) / 2, focal * SHADOW_M / p.depth)
    cv2.ellipse(canvas, _fixed(((x0 + x1) / 2, y1)), _fixed((half_width, half_width * 0.22)), 0, 0, 360, SHADOW,
                -1, cv2.LINE_AA, SUBPIXEL_BITS)


def _draw_skeleton(canvas: np.ndarray, p: _Projected, colour: Colour, focal: float) -> None:
    layout = get_layout(p.pose.layout)
    bone_m = BONE_M if _whole_body(layout.name) else HAND_BONE_M
    width = int(np.clip(round(focal * bone_m / p.depth), 2, 14))
    bones = [(a, b) for a, b in layout.bones
             if len(p.shown) == layout.num_joints and p.shown[a] and p.shown[b]]
    fixed = [tuple(point) for point in np.rint(p.pixels * (1 << SUBPIXEL_BITS)).astype(int).tolist()]
    for thickness, tint in ((width + 3, BACKGROUND), (width, colour)):  # a dark rim parts crossing limbs
        for a, b in bones:
            cv2.line(canvas, fixed[a], fixed[b], tint, thickness, cv2.LINE_AA, SUBPIXEL_BITS)
    joint = lighter(colour)
    for index in np.flatnonzero(p.shown):
        cv2.circle(canvas, fixed[index], (width // 2 + 1) << SUBPIXEL_BITS, joint, -1, cv2.LINE_AA, SUBPIXEL_BITS)
    if "head" in layout.joints and len(p.shown) == layout.num_joints and p.shown[layout.index("head")]:
        head = fixed[layout.index("head")]
        radius = int(np.clip(focal * HEAD_M / p.depth, 4, 80) * (1 << SUBPIXEL_BITS))
        cv2.circle(canvas, head, radius, _shade(colour, 0.45), -1, cv2.LINE_AA, SUBPIXEL_BITS)
        cv2.circle(canvas, head, radius, colour, max(2, width // 2), cv2.LINE_AA, SUBPIXEL_BITS)


def _text(canvas: np.ndarray, text: str, origin: tuple[int, int], size: float, colour: Colour,
          thickness: int = 1, outline: bool = False) -> None:
    if outline:  # readable over skeletons
        cv2.putText(canvas, text, origin, FONT, size, BACKGROUND, thickness + 3, cv2.LINE_AA)
    cv2.putText(canvas, text, origin, FONT, size, colour, thickness, cv2.LINE_AA)


def _text_box(text: str, size: float, thickness: int = 1) -> tuple[int, int, int]:
    """Width, height above the baseline, depth below it."""
    (width, height), baseline = cv2.getTextSize(text, FONT, size, thickness)
    return width, height, baseline


def _draw_ids(canvas: np.ndarray, boxes: dict[str, Box], colour: dict[str, Colour], scale: float,
              taken: Sequence[Box]) -> None:
    """Each entity's id under its feet, clear of the ``taken`` boxes and of each other."""
    size = 0.45 * scale
    ids = sorted(boxes, key=lambda i: (boxes[i][0], i))
    extents = [_text_box(i, size) for i in ids]
    places = place_labels([boxes[i] for i in ids], [(w, h + d) for w, h, d in extents],
                          (canvas.shape[1], canvas.shape[0]), gap=int(4 * scale), above=False, taken=taken)
    for entity_id, (_, height, _), (x0, y0, _, _) in zip(ids, extents, places):
        _text(canvas, entity_id, (x0, y0 + height), size, colour[entity_id], 1, outline=True)


# ------------------------------------------------------------------ group labels

def _overlaps(a: Box, b: Box, margin: int = 2) -> bool:
    return a[0] < b[2] + margin and b[0] < a[2] + margin and a[1] < b[3] + margin and b[1] < a[3] + margin


def _union(boxes: list[Box]) -> Box:
    return (min(b[0] for b in boxes), min(b[1] for b in boxes), max(b[2] for b in boxes), max(b[3] for b in boxes))


def _candidates(anchor: Box, size: tuple[int, int], image: tuple[int, int], gap: int, above: bool) -> list[Box]:
    """Places for a label of ``size`` near ``anchor``, best first: centred on the preferred
    side (``above`` it or below it), then further out or sideways, then on the other side;
    all inside the ``image`` (width, height)."""
    (w, h), (width, height) = size, image
    centre_x, top, bottom = (anchor[0] + anchor[2]) // 2, anchor[1], anchor[3]
    step = h + gap
    ups = [(top - gap - h - k * step, gap + k * step) for k in range(max(1, (top - gap) // step))]  # (y, distance)
    downs = [(bottom + gap + k * step, gap + k * step) for k in range(max(1, (height - bottom - gap) // step))]
    preferred, other = (ups, downs) if above else (downs, ups)
    scored = []
    for rank, (y, distance) in enumerate(preferred + other):
        penalty = 0 if rank < len(preferred) else h * 3  # the other side reads as someone else's
        for side in (0, -1, 1, -2, 2):
            x = centre_x - w // 2 + side * (w // 2 + gap)
            scored.append((distance + abs(side) * w * 0.6 + penalty, x, y))
    places = []
    for _, x, y in sorted(scored):
        x, y = int(min(max(x, 0), max(0, width - w))), int(min(max(y, 0), max(0, height - h)))
        if (x, y, x + w, y + h) not in places:
            places.append((x, y, x + w, y + h))
    return places


def place_labels(anchors: Sequence[Box], sizes: Sequence[tuple[int, int]], image: tuple[int, int],
                 gap: int = 8, above: bool = True, taken: Sequence[Box] = ()) -> list[Box]:
    """A box per label of ``sizes`` (w, h) near its ``anchors`` box (e.g. its group's
    people), ``above`` or below it when there is room, inside the ``image`` (width,
    height): no box overlaps another or the ``taken`` boxes when there is room, and a box
    covers other labels' anchors only when nothing else is free."""
    placed: list[Box] = []
    for index, (anchor, size) in enumerate(zip(anchors, sizes)):
        places = _candidates(anchor, size, image, gap, above)
        others = [a for i, a in enumerate(anchors) if i != index]
        free = [b for b in places if not any(_overlaps(b, p) for p in [*taken, *placed])]
        clear = [b for b in free if not any(_overlaps(b, o, 0) for o in others)]
        placed.append((clear or free or places)[0])
    return placed


def _label_lines(group: GroupLabel) -> list[tuple[str, float, Colour, int]]:
    """(text, font size at 640 px, colour, thickness) of each line of a group's label."""
    main = (f"{group.label}  {group.confidence:.0%}", 0.62, TEXT, 2) if group.is_interaction \
        else ("no interaction", 0.55, MUTED, 1)
    if group.truth is None:
        return [main]
    truth = group.truth if group.truth not in ("", "none") else "no interaction"
    return [main, (f"truth: {truth}", 0.45, AGREES if group.agrees() else DIFFERS, 1)]


def _draw_group_labels(canvas: np.ndarray, groups: Sequence[GroupLabel], boxes: dict[str, Box],
                       colour_of: Callable[[str], Colour], scale: float) -> list[Box]:
    """Each group's label box above its people (of ``boxes``: entity id -> box); the boxes."""
    shown = [(g, _union([boxes[i] for i in g.entity_ids if i in boxes])) for g in groups
             if any(i in boxes for i in g.entity_ids)]
    shown.sort(key=lambda item: (item[1][0], item[0].group_id))
    pad, bar = int(7 * scale), max(3, int(5 * scale))
    layouts = []
    for group, _ in shown:
        lines = [(text, size * scale, colour, thickness) for text, size, colour, thickness in _label_lines(group)]
        extents = [_text_box(text, size, thickness) for text, size, _, thickness in lines]
        width = bar + 2 * pad + max(w for w, _, _ in extents)
        height = 2 * pad + sum(h + d for _, h, d in extents) + pad // 2 * (len(lines) - 1)
        layouts.append((lines, extents, (width, height)))
    places = place_labels([anchor for _, anchor in shown], [size for _, _, size in layouts],
                          (canvas.shape[1], canvas.shape[0]), gap=int(10 * scale))
    for (group, anchor), (lines, extents, _), box in zip(shown, layouts, places):
        colour = colour_of(group.group_id)
        _draw_leader(canvas, anchor, box, colour)
        x0, y0, x1, y1 = box
        region = canvas[y0:y1, x0:x1]
        region[:] = (region * 0.15 + np.array(PANEL) * 0.85).astype(np.uint8)
        canvas[y0:y1, x0:x0 + bar] = colour
        agrees = group.agrees()
        border = colour if agrees is None else AGREES if agrees else DIFFERS
        cv2.rectangle(canvas, (x0, y0), (x1 - 1, y1 - 1), border, 2 if agrees is not None else 1, cv2.LINE_AA)
        y = y0 + pad
        for (text, size, tint, thickness), (_, height, depth) in zip(lines, extents):
            _text(canvas, text, (x0 + bar + pad, y + height), size, tint, thickness)
            y += height + depth + pad // 2
    return places


def _draw_leader(canvas: np.ndarray, anchor: Box, box: Box, colour: Colour) -> None:
    """A thin line from the label to the top of its group's people."""
    target = ((anchor[0] + anchor[2]) // 2, anchor[1])
    start = ((box[0] + box[2]) // 2, box[3] if box[3] <= anchor[1] else box[1])
    cv2.line(canvas, start, target, colour, 1, cv2.LINE_AA)
    cv2.circle(canvas, target, 3, colour, -1, cv2.LINE_AA)


# ------------------------------------------------------------------ corners

def _panel(canvas: np.ndarray, lines: list[tuple[str, Colour]], size: float, corner: str, scale: float) -> None:
    """Lines of text on a dark panel in the top-left or bottom-left corner."""
    pad = int(6 * scale)
    extents = [_text_box(text, size) for text, _ in lines]
    width = 2 * pad + max(w for w, _, _ in extents)
    height = 2 * pad + sum(h + d for _, h, d in extents) + pad * (len(lines) - 1)
    x0, y0 = pad, pad if corner == "top" else canvas.shape[0] - height - pad
    region = canvas[y0:y0 + height, x0:x0 + width]
    region[:] = (region * 0.3 + np.array(PANEL) * 0.7).astype(np.uint8)
    y = y0 + pad
    for (text, colour), (_, h, d) in zip(lines, extents):
        _text(canvas, text, (x0 + pad, y + h), size, colour)
        y += h + d + pad


def _draw_corner(canvas: np.ndarray, title: str, time_s: float | None, latency_ms: float | None,
                 scale: float) -> None:
    lines = [(title, TEXT)] if title else []
    if time_s is not None:
        lines.append((f"t = {time_s:6.2f} s", MUTED))
    if latency_ms is not None:
        lines.append((f"latency {latency_ms:4.0f} ms", MUTED))
    if lines:
        _panel(canvas, lines, 0.45 * scale, "top", scale)


def _draw_legend(canvas: np.ndarray, scale: float) -> None:
    _panel(canvas, [("green border: label = truth", AGREES), ("red border: label differs", DIFFERS)],
           0.4 * scale, "bottom", scale)
