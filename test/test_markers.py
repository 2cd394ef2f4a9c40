"""RViz / Foxglove markers of the recognised groups, and messages turned into pictures'
inputs. The cross-process test runs this file as a script: the child publishes the
markers, the test process subscribes."""
from __future__ import annotations

import sys

import numpy as np
import pytest

from ista_ros.core.layouts import get_layout
from ista_ros.viz.scene import EntityPose, GroupLabel

FRAME = "camera_optical_frame"
BONES = len(get_layout("ntu25").bones)


def standing(x: float, depth: float = 3.0) -> np.ndarray:
    """(25, 3) joints of someone upright at ``x`` in the optical frame (y down), head at y = -0.8."""
    joints = np.zeros((25, 3))
    joints[:, 0] = x + np.linspace(-0.2, 0.2, 25)
    joints[:, 1] = np.linspace(0.9, -0.8, 25)
    joints[:, 2] = depth
    return joints


def scene():
    """Two groups in view, one with a padded slot, one whose members are gone, one person alone."""
    entities = [EntityPose("p0", standing(-1.0)), EntityPose("p1", standing(-0.4)),
                EntityPose("p2", standing(1.0)), EntityPose("loner", standing(3.0))]
    groups = [GroupLabel("p0+p1", ("p0", "p1"), "hug", 0.87),
              GroupLabel("p2", ("p2", ""), "none", 0.41),
              GroupLabel("gone+left", ("gone", "left"), "wave", 0.9)]
    return entities, groups


def header():
    from builtin_interfaces.msg import Time
    from std_msgs.msg import Header

    return Header(stamp=Time(sec=1_700_000_000, nanosec=5), frame_id=FRAME)


def build():
    from ista_ros.ros.markers import action_markers

    return action_markers(header(), *scene(), lifetime_s=0.75)


def test_one_line_list_and_one_text_per_group_in_view():
    from visualization_msgs.msg import Marker

    markers = build().markers
    assert [(m.ns, m.type) for m in markers] == [("ista_ros/skeletons", Marker.LINE_LIST),
                                                ("ista_ros/labels", Marker.TEXT_VIEW_FACING)] * 2
    assert {m.header.frame_id for m in markers} == {FRAME}
    assert all(m.header.stamp.sec == 1_700_000_000 and m.header.stamp.nanosec == 5 for m in markers)
    assert all(m.action == Marker.ADD and m.pose.orientation.w == 1.0 for m in markers)
    assert all((m.lifetime.sec, m.lifetime.nanosec) == (0, 750_000_000) for m in markers)
    pair_lines, pair_text, alone_lines, alone_text = markers
    assert len(pair_lines.points) == 2 * 2 * BONES  # both ends of every bone of both members
    assert len(alone_lines.points) == 2 * BONES  # the padded slot adds nothing
    assert pair_text.text == "hug 87%" and alone_text.text == "no interaction"
    assert pair_lines.scale.x > 0 and pair_text.scale.z > 0


def test_labels_float_above_their_group():
    pair_text = build().markers[1]
    assert pair_text.pose.position.y < -0.8  # optical frame: up is -y; the heads are at -0.8
    assert -1.0 < pair_text.pose.position.x < -0.4  # between the pair
    assert pair_text.pose.position.z == pytest.approx(3.0)


def test_in_a_body_frame_labels_go_up_the_z_axis():
    from std_msgs.msg import Header

    from ista_ros.core.axes import convert_axes
    from ista_ros.ros.markers import action_markers

    body = [EntityPose("p0", convert_axes(standing(0.0), "optical", "body"))]  # x forward, y left, z up
    markers = action_markers(Header(frame_id="base_link"), body, [GroupLabel("p0", ("p0",), "wave", 0.5)])
    assert markers.markers[1].pose.position.z > 0.8


def test_each_group_keeps_its_colour_and_marker_id():
    from ista_ros.ros.markers import marker_id
    from ista_ros.viz.colours import group_colour

    first, again = build().markers, build().markers
    pair, alone = first[0], first[2]
    assert (pair.id, alone.id) == (again[0].id, again[2].id) == (marker_id("p0+p1"), marker_id("p2"))
    assert pair.id != alone.id
    assert first[1].id == pair.id  # text and lines of one group replace their own last version
    expected = np.array(group_colour("p0+p1")) / 255
    assert np.allclose([pair.color.r, pair.color.g, pair.color.b, pair.color.a], [*expected, 1.0])


