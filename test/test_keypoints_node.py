"""The keypoints and video source nodes as real processes, talking over real DDS."""
import array
import os
import random
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from keypoints_photos import BASKETBALL, NO_PERSON, rgb

rclpy = pytest.importorskip("rclpy")
from sensor_msgs.msg import Image  # noqa: E402

from ista_ros.msg import SkeletonArray  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def ros(tmp_path_factory):
    """A private ROS domain for this module, an rclpy context and a helper node."""
    os.environ.setdefault("ROS_DOMAIN_ID", str(random.randint(100, 200)))
    rclpy.init()
    node = rclpy.create_node("keypoints_test")
    yield node
    node.destroy_node()
    rclpy.shutdown()


def _start(module: str, log: Path, *params: str) -> subprocess.Popen:
    args = [sys.executable, "-m", module, "--ros-args"]
    for param in params:
        args += ["-p", param]
    env = {**os.environ, "PYTHONPATH": f"{ROOT}{os.pathsep}{os.environ.get('PYTHONPATH', '')}"}
    return subprocess.Popen(args, stdout=log.open("w"), stderr=subprocess.STDOUT, env=env)


def _stop(process: subprocess.Popen) -> None:
    process.terminate()
    try:
        process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        process.kill()


def _image(frame: np.ndarray, encoding: str, stamp_s: int) -> Image:
    msg = Image(height=frame.shape[0], width=frame.shape[1], encoding=encoding,
                step=frame.shape[1] * (frame.shape[2] if frame.ndim == 3 else 1))
    msg.header.frame_id = "test_camera_optical_frame"
    msg.header.stamp.sec = stamp_s
    msg.data = array.array("B", np.ascontiguousarray(frame).tobytes())
    return msg


def _spin_until(node, condition, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        rclpy.spin_once(node, timeout_sec=0.05)
        if condition():
            return True
    return False


def test_keypoints_node_across_processes(ros, tmp_path):
    log = tmp_path / "keypoints.log"
    process = _start("ista_ros.nodes.keypoints", log, "image_topic:=kp_image",
                     "skeletons_topic:=kp_skeletons")
    received = []
    pub = ros.create_publisher(Image, "kp_image", 1)
    sub = ros.create_subscription(SkeletonArray, "kp_skeletons", received.append, 10)
    try:
        assert _spin_until(ros, lambda: pub.get_subscription_count() > 0
                           and sub.get_publisher_count() > 0, 30), log.read_text()

        def answer_to(frame, encoding, stamp):
            received.clear()
            pub.publish(_image(frame, encoding, stamp))
            _spin_until(ros, lambda: any(m.header.stamp.sec == stamp for m in received), 15)
            return next((m for m in received if m.header.stamp.sec == stamp), None)

        # An unsupported encoding: one clear warning, no output, and the node goes on.
        assert answer_to(np.zeros((48, 64, 2), np.uint8), "yuv422", 7) is None
        assert "image encoding 'yuv422' is not supported" in log.read_text()

        bgr = rgb(BASKETBALL)[..., ::-1]
        for stamp in (100, 101, 102):  # a few frames: VIDEO mode tracking settles
            msg = answer_to(bgr, "bgr8", stamp)
        assert msg is not None, log.read_text()
        assert msg.header.frame_id == "test_camera_optical_frame"
        people = [s for s in msg.skeletons if s.kind == "person"]
        assert len(people) == 2
        assert all(s.layout == "ntu25" and len(s.joints) == 25 and len(s.confidence) == 25
                   for s in people)
        assert len({s.id for s in people}) == 2
        assert all(0.3 < s.joints[0].z < 20 for s in people)  # metres, in front of the camera

        gray = np.ascontiguousarray(rgb(NO_PERSON)[..., 0])
        empty = answer_to(gray, "mono8", 200)
        assert empty is not None and list(empty.skeletons) == []
        assert process.poll() is None
    finally:
        _stop(process)
        ros.destroy_publisher(pub)
        ros.destroy_subscription(sub)


def test_video_source_publishes_a_file_at_its_recorded_rate(ros, tmp_path):
    import cv2

    video = tmp_path / "clip.avi"
    frame = rgb(BASKETBALL)[..., ::-1]
    writer = cv2.VideoWriter(str(video), cv2.VideoWriter_fourcc(*"MJPG"), 20.0,
                             (frame.shape[1], frame.shape[0]))
    for shift in range(0, 40, 4):  # 10 frames, 0.5 s
        writer.write(np.ascontiguousarray(np.roll(frame, shift, axis=1)))
    writer.release()

    received = []
    sub = ros.create_subscription(Image, "vs_image", received.append, 20)
    log = tmp_path / "video.log"
    try:
        # Start after subscribing; the source publishes reliably, depth 1.
        process = _start("ista_ros.nodes.video_source", log, f"source:={video}",
                         "topic:=vs_image", "frame_id:=cam_optical")
        assert _spin_until(ros, lambda: process.poll() is not None and received, 30)
        assert process.wait(timeout=5) == 0, log.read_text()
    finally:
        ros.destroy_subscription(sub)
    assert "end of" in log.read_text()
    assert received and received[0].encoding == "bgr8" and received[0].width == 640
    assert received[0].header.frame_id == "cam_optical"
    stamps = [m.header.stamp.sec + m.header.stamp.nanosec * 1e-9 for m in received]
    gaps = np.diff(stamps)
    assert len(gaps) and np.median(gaps) == pytest.approx(0.05, abs=0.02)  # 20 FPS, real stamps
    assert abs(stamps[-1] - time.time()) < 30


def test_video_source_rejects_a_missing_file(tmp_path):
    log = tmp_path / "bad.log"
    process = _start("ista_ros.nodes.video_source", log, f"source:={tmp_path / 'none.avi'}")
    assert process.wait(timeout=30) == 2
    assert "cannot open video source" in log.read_text()
    assert "Traceback" not in log.read_text()
