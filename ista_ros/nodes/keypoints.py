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
``annotated_topic`` (off by default): the image with skeletons, ids and the latest
label from ``action_topic`` (ista_ros/InteractionAction).
"""
from __future__ import annotations

import sys
import threading

import numpy as np
from geometry_msgs.msg import Point
from rclpy.node import Node
from rclpy.qos import qos_profile_sensor_data
from sensor_msgs.msg import CameraInfo, CompressedImage, Image

from ista_ros.keypoints.detector import DetectorConfig, KeypointDetector
from ista_ros.keypoints.geometry import Intrinsics
from ista_ros.keypoints.images import ImageError, compressed_to_rgb, to_metres, to_rgb
from ista_ros.keypoints.pipeline import KeypointPipeline
from ista_ros.msg import InteractionAction, Skeleton, SkeletonArray
from ista_ros.nodes.spin import run_node

WARN_PERIOD_S = 5.0
STATS_PERIOD_S = 10.0


def _seconds(stamp) -> float:
    return stamp.sec + stamp.nanosec * 1e-9


class KeypointsNode(Node):
    def __init__(self, node_name: str = "keypoints", **kwargs):
        super().__init__(node_name, **kwargs)
        # Set before anything can fail: destroy_node must cope with a failed start.
        self.pipeline, self._worker = None, None
        self._wake = threading.Condition()
        self._running = True
        p = self.declare_parameter
        image_topic = p("image_topic", "image").value
        compressed_topic = p("compressed_image_topic", "").value
        info_topic = p("camera_info_topic", "camera_info").value
        depth_topic = p("depth_topic", "").value
        self.depth_tolerance = p("depth_tolerance", 0.05).value
        self.fallback_hfov = p("fallback_hfov_deg", 60.0).value  # used until CameraInfo arrives
        skeletons_topic = p("skeletons_topic", "skeletons").value
        annotated_topic = p("annotated_topic", "").value
        action_topic = p("action_topic", "action").value
        detector = KeypointDetector(DetectorConfig(
            num_poses=p("num_poses", 2).value, num_hands=p("num_hands", 2).value,
            hand_model=p("hand_model", "lite").value,
            min_pose_confidence=p("min_pose_confidence", 0.2).value,
            min_hand_confidence=p("min_hand_confidence", 0.3).value,
            concurrent=p("concurrent", True).value))
        self.pipeline = KeypointPipeline(
            detector, body_layout=p("body_layout", "ntu25").value,
            hand_layout=p("hand_layout", "hand21").value, max_age=p("track_max_age", 1.0).value)

        self.publisher = self.create_publisher(SkeletonArray, skeletons_topic, 10)
        self.annotated = (self.create_publisher(Image, annotated_topic, 1)
                          if annotated_topic else None)
        # Reliable by default: best effort loses most large frames between processes
        # (PLATFORM.md); best_effort=True matches cameras that only publish best effort.
        image_qos = qos_profile_sensor_data if p("best_effort", False).value else 1
        if compressed_topic:
            self.create_subscription(CompressedImage, compressed_topic, self._on_image, image_qos)
        else:
            self.create_subscription(Image, image_topic, self._on_image, image_qos)
        self.create_subscription(CameraInfo, info_topic, self._on_info, 10)
        if depth_topic:
            self.create_subscription(Image, depth_topic, self._on_depth, image_qos)
        if self.annotated:
            self.create_subscription(InteractionAction, action_topic, self._on_action, 10)

        self._intrinsics: tuple[int, int, Intrinsics] | None = None  # (width, height, K)
        self._depth: Image | None = None
        self._label = ""
        self._pending: Image | None = None
        self.processed = self.dropped = 0
        self._worker = threading.Thread(target=self._work, name="keypoints", daemon=True)
        self._worker.start()
        self.create_timer(STATS_PERIOD_S, self._log_stats)

    # ------------------------------------------------------------------ callbacks
    def _on_image(self, msg: Image) -> None:
        with self._wake:
            if self._pending is not None:
                self.dropped += 1
            self._pending = msg
            self._wake.notify()

    def _on_info(self, msg: CameraInfo) -> None:
        if msg.k[0] > 0 and msg.k[4] > 0:
            self._intrinsics = (msg.width, msg.height, Intrinsics.from_k(msg.k))

    def _on_depth(self, msg: Image) -> None:
        self._depth = msg

    def _on_action(self, msg) -> None:
        self._label = f"{msg.label} {msg.confidence:.2f}"

    # ------------------------------------------------------------------ worker
    def _work(self) -> None:
        while True:
            with self._wake:
                self._wake.wait_for(lambda: self._pending is not None or not self._running)
                if not self._running:
                    return
                msg, self._pending = self._pending, None
            try:
                self._process(msg)
            except ImageError as err:
                self.get_logger().warning(str(err), throttle_duration_sec=WARN_PERIOD_S)
            except Exception as err:  # a bad frame must not stop the node
                self.get_logger().error(f"frame skipped: {err}", throttle_duration_sec=WARN_PERIOD_S)

    def _process(self, msg: Image | CompressedImage) -> None:
        if isinstance(msg, CompressedImage):
            rgb = compressed_to_rgb(msg.data)
        else:
            rgb = to_rgb(msg.encoding, msg.height, msg.width, msg.step, msg.data)
        height, width = rgb.shape[:2]
        k = self._camera(width, height)
        skeletons = self.pipeline.process(rgb, _seconds(msg.header.stamp), k,
                                          self._depth_for(msg.header, height, width))
        out = SkeletonArray(header=msg.header)
        for s in skeletons:
            out.skeletons.append(Skeleton(
                id=s.id, kind=s.kind, layout=s.layout,
                joints=[Point(x=float(x), y=float(y), z=float(z)) for x, y, z in s.joints],
                confidence=s.confidence.astype(np.float32).tolist()))
        self.publisher.publish(out)
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
        if depth is None or abs(_seconds(depth.header.stamp) - _seconds(header.stamp)) \
                > self.depth_tolerance:
            return None
        metres = to_metres(depth.encoding, depth.height, depth.width, depth.step, depth.data,
                           bool(depth.is_bigendian))
        if metres.shape != (height, width):
            import cv2
            metres = cv2.resize(metres, (width, height), interpolation=cv2.INTER_NEAREST)
        return metres

    def _annotate(self, rgb: np.ndarray, skeletons, k: Intrinsics, msg) -> Image:
        from ista_ros.keypoints.draw import draw_skeletons

        canvas = draw_skeletons(rgb, skeletons, k, self._label)
        out = Image(header=msg.header, height=canvas.shape[0], width=canvas.shape[1],
                    encoding="rgb8", step=canvas.shape[1] * 3)
        out.data = canvas.tobytes()
        return out

    def _log_stats(self) -> None:
        self.get_logger().info(
            f"{self.processed} frames processed, {self.dropped} stale frames dropped; "
            f"last frame stages (ms): "
            + ", ".join(f"{k} {v * 1e3:.0f}" for k, v in self.pipeline.timings.items()))

    def destroy_node(self):
        with self._wake:
            self._running = False
            self._wake.notify()
        if self._worker is not None:
            self._worker.join(timeout=5.0)
        if self.pipeline is not None:
            self.pipeline.close()
        return super().destroy_node()


def main(args=None) -> int:
    return run_node(KeypointsNode, "keypoints", args)


if __name__ == "__main__":
    sys.exit(main())
