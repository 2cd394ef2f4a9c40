"""Recorder node: writes topics to a rosbag2 MCAP bag (rosbags, pure Python), and the bag
helpers the player shares.

Messages are recorded as the serialized bytes that arrived (no conversion), stamped
with their arrival time, like ``ros2 bag record``. A topic's type is taken from the ROS
graph, so topics that appear later are recorded from when they appear.

Parameters: bag (output directory, required), topics (default ["skeletons", "action"]).
"""
from __future__ import annotations

import importlib
import os
import sys
from pathlib import Path

from rclpy.node import Node
from rclpy.serialization import deserialize_message, serialize_message

from ista_ros.errors import ConfigError
from ista_ros.ros.spin import run_node

DISCOVERY_PERIOD_S = 0.5


def message_definitions() -> Path:
    """The directory of ista_ros's .msg files: installed (share/ista_ros/msg) or in the sources."""
    prefixes = [p for p in os.environ.get("AMENT_PREFIX_PATH", "").split(os.pathsep) if p] + [sys.prefix]
    for prefix in prefixes:
        if (Path(prefix) / "share/ista_ros/msg/SkeletonArray.msg").is_file():
            return Path(prefix) / "share/ista_ros/msg"
    return Path(__file__).resolve().parents[2] / "msg"


def typestore():
    """A rosbags type store of the ROS 2 standard messages plus ista_ros's own."""
    from rosbags.typesys import Stores, get_types_from_msg, get_typestore

    # The standard messages of the distribution running (ROS_DISTRO: set by a ROS install's
    # setup.bash, and by the project's venv); the newest definitions for an unknown one.
    store = get_typestore(getattr(Stores, f"ROS2_{os.environ.get('ROS_DISTRO', '').upper()}", Stores.LATEST))
    types = {}
    for path in sorted(message_definitions().glob("*.msg")):
        types.update(get_types_from_msg(path.read_text(), f"ista_ros/msg/{path.stem}"))
    store.register(types)
    return store


def message_class(type_name: str):
    """The rclpy class of a type name such as ``ista_ros/msg/SkeletonArray``."""
    package, _, name = type_name.split("/")
    return getattr(importlib.import_module(f"{package}.msg"), name)


class BagWriter:
    """An MCAP bag being written; ``write(topic, type_name, raw_bytes, time_ns)``."""

    def __init__(self, path):
        from rosbags.rosbag2 import StoragePlugin, Writer

        path = Path(path)
        if path.exists():
            raise ConfigError(f"bag {path} already exists; give a new directory name.")
        self._store = typestore()
        self._writer = Writer(path, version=9, storage_plugin=StoragePlugin.MCAP)
        self._writer.open()
        self._connections = {}

    def write(self, topic: str, type_name: str, raw: bytes, time_ns: int) -> None:
        if topic not in self._connections:
            self._connections[topic] = self._writer.add_connection(topic, type_name, typestore=self._store)
        self._writer.write(self._connections[topic], time_ns, bytes(raw))

    def close(self) -> None:
        self._writer.close()


def write_bag(path, messages) -> None:
    """Write ``(topic, rclpy message, time_ns)`` items to a new MCAP bag."""
    writer = BagWriter(path)
    try:
        for topic, msg, time_ns in messages:
            type_name = type(msg).__module__.split(".")[0] + "/msg/" + type(msg).__name__
            writer.write(topic, type_name, serialize_message(msg), time_ns)
    finally:
        writer.close()


def read_bag(path, type_name: str, topic: str | None = None):
    """Yield ``(time_ns, rclpy message)`` of type ``type_name`` (from ``topic`` if given)."""
    from rosbags.rosbag2 import Reader, ReaderError

    path = Path(path)
    if not path.exists():
        raise ConfigError(f"bag {path} does not exist.")
    cls = message_class(type_name)
    try:
        reader = Reader(path)
        reader.open()
    except (ReaderError, OSError) as err:
        raise ConfigError(f"{path} is not a readable rosbag2 bag ({err}).") from None
    try:
        connections = [c for c in reader.connections if c.msgtype == type_name and topic in (None, c.topic)]
        if not connections:
            found = ", ".join(sorted({f"{c.topic} ({c.msgtype})" for c in reader.connections})) or "nothing"
            raise ConfigError(f"bag {path} has no {type_name} messages{f' on {topic}' if topic else ''}; it holds {found}.")
        for connection, time_ns, raw in reader.messages(connections=connections):
            yield time_ns, deserialize_message(raw, cls)
    finally:
        reader.close()


class RecorderNode(Node):
    def __init__(self, node_name: str = "recorder", bag: str | None = None, topics: list[str] | None = None, **kwargs):
        super().__init__(node_name, **kwargs)
        self.writer = None  # destroy_node runs even when construction fails
        bag = bag or self.declare_parameter("bag", "").value
        if not bag:
            raise ConfigError("no output bag given: set the parameter 'bag' to a new directory.")
        wanted = topics or self.declare_parameter("topics", ["skeletons", "action"]).value
        self.wanted = {self.resolve_topic_name(t) for t in wanted}
        self.writer = BagWriter(bag)
        self.counts: dict[str, int] = {}
        self.create_timer(DISCOVERY_PERIOD_S, self._subscribe_new)
        self.get_logger().info(f"recording {', '.join(sorted(self.wanted))} to {bag}")

    def _subscribe_new(self) -> None:
        for topic, types in self.get_topic_names_and_types():
            if topic in self.wanted and topic not in self.counts:
                self.counts[topic] = 0
                self.create_subscription(message_class(types[0]), topic, self._recorder(topic, types[0]), 100, raw=True)
                self.get_logger().info(f"recording {topic} ({types[0]})")

    def _recorder(self, topic: str, type_name: str):
        def record(raw: bytes) -> None:
            self.writer.write(topic, type_name, raw, self.get_clock().now().nanoseconds)
            self.counts[topic] += 1
        return record

    def destroy_node(self):
        if self.writer is None:
            return super().destroy_node()
        self.writer.close()
        self.get_logger().info("recorded " + (", ".join(f"{n} on {t}" for t, n in self.counts.items()) or "nothing"))
        return super().destroy_node()


def main(args=None) -> int:
    return run_node(RecorderNode, "recorder", args)


if __name__ == "__main__":
    sys.exit(main())
