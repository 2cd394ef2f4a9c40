"""The keypoints and video source nodes as real processes, talking over real DDS."""
import array
import os
import time
from pathlib import Path

import numpy as np
import pytest

from keypoints_photos import BASKETBALL, NO_PERSON, rgb
from test_keypoints_annotations import label_boxes

rclpy = pytest.importorskip("rclpy")
from sensor_msgs.msg import Image  # noqa: E402

from ista_ros.keypoints.geometry import Intrinsics, project  # noqa: E402
from ista_ros.msg import InteractionAction, InteractionActionArray, SkeletonArray  # noqa: E402
from ista_ros.viz.colours import group_colour  # noqa: E402

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


def _action(group_id: str, entity_ids, label: str, stamp_s: int) -> InteractionAction:
    action = InteractionAction(group_id=group_id, entity_ids=list(entity_ids), label=label, class_id=0,
                               confidence=0.8)
    action.header.stamp.sec = stamp_s
    return action


def test_annotated_image_labels_each_group_above_its_people(ros, spawn):
    child = _start(spawn, "ista_ros.nodes.keypoints", "image_topic:=ka_image", "skeletons_topic:=ka_skeletons",
                   "annotated_topic:=ka_annotated", "action_topic:=ka_action", "actions_topic:=ka_actions")
    skeletons, annotated = [], []
    pub = ros.node.create_publisher(Image, "ka_image", 1)
    action_pub = ros.node.create_publisher(InteractionAction, "ka_action", 10)
    actions_pub = ros.node.create_publisher(InteractionActionArray, "ka_actions", 10)
    ros.node.create_subscription(SkeletonArray, "ka_skeletons", skeletons.append, 10)
    sub = ros.node.create_subscription(Image, "ka_annotated", annotated.append, 10)
    assert ros.spin_until(lambda: min(pub.get_subscription_count(), action_pub.get_subscription_count(),
                                      actions_pub.get_subscription_count(), sub.get_publisher_count()) > 0,
                          30), child.output()
    bgr = rgb(BASKETBALL)[..., ::-1]

    def annotated_at(stamp: int) -> np.ndarray:
        ros.spin_for(0.5)  # the actions reach the node before the image
        pub.publish(_image(bgr, "bgr8", stamp))
        assert ros.spin_until(lambda: any(m.header.stamp.sec == stamp for m in annotated), 15), child.output()
        msg = next(m for m in annotated if m.header.stamp.sec == stamp)
        return np.frombuffer(bytes(msg.data), np.uint8).reshape(msg.height, msg.width, 3)

    for stamp in (100, 101, 102):  # tracking settles
        annotated_at(stamp)
    people = [s for s in skeletons[-1].skeletons if s.kind == "person"]
    assert len(people) == 2, child.output()
    ids = [s.id for s in people]
    k = Intrinsics.guess(640, 480, 60.0)  # the node's guess without CameraInfo
    pixels = np.concatenate([project(np.array([(p.x, p.y, p.z) for p in s.joints]), k)[np.array(s.confidence) > 0]
                             for s in people])
    (left, heads), right = pixels.min(axis=0), pixels[:, 0].max()

    def above_the_people(box) -> bool:
        return box[3] <= heads + 1 and left <= (box[0] + box[2]) / 2 <= right

    # No array yet: the single best action is drawn above the people it names.
    action_pub.publish(_action("solo", ids, "handshake", 103))
    [(colour, box)] = label_boxes(annotated_at(103))
    assert colour == group_colour("solo") and above_the_people(box)

    # The array wins from then on: its group in its colour, the single action no more.
    actions_pub.publish(InteractionActionArray(actions=[_action("g2", ids, "hug", 104)]))
    [(colour, box)] = label_boxes(annotated_at(104))
    assert colour == group_colour("g2") and above_the_people(box)

    # Six seconds later the recognizer has said nothing new: no label.
    assert label_boxes(annotated_at(110)) == []
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
