"""The keypoints and video source nodes as real processes, talking over real DDS."""
import array
import os
import time
from pathlib import Path

import numpy as np
import pytest

from keypoints_photos import BASKETBALL, NO_PERSON, rgb

rclpy = pytest.importorskip("rclpy")
from sensor_msgs.msg import Image  # noqa: E402

from ista_ros.msg import SkeletonArray  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]


def _start(spawn, module: str, *params: str):
    """``python -m module --ros-args -p ...`` in this run's ROS domain (conftest)."""
    args = ["-m", module, "--ros-args"]
    for param in params:
        args += ["-p", param]
    return spawn(*args, env={"PYTHONPATH": f"{ROOT}{os.pathsep}{os.environ.get('PYTHONPATH', '')}"})


def _image(frame: np.ndarray, encoding: str, stamp_s: int) -> Image:
    msg = Image(height=frame.shape[0], width=frame.shape[1], encoding=encoding,
                step=frame.shape[1] * (frame.shape[2] if frame.ndim == 3 else 1))
    msg.header.frame_id = "test_camera_optical_frame"
    msg.header.stamp.sec = stamp_s
    msg.data = array.array("B", np.ascontiguousarray(frame).tobytes())
    return msg


def test_keypoints_node_across_processes(ros, spawn):
    child = _start(spawn, "ista_ros.nodes.keypoints", "image_topic:=kp_image",
                   "skeletons_topic:=kp_skeletons", "depth_topic:=kp_depth",
                   "annotated_topic:=kp_annotated")
    received, annotated = [], []
    pub = ros.node.create_publisher(Image, "kp_image", 1)
    depth_pub = ros.node.create_publisher(Image, "kp_depth", 1)
    sub = ros.node.create_subscription(SkeletonArray, "kp_skeletons", received.append, 10)
    ros.node.create_subscription(Image, "kp_annotated", annotated.append, 10)
    assert ros.spin_until(lambda: pub.get_subscription_count() > 0
                          and depth_pub.get_subscription_count() > 0
                          and sub.get_publisher_count() > 0, 30), child.output()

    def answer_to(frame, encoding, stamp):
        received.clear()
        pub.publish(_image(frame, encoding, stamp))
        ros.spin_until(lambda: any(m.header.stamp.sec == stamp for m in received), 15)
        return next((m for m in received if m.header.stamp.sec == stamp), None)

    # An unsupported encoding: one clear warning, no output, and the node goes on.
    pub.publish(_image(np.zeros((48, 64, 2), np.uint8), "yuv422", 7))
    assert child.wait_for_output("image encoding 'yuv422' is not supported", 15)
    ros.spin_for(0.2)
    assert not any(m.header.stamp.sec == 7 for m in received)

    bgr = rgb(BASKETBALL)[..., ::-1]
    for stamp in (100, 101, 102):  # a few frames: VIDEO mode tracking settles
        msg = answer_to(bgr, "bgr8", stamp)
    assert msg is not None, child.output()
    assert msg.header.frame_id == "test_camera_optical_frame"
    people = [s for s in msg.skeletons if s.kind == "person"]
    assert len(people) == 2
    assert all(s.layout == "ntu25" and len(s.joints) == 25 and len(s.confidence) == 25
               for s in people)
    assert len({s.id for s in people}) == 2
    assert all(0.3 < s.joints[0].z < 20 for s in people)  # metres, in front of the camera
    assert annotated and annotated[-1].encoding == "rgb8" and annotated[-1].width == 640

    # A depth image with the same stamp: a wall 2.5 m away; visible joints sit on it.
    depth = np.full((480, 640), 2.5, np.float32)
    depth_msg = _image(depth.view(np.uint8).reshape(480, 640, 4), "32FC1", 103)
    depth_pub.publish(depth_msg)
    ros.spin_for(0.5)
    with_depth = answer_to(bgr, "bgr8", 103)
    z = [p.z for s in with_depth.skeletons if s.kind == "person" for p in s.joints]
    assert np.median(z) == pytest.approx(2.5, abs=0.01)

    # An unreadable depth image: one warning, and the colour frame still gives skeletons.
    depth_pub.publish(_image(np.zeros((480, 640, 2), np.uint8), "yuv422", 104))
    ros.spin_for(0.5)
    without_depth = answer_to(bgr, "bgr8", 104)
    assert without_depth is not None and any(s.kind == "person" for s in without_depth.skeletons), child.output()
    assert child.wait_for_output("going on without depth", 5)

    gray = np.ascontiguousarray(rgb(NO_PERSON)[..., 0])
    empty = answer_to(gray, "mono8", 200)
    assert empty is not None and list(empty.skeletons) == []
    assert child.running()


def test_video_source_publishes_a_file_at_its_recorded_rate(ros, spawn, tmp_path):
    import cv2

    video = tmp_path / "clip.avi"
    frame = rgb(BASKETBALL)[..., ::-1]
    writer = cv2.VideoWriter(str(video), cv2.VideoWriter_fourcc(*"MJPG"), 20.0,
                             (frame.shape[1], frame.shape[0]))
    for shift in range(0, 40, 4):  # 10 frames, 0.5 s
        writer.write(np.ascontiguousarray(np.roll(frame, shift, axis=1)))
    writer.release()

    received = []
    ros.node.create_subscription(Image, "vs_image", received.append, 20)
    child = _start(spawn, "ista_ros.nodes.video_source", f"source:={video}",
                   "topic:=vs_image", "frame_id:=cam_optical")
    assert ros.spin_until(lambda: not child.running() and received, 30), child.output()
    assert child.process.returncode == 0, child.output()
    assert "end of" in child.output()
    assert received and received[0].encoding == "bgr8" and received[0].width == 640
    assert received[0].header.frame_id == "cam_optical"
    stamps = [m.header.stamp.sec + m.header.stamp.nanosec * 1e-9 for m in received]
    gaps = np.diff(stamps)
    assert len(gaps) and np.median(gaps) == pytest.approx(0.05, abs=0.02)  # 20 FPS, real stamps
    assert abs(stamps[-1] - time.time()) < 30


def test_video_source_rejects_a_missing_file(spawn, tmp_path):
    child = _start(spawn, "ista_ros.nodes.video_source", f"source:={tmp_path / 'none.avi'}")
    assert child.process.wait(timeout=30) == 2
    assert "cannot open video source" in child.output()
    assert "Traceback" not in child.output()


def test_keypoints_node_rejects_a_bad_parameter_in_one_sentence(spawn):
    child = _start(spawn, "ista_ros.nodes.keypoints", "body_layout:=coco17")
    assert child.process.wait(timeout=60) == 2
    assert "keypoints: error: unknown joint layout 'coco17'" in child.output()
    assert "Traceback" not in child.output()
