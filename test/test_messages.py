"""The generated messages travel between two processes with every field intact.

A child process (this file run as a script) publishes a fully populated sample of each
message type; the test process subscribes and compares every field.
"""
from __future__ import annotations

import sys

import pytest

MESSAGE_TYPES = ["Skeleton", "SkeletonArray", "InteractionAction", "InteractionActionArray"]


def latched_qos():
    """Reliable + transient local: a late subscriber still gets the one sample."""
    from rclpy.qos import DurabilityPolicy, QoSProfile, ReliabilityPolicy

    return QoSProfile(depth=1, reliability=ReliabilityPolicy.RELIABLE,
                      durability=DurabilityPolicy.TRANSIENT_LOCAL)


def make_sample(type_name: str):
    """A message of `type_name` with no field left at its default (floats exact in float32)."""
    from builtin_interfaces.msg import Time
    from geometry_msgs.msg import Point
    from std_msgs.msg import Header

    from ista_ros.msg import InteractionAction, InteractionActionArray, Skeleton, SkeletonArray

    def skeleton(index: int) -> Skeleton:
        return Skeleton(
            id=f"person_{index}", kind="person", layout="ntu25",
            joints=[Point(x=0.5 * j + index, y=-0.25 * j, z=1.5) for j in range(25)],
            confidence=[j / 32 for j in range(25)])

    header = Header(stamp=Time(sec=1_700_000_000, nanosec=123_456_789), frame_id="camera_link")
    if type_name == "Skeleton":
        return skeleton(1)
    if type_name == "SkeletonArray":
        return SkeletonArray(header=header, skeletons=[skeleton(0), skeleton(1)])
    hug = InteractionAction(
        header=header, window_start=Time(sec=1_699_999_996, nanosec=5),
        label="hug", class_id=2, confidence=0.75, scores=[0.125, 0.125, 0.75],
        class_names=["handshake", "push", "hug"], entity_ids=["person_0", ""],
        num_entities_observed=1, padded=True, group_id="person_0", reason="none_class")
    if type_name == "InteractionAction":
        return hug
    assert type_name == "InteractionActionArray"
    nothing = InteractionAction(
        header=header, window_start=Time(sec=1_699_999_990), label=InteractionAction.NO_INTERACTION_LABEL,
        class_id=InteractionAction.NO_INTERACTION, confidence=0.5, scores=[0.5, 0.25, 0.25],
        class_names=["handshake", "push", "hug"], entity_ids=["person_2", "person_3"],
        num_entities_observed=2, group_id="person_2+person_3", reason=InteractionAction.REASON_LOW_CONFIDENCE)
    return InteractionActionArray(header=header, actions=[hug, nothing])


def as_dict(value):
    """Nested plain Python values of a message, for readable comparisons."""
    if hasattr(value, "get_fields_and_field_types"):
        return {name: as_dict(getattr(value, name)) for name in value.get_fields_and_field_types()}
    if isinstance(value, str):
        return value
    try:
        return [as_dict(item) for item in value]
    except TypeError:
        return value


def publish_sample(type_name: str, topic: str) -> None:
    """Child process: publish one sample once a subscriber matched, then spin until SIGINT."""
    publish_once("message_sample_publisher", make_sample(type_name), topic)


def publish_once(node_name: str, msg, topic: str) -> None:
    """Child process: publish ``msg`` (latched) once a subscriber matched, then spin until SIGINT."""
    import rclpy
    from rclpy.executors import ExternalShutdownException

    rclpy.init()
    node = rclpy.create_node(node_name)
    publisher = node.create_publisher(type(msg), topic, latched_qos())
    try:
        while publisher.get_subscription_count() == 0:
            rclpy.spin_once(node, timeout_sec=0.05)
        publisher.publish(msg)
        print("published", flush=True)
        rclpy.spin(node)
    except (KeyboardInterrupt, ExternalShutdownException):
        pass
    finally:
        node.destroy_node()
        rclpy.try_shutdown()


@pytest.mark.parametrize("type_name", MESSAGE_TYPES)
def test_sample_sets_every_field(type_name):
    """Guards the round trip below: a field left at its default would go unchecked."""
    sample = as_dict(make_sample(type_name))
    default = as_dict(type(make_sample(type_name))())
    assert [name for name in sample if sample[name] == default[name]] == []


@pytest.mark.parametrize("type_name", MESSAGE_TYPES)
def test_message_round_trip_between_processes(type_name, spawn, ros):
    topic = f"/test_messages/{type_name.lower()}"
    publisher = spawn(__file__, type_name, topic)
    received = []
    sample = make_sample(type_name)
    ros.node.create_subscription(type(sample), topic, received.append, latched_qos())

    assert ros.spin_until(lambda: received, timeout=30), (
        f"no {type_name} arrived within 30 s; publisher output:\n{publisher.output()}")
    assert as_dict(received[0]) == as_dict(sample)
    assert type(received[0]) is type(sample)
    code, output = publisher.stop()
    assert code == 0, output


if __name__ == "__main__":
    publish_sample(*sys.argv[1:3])
