"""Keypoints node: camera images in, tracked 3D skeletons (ista_ros/SkeletonArray) out.

Subscribes ``image`` (sensor_msgs/Image: rgb8, bgr8, mono8, rgba8, bgra8) or, when
``compressed_image_topic`` is set, a sensor_msgs/CompressedImage (jpeg, png);
optionally ``camera_info`` (used when it arrives; until then the intrinsics are guessed
from a ``fallback_hfov_deg`` horizontal field of view, 60 by default) and, when
``depth_topic`` is set, a depth image registered to the colour image (16UC1 mm or
32FC1 m), paired with the colour frame when their stamps are within ``depth_tolerance``
seconds. Publishes ``skeletons`` with the image's frame_id and stamp. The newest frame
wins: a worker thread processes the latest image and frames that arrive meanwhile
replace it (counted as dropped), never queued. The image subscription is reliable,
depth 1 (``best_effort`` true for cameras that publish best effort only). Optional
``annotated_topic`` (off by default): the image with skeletons and ids, and each group's
label and confidence in a box above its people, in the group's colour (the colours of the
videos and RViz markers, ``ista_ros.viz``), from the recognizer's ``actions_topic``
(ista_ros/InteractionActionArray); until an array arrives, the single ``action_topic``
(ista_ros/InteractionAction). Actions whose stamp is more than ``action_max_age`` s from
the image's are not drawn. "No interaction" answers are drawn small and grey with their
reason: they show the recognizer is alive without drawing the eye from interactions.
"""
from __future__ import annotations

import sys
from dataclasses import dataclass

import numpy as np
from rclpy.node import Node
from rclpy.qos import qos_profile_sensor_data
from sensor_msgs.msg import CameraInfo, CompressedImage, Image

from ista_ros.keypoints.detector import DetectorConfig, KeypointDetector
from ista_ros.keypoints.geometry import Intrinsics
from ista_ros.keypoints.images import ImageError, compressed_to_rgb, to_metres, to_rgb
from ista_ros.keypoints.pipeline import KeypointPipeline
from ista_ros.msg import InteractionAction, InteractionActionArray, SkeletonArray
from ista_ros.ros.markers import labels_from
from ista_ros.ros.messages import skeleton_array, skeleton_message, stamp_ns
from ista_ros.ros.params import declare_dataclass
from ista_ros.ros.spin import run_node
from ista_ros.ros.worker import NewestWinsWorker
from ista_ros.viz.colours import UNGROUPED, group_colour

WARN_PERIOD_S = 5.0
STATS_PERIOD_S = 10.0


@dataclass
class KeypointsParameters:
    """The node's parameters besides the detector's (DetectorConfig: num_poses, num_hands,
    hand_model, min_pose_confidence, min_hand_confidence, concurrent)."""
    image_topic: str = "image"
    compressed_image_topic: str = ""  # set: subscribe CompressedImage (jpeg, png) instead
    camera_info_topic: str = "camera_info"
    depth_topic: str = ""
    depth_tolerance: float = 0.05     # s between a colour and a depth stamp that pair
    fallback_hfov_deg: float = 60.0   # used until CameraInfo arrives
    skeletons_topic: str = "skeletons"
    annotated_topic: str = ""
    action_topic: str = "action"      # used until an array arrives on actions_topic
    actions_topic: str = "actions"
    action_max_age: float = 2.0       # s between an action's stamp and the image's: older is not drawn
    body_layout: str = "ntu25"
    hand_layout: str = "hand21"
    track_max_age: float = 1.0        # s of re-identification
    best_effort: bool = False


