"""Conversions between ista_ros messages and plain Python, written once for every node.

Imports no torch: the listener and the player use it too (``skeletons_from`` loads the
core's recognition module, and with it torch, only when called)."""
from __future__ import annotations

from typing import TYPE_CHECKING, Iterable

import numpy as np
from builtin_interfaces.msg import Time
from geometry_msgs.msg import Point
from std_msgs.msg import Header

from ista_ros.msg import InteractionAction, Skeleton, SkeletonArray

if TYPE_CHECKING:
    from ista_ros.core import recognition

NS_PER_S = 1_000_000_000


def stamp_ns(stamp: Time) -> int:
    """A message stamp (builtin_interfaces/Time) in integer nanoseconds."""
    return stamp.sec * NS_PER_S + stamp.nanosec


def ros_time(ns: int) -> Time:
    return Time(sec=ns // NS_PER_S, nanosec=ns % NS_PER_S)


def skeleton_message(entity_id: str, kind: str, layout: str, joints: np.ndarray, confidence=None) -> Skeleton:
    """One entity: ``joints`` (J, 3) metres, or (J, 2) published with z = 0; ``confidence``
    (J,) or None (empty: the source gives none)."""
    joints = np.asarray(joints, dtype=float)
    if joints.shape[-1] == 2:
        joints = np.pad(joints, ((0, 0), (0, 1)))
    return Skeleton(id=entity_id, kind=kind, layout=layout,
                    joints=[Point(x=x, y=y, z=z) for x, y, z in joints.tolist()],
                    confidence=[] if confidence is None else np.asarray(confidence, np.float32).tolist())


def skeleton_array(skeletons: Iterable[Skeleton], header: Header | None = None) -> SkeletonArray:
    """A SkeletonArray of ``skeletons`` (from skeleton_message) under a copy of ``header``
    (stamp: capture time of the source frame; frame_id: the joints' frame)."""
    copied = Header(stamp=header.stamp, frame_id=header.frame_id) if header is not None else Header()
    return SkeletonArray(header=copied, skeletons=list(skeletons))


def skeletons_from(msg: SkeletonArray) -> list[recognition.SkeletonInput]:
    """The entities of a message as the core's recognizer takes them (``confidence`` None
    where the message's is empty: the source gives none)."""
    from ista_ros.core.recognition import SkeletonInput  # torch: only the recognizer gets here

    def points(skeleton: Skeleton) -> np.ndarray:
        return np.array([(point.x, point.y, point.z) for point in skeleton.joints], np.float32).reshape(-1, 3)

    def confidence(skeleton: Skeleton) -> np.ndarray | None:
        return np.array(skeleton.confidence, np.float32) if len(skeleton.confidence) else None

    return [SkeletonInput(s.id, s.kind, s.layout, points(s), confidence(s)) for s in msg.skeletons]


def action_message(result: recognition.Recognition, frame_id: str) -> InteractionAction:
    """The message of one recognised window (one group), stamped with its capture times."""
    msg = InteractionAction(label=result.label, class_id=result.class_id, confidence=float(result.confidence),
                            scores=result.scores.tolist(), class_names=result.class_names,
                            entity_ids=result.entity_ids, num_entities_observed=result.num_observed,
                            padded=result.padded, group_id=result.group_id, reason=result.reason)
    msg.header.stamp = ros_time(result.stamp)
    msg.header.frame_id = frame_id
    msg.window_start = ros_time(result.window_start)
    return msg
