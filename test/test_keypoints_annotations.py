"""The keypoints node's annotated image, drawn without ROS: skeletons in their group's
colour, each group's label box above its own people, boxes apart, ids in the picture,
"no interaction" drawn small and grey. Checked on the pixels."""
from __future__ import annotations

import cv2
import numpy as np
import pytest

from ista_ros.keypoints.draw import PANEL, TEXT, GroupMark, annotate
from ista_ros.keypoints.geometry import Intrinsics, project
from ista_ros.keypoints.pipeline import DetectedSkeleton
from ista_ros.synthetic import interactions
from ista_ros.viz.colours import UNGROUPED, group_colour
from ista_ros.viz.frame import place_labels
from ista_ros.viz.scene import poses_from_frame

K = Intrinsics.guess(640, 480, 70.0)
GREY = 128  # the photo: one grey, so that every drawn pixel can be told from it
LEFT, RIGHT = group_colour("pair_left"), group_colour("pair_right")


def people(offsets_m: dict[str, float], seed: int = 0) -> list[DetectedSkeleton]:
    """Pairs of the demo generator mid-handshake, each moved ``offset`` metres to the right."""
    sample = interactions.generate(0, np.random.default_rng(seed), variation=interactions.EXACT)
    skeletons = []
    for prefix, offset in offsets_m.items():
        for pose in poses_from_frame(sample[:, sample.shape[1] // 2], (f"{prefix}_a", f"{prefix}_b"),
                                     axes=interactions.AXES):
            skeletons.append(DetectedSkeleton(pose.entity_id, "person", "ntu25", pose.joints + [offset, 0.0, 0.5],
                                              np.ones(len(pose.joints), np.float32)))
    return skeletons


def draw(skeletons, groups) -> np.ndarray:
    return annotate(np.full((480, 640, 3), GREY, np.uint8), skeletons, K, groups, place_labels, UNGROUPED)


def members_box(skeletons, prefix: str) -> tuple[float, float, float, float]:
    uv = np.concatenate([project(s.joints, K) for s in skeletons if s.id.startswith(prefix)])
    return (*uv.min(axis=0), *uv.max(axis=0))


def label_boxes(image: np.ndarray) -> list[tuple[tuple[int, int, int], tuple[int, int, int, int]]]:
    """(colour of the bar on its left, (x0, y0, x1, y1) with the bar) of every label box:
    the opaque panels, found from their pixels."""
    panel = np.all(image == PANEL, axis=-1).astype(np.uint8)
    count, _, stats, _ = cv2.connectedComponentsWithStats(panel, connectivity=4)
    found = []
    for x, y, w, h, area in stats[1:count]:
        if area < 150:
            continue
        bar = tuple(int(c) for c in image[y + h // 2, x - 1])
        left = np.any(image[y + h // 2, :x][::-1] != bar, axis=-1)
        bar_width = int(np.argmax(left)) if left.any() else x  # the bar may start at the image's edge
        found.append((bar, (x - bar_width, y, x + w, y + h)))
    return found


def overlap(a, b) -> bool:
    return a[0] < b[2] and b[0] < a[2] and a[1] < b[3] and b[1] < a[3]


def share_in_colour(image: np.ndarray, skeleton: DetectedSkeleton, colour, tolerance: int = 30) -> float:
    """The share of the skeleton's joints drawn in ``colour``."""
    uv = np.rint(project(skeleton.joints, K)).astype(int)
    inside = np.all((uv >= 0) & (uv < [640, 480]), axis=1)
    values = image[uv[inside, 1], uv[inside, 0]].astype(int)
    return float(np.mean(np.all(np.abs(values - colour) <= tolerance, axis=1)))


def test_each_groups_label_is_above_its_own_people_in_its_colour():
    skeletons = people({"left": -0.9, "right": 0.9})
    groups = [GroupMark(("left_a", "left_b"), "handshake 87%", LEFT),
              GroupMark(("right_a", "right_b"), "pushing 64%", RIGHT)]
    image = draw(skeletons, groups)
    boxes = dict(label_boxes(image))
    assert set(boxes) == {LEFT, RIGHT}
    for prefix, colour, other in (("left", LEFT, "right"), ("right", RIGHT, "left")):
        x0, y0, x1, y1 = members_box(skeletons, prefix)
        box = boxes[colour]
        assert box[3] <= y0  # above the heads
        centre = (box[0] + box[2]) / 2
        other_x0, _, other_x1, _ = members_box(skeletons, other)
        assert abs(centre - (x0 + x1) / 2) < abs(centre - (other_x0 + other_x1) / 2)
        assert all(share_in_colour(image, s, colour) > 0.8 for s in skeletons if s.id.startswith(prefix))
        text = image[box[1]:box[3], box[0]:box[2]]
        assert np.all(text == TEXT, axis=-1).sum() > 30  # the white text on the panel


def test_labels_of_groups_close_together_do_not_overlap():
    skeletons = people({"left": -0.25, "right": 0.25})  # both groups' centred labels would cover each other
    groups = [GroupMark(("left_a", "left_b"), "handshake 87%", LEFT),
              GroupMark(("right_a", "right_b"), "hand over 64%", RIGHT)]
    boxes = dict(label_boxes(draw(skeletons, groups)))
    assert set(boxes) == {LEFT, RIGHT}
    for group in groups:  # each label whole: as large as when drawn alone (not partly covered)
        [(_, alone)] = label_boxes(draw(skeletons, [group]))
        box = boxes[group.colour]
        assert (box[2] - box[0], box[3] - box[1]) == (alone[2] - alone[0], alone[3] - alone[1])
    assert not overlap(boxes[LEFT], boxes[RIGHT])
    heads = min(members_box(skeletons, "left")[1], members_box(skeletons, "right")[1])
    assert all(box[3] <= heads for box in boxes.values())


def test_no_interaction_is_small_grey_text_and_its_people_grey():
    skeletons = people({"left": -0.9})
    loud = draw(skeletons, [GroupMark(("left_a", "left_b"), "handshake 87%", LEFT)])
    quiet = draw(skeletons, [GroupMark(("left_a", "left_b"), "no interaction: too far", UNGROUPED, quiet=True)])
    assert all(share_in_colour(quiet, s, UNGROUPED) > 0.8 for s in skeletons)
    assert np.all(quiet == LEFT, axis=-1).sum() == 0
    panels = np.all(quiet == PANEL, axis=-1)
    assert panels.sum() > 150  # the label is there, above the people
    assert np.flatnonzero(panels.any(axis=1)).max() <= members_box(skeletons, "left")[1]
    assert panels.sum() < np.all(loud == PANEL, axis=-1).sum() * 1.5  # no bigger than an interaction's
    assert np.all(quiet[panels.any(axis=1)] == TEXT, axis=-1).sum() == 0  # no white text: grey


def test_a_groups_hands_take_its_colour_and_ids_are_drawn():
    skeletons = people({"left": 0.0})
    body = skeletons[0]
    hand_joints = np.repeat(body.joints[[7]], 21, axis=0) + np.linspace(0, 0.08, 21)[:, None] * [1, 1, 0]
    hand = DetectedSkeleton(f"{body.id}_left_hand", "left_hand", "hand21", hand_joints, np.ones(21, np.float32))
    image = draw([*skeletons, hand], [GroupMark(("left_a", "left_b"), "hug 90%", LEFT)])
    assert share_in_colour(image, hand, LEFT) > 0.8
    without_ids = draw(skeletons, [])
    feet = int(max(members_box(skeletons, "left")[3], 0))
    assert np.any(without_ids[feet:] != GREY)  # the ids, under the people


@pytest.mark.parametrize("confidence", [np.zeros(25, np.float32), np.full(25, np.nan, np.float32)])
def test_joints_the_source_could_not_place_are_not_drawn(confidence):
    skeleton = people({"left": 0.0})[0]
    lost = DetectedSkeleton(skeleton.id, "person", "ntu25", skeleton.joints, confidence)
    image = draw([lost], [GroupMark((skeleton.id,), "wave 70%", LEFT)])
    [(colour, (x0, y0, x1, y1))] = label_boxes(image)  # nobody in view: the label is in the corner
    assert colour == LEFT and x0 == 0 and y0 < 20
    image[:y1 + 2, :x1 + 2] = GREY
    assert np.all(image == GREY)  # no bones, no id