class KeypointsNode(Node):
    def __init__(self, node_name: str = "keypoints", **kwargs):
        super().__init__(node_name, **kwargs)
        self.pipeline, self.worker = None, None  # before anything can fail: destroy_node needs them
        params = declare_dataclass(self, KeypointsParameters)
        self.depth_tolerance = params.depth_tolerance
        self.action_max_age = params.action_max_age
        self.fallback_hfov = params.fallback_hfov_deg
        self.pipeline = KeypointPipeline(KeypointDetector(declare_dataclass(self, DetectorConfig)),
                                         body_layout=params.body_layout, hand_layout=params.hand_layout,
                                         max_age=params.track_max_age)
        self.publisher = self.create_publisher(SkeletonArray, params.skeletons_topic, 10)
        self.annotated = self.create_publisher(Image, params.annotated_topic, 1) if params.annotated_topic else None
        # Reliable by default: best effort lost 2 of 3 640x480 frames at 30 Hz between two
        # processes (measured); best_effort=True matches cameras that only publish best effort.
        image_qos = qos_profile_sensor_data if params.best_effort else 1
        if params.compressed_image_topic:
            self.create_subscription(CompressedImage, params.compressed_image_topic, self._on_image, image_qos)
        else:
            self.create_subscription(Image, params.image_topic, self._on_image, image_qos)
        self.create_subscription(CameraInfo, params.camera_info_topic, self._on_info, 10)
        if params.depth_topic:
            self.create_subscription(Image, params.depth_topic, self._on_depth, image_qos)
        if self.annotated:
            self.create_subscription(InteractionAction, params.action_topic, self._on_action, 10)
            self.create_subscription(InteractionActionArray, params.actions_topic, self._on_actions, 10)

        self._intrinsics: tuple[int, int, Intrinsics] | None = None  # (width, height, K)
        self._depth: Image | None = None
        self._action: InteractionAction | None = None
        self._actions: InteractionActionArray | None = None
        self.processed = 0
        self.worker = NewestWinsWorker(self, self._process, self._on_error)
        self.create_timer(STATS_PERIOD_S, self._log_stats)

    # ------------------------------------------------------------------ callbacks
    def _on_image(self, msg: Image | CompressedImage) -> None:
        self.worker.put(msg)

    def _on_info(self, msg: CameraInfo) -> None:
        if msg.k[0] > 0 and msg.k[4] > 0:
            self._intrinsics = (msg.width, msg.height, Intrinsics.from_k(msg.k))

    def _on_depth(self, msg: Image) -> None:
        self._depth = msg

    def _on_action(self, msg: InteractionAction) -> None:
        self._action = msg

    def _on_actions(self, msg: InteractionActionArray) -> None:
        self._actions = msg

    # ------------------------------------------------------------------ worker
    def _on_error(self, err: Exception) -> None:
        if isinstance(err, ImageError):
            self.get_logger().warning(str(err), throttle_duration_sec=WARN_PERIOD_S)
        else:  # a bad frame must not stop the node
            self.get_logger().error(f"frame skipped: {err}", throttle_duration_sec=WARN_PERIOD_S)

    def _process(self, msg: Image | CompressedImage) -> None:
        if isinstance(msg, CompressedImage):
            rgb = compressed_to_rgb(msg.data)
        else:
            rgb = to_rgb(msg.encoding, msg.height, msg.width, msg.step, msg.data)
        height, width = rgb.shape[:2]
        k = self._camera(width, height)
        skeletons = self.pipeline.process(rgb, stamp_ns(msg.header.stamp) * 1e-9, k,
                                          self._depth_for(msg.header, height, width))
        self.publisher.publish(skeleton_array((skeleton_message(s.id, s.kind, s.layout, s.joints, s.confidence)
                                               for s in skeletons), msg.header))
        self.processed += 1
        if self.annotated is not None:
            self.annotated.publish(self._annotate(rgb, skeletons, k, msg))

    def _camera(self, width: int, height: int) -> Intrinsics:
        if self._intrinsics is None:
            return Intrinsics.guess(width, height, self.fallback_hfov)
        info_w, info_h, k = self._intrinsics
        return k.scaled(width / info_w, height / info_h) if info_w and info_h else k

    def _depth_for(self, header, height: int, width: int) -> np.ndarray | None:
        depth = self._depth
        if depth is None or abs(stamp_ns(depth.header.stamp) - stamp_ns(header.stamp)) * 1e-9 > self.depth_tolerance:
            return None
        try:
            metres = to_metres(depth.encoding, depth.height, depth.width, depth.step, depth.data,
                               bool(depth.is_bigendian))
        except ImageError as err:  # the colour frame still gives skeletons, sized from the intrinsics
            self.get_logger().warning(f"{err}; going on without depth", throttle_duration_sec=WARN_PERIOD_S)
            return None
        if metres.shape != (height, width):
            import cv2
            metres = cv2.resize(metres, (width, height), interpolation=cv2.INTER_NEAREST)
        return metres

    def _annotate(self, rgb: np.ndarray, skeletons, k: Intrinsics, msg) -> Image:
        from ista_ros.keypoints.draw import annotate
        from ista_ros.viz.frame import place_labels

        canvas = annotate(rgb, skeletons, k, self._group_marks(stamp_ns(msg.header.stamp)), place_labels, UNGROUPED)
        out = Image(header=msg.header, height=canvas.shape[0], width=canvas.shape[1],
                    encoding="rgb8", step=canvas.shape[1] * 3)
        out.data = canvas.tobytes()
        return out

    def _group_marks(self, image_ns: int) -> list:
        """The groups to draw on the image stamped ``image_ns``: the latest array's (else the
        latest single action), those within ``action_max_age`` of the image."""
        from ista_ros.keypoints.draw import GroupMark

        actions = self._actions.actions if self._actions is not None else [self._action] if self._action else []
        marks = []
        for action in actions:
            if abs(stamp_ns(action.header.stamp) - image_ns) * 1e-9 > self.action_max_age:
                continue  # stale: the recognizer stopped, or this image is from another time
            group = labels_from(action)[0]
            if group.is_interaction:
                marks.append(GroupMark(group.entity_ids, f"{group.label} {group.confidence:.0%}",
                                       group_colour(group.group_id)))
            else:
                reason = f": {action.reason.replace('_', ' ')}" if action.reason else ""
                marks.append(GroupMark(group.entity_ids, f"no interaction{reason}", UNGROUPED, quiet=True))
        return marks

    def _log_stats(self) -> None:
        self.get_logger().info(
            f"{self.processed} frames processed, {self.worker.replaced} stale frames dropped; "
            f"last frame stages (ms): "
            + ", ".join(f"{k} {v * 1e3:.0f}" for k, v in self.pipeline.timings.items()))

    def destroy_node(self):
        if self.worker is not None:
            self.worker.stop()
        if self.pipeline is not None:
            self.pipeline.close()
        return super().destroy_node()


def main(args=None) -> int:
    return run_node(KeypointsNode, "keypoints", args)


if __name__ == "__main__":
    sys.exit(main())
