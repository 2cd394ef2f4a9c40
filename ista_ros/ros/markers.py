"""What the recognizer sees, as ROS messages for RViz / Foxglove and back as pictures.

- ``action_markers``: a ``visualization_msgs/MarkerArray`` of the recognised groups: one
  LINE_LIST per group (the bones of all its members, in the skeletons' frame), one
  TEXT_VIEW_FACING label with the class and confidence above it, one colour per group
  (from a hash of its id: the same in every process and run), padded slots absent, a
  ``lifetime`` so a group that is gone vanishes;
- ``delete_all_markers``: the DELETEALL a node sends when it starts (markers of an
  earlier run stay in RViz otherwise);
- ``poses_from`` / ``labels_from``: SkeletonArray and InteractionAction(Array) messages
  (rclpy's, or a bag reader's with the same fields) as the pictures' inputs
  (``ista_ros.viz.scene``).
"""
from __future__ import annotations

import math
import zlib
from typing import Sequence

import numpy as np
from builtin_interfaces.msg import Duration
from geometry_msgs.msg import Point
from std_msgs.msg import ColorRGBA, Header
from visualization_msgs.msg import Marker, MarkerArray

from ista_ros.core.groups import group_id as members_group_id
from ista_ros.core.layouts import get_layout
from ista_ros.viz.colours import UNGROUPED, group_colour
from ista_ros.viz.scene import EntityPose, GroupLabel

SKELETONS_NS = "ista_ros/skeletons"
LABELS_NS = "ista_ros/labels"
LINE_WIDTH_M = 0.02
TEXT_HEIGHT_M = 0.12  # height of a capital letter in RViz
TEXT_ABOVE_M = 0.25  # from the group's highest joint to the label's centre
NO_INTERACTION_ID = -1  # InteractionAction.NO_INTERACTION


def up_axis(frame_id: str) -> np.ndarray:
    """"Up" in a REP-103 frame: -y in an optical frame (x right, y down, z forward; its name
    says "optical"), +z in a body frame (x forward, y left, z up)."""
    return np.array([0.0, -1.0, 0.0]) if "optical" in frame_id else np.array([0.0, 0.0, 1.0])


def marker_id(group_id: str) -> int:
    """A group's marker id: the same for the same group, so each update replaces the last."""
    return zlib.crc32(group_id.encode()) & 0x7FFFFFFF


def _colour(rgb, alpha: float = 1.0) -> ColorRGBA:
    return ColorRGBA(r=rgb[0] / 255, g=rgb[1] / 255, b=rgb[2] / 255, a=alpha)


def _duration(seconds: float) -> Duration:
    whole = math.floor(seconds)
    return Duration(sec=int(whole), nanosec=int(round((seconds - whole) * 1e9)))


def _marker(header: Header, namespace: str, group_id: str, kind: int, lifetime_s: float, rgb) -> Marker:
    marker = Marker(header=Header(stamp=header.stamp, frame_id=header.frame_id), ns=namespace, id=marker_id(group_id),
                    type=kind, action=Marker.ADD, lifetime=_duration(lifetime_s), color=_colour(rgb))
    marker.pose.orientation.w = 1.0
    return marker


def _bone_points(pose: EntityPose) -> list[Point]:
    """Both ends of every bone whose joints were located, as LINE_LIST points."""
    layout, located = get_layout(pose.layout), pose.located()
    if len(pose.joints) != layout.num_joints:
        return []
    return [Point(x=float(x), y=float(y), z=float(z))
            for a, b in layout.bones if located[a] and located[b] for x, y, z in pose.joints[[a, b]]]


def _label_text(group: GroupLabel) -> str:
    return f"{group.label} {group.confidence:.0%}" if group.is_interaction else "no interaction"


def action_markers(header: Header, entities: Sequence[EntityPose], groups: Sequence[GroupLabel],
                   lifetime_s: float = 1.0) -> MarkerArray:
    """The markers of ``groups`` drawn from the ``entities`` (joints in ``header.frame_id``,
    stamped ``header.stamp``); a group none of whose members is among them is left out."""
    poses = {pose.entity_id: pose for pose in entities}
    up = up_axis(header.frame_id)
    markers = MarkerArray()
    for group in groups:
        members = [poses[i] for i in group.entity_ids if i and i in poses]  # "": a padded slot
        located = [m.joints[m.located()] for m in members]
        if not any(len(points) for points in located):
            continue
        rgb = group_colour(group.group_id)
        lines = _marker(header, SKELETONS_NS, group.group_id, Marker.LINE_LIST, lifetime_s, rgb)
        lines.scale.x = LINE_WIDTH_M
        lines.points = [point for member in members for point in _bone_points(member)]
        text = _marker(header, LABELS_NS, group.group_id, Marker.TEXT_VIEW_FACING, lifetime_s,
                       rgb if group.is_interaction else UNGROUPED)
        text.scale.z = TEXT_HEIGHT_M
        text.text = _label_text(group)
        points = np.concatenate(located)
        centre = points.mean(axis=0)
        top = centre + up * (float(np.max(points @ up) - centre @ up) + TEXT_ABOVE_M)
        text.pose.position = Point(x=float(top[0]), y=float(top[1]), z=float(top[2]))
        markers.markers += [lines, text]
    return markers


def delete_all_markers(header: Header | None = None) -> MarkerArray:
    """One DELETEALL marker: RViz forgets every marker it holds from this publisher's topic."""
    marker = Marker(action=Marker.DELETEALL)
    if header is not None:
        marker.header = Header(stamp=header.stamp, frame_id=header.frame_id)
    return MarkerArray(markers=[marker])


# ------------------------------------------------------------------ messages -> pictures

def poses_from(skeletons) -> list[EntityPose]:
    """The entities of a SkeletonArray message (joints in its header's frame)."""
    return [EntityPose(s.id, np.array([(p.x, p.y, p.z) for p in s.joints], np.float64).reshape(-1, 3), s.layout,
                       np.asarray(s.confidence, np.float32) if len(s.confidence) else None)
            for s in skeletons.skeletons]


def labels_from(actions) -> list[GroupLabel]:
    """The groups of an InteractionActionArray message, or of one InteractionAction."""
    return [_group_label(action) for action in getattr(actions, "actions", [actions])]


def _group_label(action) -> GroupLabel:
    members = tuple(i for i in action.entity_ids if i)  # "": a padded slot
    label = "none" if action.class_id == NO_INTERACTION_ID else action.label
    return GroupLabel(action.group_id or members_group_id(members), members, label, float(action.confidence))