def test_joints_not_located_draw_no_bones():
    from ista_ros.ros.markers import action_markers

    joints = standing(0.0)
    joints[3] = 0.0  # head not located
    markers = action_markers(header(), [EntityPose("p0", joints)], [GroupLabel("p0", ("p0",), "wave", 0.5)])
    assert len(markers.markers[0].points) == 2 * (BONES - 1)  # the neck-head bone is gone


def test_delete_all_clears_what_an_earlier_run_left():
    from visualization_msgs.msg import Marker

    from ista_ros.ros.markers import delete_all_markers

    (marker,) = delete_all_markers(header()).markers
    assert marker.action == Marker.DELETEALL and marker.header.frame_id == FRAME
    assert delete_all_markers().markers[0].action == Marker.DELETEALL


def test_messages_become_the_pictures_inputs():
    from geometry_msgs.msg import Point

    from ista_ros.msg import InteractionAction, InteractionActionArray, Skeleton, SkeletonArray
    from ista_ros.ros.markers import labels_from, poses_from

    skeletons = SkeletonArray(skeletons=[Skeleton(id="p0", layout="hand21", joints=[Point(x=1.0, y=2.0, z=3.0)] * 21,
                                                  confidence=[0.5] * 21)])
    (pose,) = poses_from(skeletons)
    assert pose.entity_id == "p0" and pose.layout == "hand21" and pose.joints.shape == (21, 3)
    assert pose.joints[0].tolist() == [1.0, 2.0, 3.0] and pose.confidence.tolist() == [0.5] * 21
    assert poses_from(SkeletonArray(skeletons=[Skeleton(id="p1", joints=[Point()] * 25)]))[0].confidence is None

    hug = InteractionAction(label="hug", class_id=2, confidence=0.75, entity_ids=["p0", ""], group_id="p0")
    nothing = InteractionAction(label="none", class_id=InteractionAction.NO_INTERACTION, confidence=0.5,
                                entity_ids=["p3", "p2"])  # from a recognizer before groups: no group_id
    labels = labels_from(InteractionActionArray(actions=[hug, nothing]))
    assert labels == [GroupLabel("p0", ("p0",), "hug", 0.75), GroupLabel("p2+p3", ("p3", "p2"), "none", 0.5)]
    assert labels_from(hug) == labels[:1]
    assert not labels[1].is_interaction


def test_markers_reach_a_subscriber_in_another_process(spawn, ros):
    from rclpy.qos import DurabilityPolicy, QoSProfile, ReliabilityPolicy
    from visualization_msgs.msg import Marker, MarkerArray

    publisher = spawn(__file__, "/test_markers/action_markers")
    received = []
    qos = QoSProfile(depth=1, reliability=ReliabilityPolicy.RELIABLE, durability=DurabilityPolicy.TRANSIENT_LOCAL)
    ros.node.create_subscription(MarkerArray, "/test_markers/action_markers", received.append, qos)
    assert ros.spin_until(lambda: received, timeout=30), f"no markers within 30 s:\n{publisher.output()}"
    markers = received[0].markers
    assert {m.header.frame_id for m in markers} == {FRAME}
    texts = [m for m in markers if m.type == Marker.TEXT_VIEW_FACING]
    lines = [m for m in markers if m.type == Marker.LINE_LIST]
    assert [t.text for t in texts] == ["hug 87%", "no interaction"]  # one text per group in view
    assert [len(m.points) for m in lines] == [4 * BONES, 2 * BONES]
    code, output = publisher.stop()
    assert code == 0, output


def publish(topic: str) -> None:
    """Child process: publish the scene's markers once a subscriber matched, spin until SIGINT."""
    from test_messages import publish_once

    publish_once("marker_publisher", build(), topic)


if __name__ == "__main__":
    publish(sys.argv[1])
