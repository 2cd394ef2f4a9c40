"""Recorder node: writes topics to a rosbag2 MCAP bag (rosbags, pure Python), and the bag
reading the player and the tools share.

Messages are recorded as the serialized bytes that arrived (no conversion), stamped with
their arrival time, like ``ros2 bag record``. A topic is subscribed once it has a
publisher, with the publishers' QoS (best effort unless every publisher is reliable,
transient local only if every one is), which the bag keeps as their offered QoS. A topic
whose type is not installed here, or has no message definition, is skipped with a warning.

What survives the end of a recording (ista_ros.bags): the bag is closed on SIGINT, SIGTERM
and SIGHUP (a closed terminal or SSH session); every ``FLUSH_PERIOD_S`` (0.5 s) what was
received is written to disk and fsynced, so a SIGKILL or a power cut loses at most that
much; ``ista-ros reindex BAG`` then makes such a bag whole again, and the player reads it
as it is.

Parameters: bag (output directory, required), topics (default ["skeletons", "action"]).
"""
from __future__ import annotations

import importlib
import signal
import sys
from pathlib import Path
from typing import Callable, Iterator

import rclpy
from rclpy.node import Node
from rclpy.qos import DurabilityPolicy, QoSProfile, ReliabilityPolicy
from rclpy.serialization import deserialize_message, serialize_message

from ista_ros.bags import FLUSH_PERIOD_S, MAGIC, METADATA_FILE, BagError, BagWriter, McapScan, mcap_files
from ista_ros.ros.params import declare
from ista_ros.ros.spin import run_node

DISCOVERY_PERIOD_S = 0.5
QUEUE_DEPTH = 100


def message_class(type_name: str):
    """The rclpy class of a type name such as ``ista_ros/msg/SkeletonArray``."""
    package, _, name = type_name.split("/")
    return getattr(importlib.import_module(f"{package}.msg"), name)


def write_bag(path, messages) -> None:
    """Write ``(topic, rclpy message, time_ns)`` items to a new MCAP bag."""
    writer = BagWriter(path)
    try:
        for topic, msg, time_ns in messages:
            type_name = type(msg).__module__.split(".")[0] + "/msg/" + type(msg).__name__
            writer.write(topic, type_name, serialize_message(msg), time_ns)
    finally:
        writer.close()


# ---------------------------------------------------------------------------- reading
class Bag:
    """A bag to read. One its recorder never closed (no metadata.yaml, or an MCAP file
    without its end) is read as far as its messages are whole: ``recovered`` is then True."""

    def __init__(self, path):
        self.path = Path(path)
        if not self.path.exists():
            raise BagError(f"bag {self.path} does not exist.")
        if self.path.is_dir():
            self.recovered = not (self.path / METADATA_FILE).exists() and bool(list(self.path.glob("*.mcap")))
        else:
            self.recovered = self.path.suffix == ".mcap" and not _ends_whole(self.path)

    def messages(self, type_name: str, topic: str | None = None) -> Iterator[tuple[int, object]]:
        """``(recording time ns, rclpy message)`` of type ``type_name`` (from ``topic`` if
        given), streamed in recording order."""
        cls = message_class(type_name)
        raw = self._recovered(type_name, topic) if self.recovered else self._closed(type_name, topic)
        for time_ns, data in raw:
            try:
                msg = deserialize_message(data, cls)
            except RuntimeError as err:  # rclpy's RMWError: bytes that are not such a message
                raise BagError(f"bag {self.path} is damaged: its {type_name} message recorded at {time_ns} ns "
                               f"cannot be read ({err}).") from None
            yield time_ns, msg

    def _closed(self, type_name: str, topic: str | None) -> Iterator[tuple[int, bytes]]:
        from rosbags.rosbag2 import Reader, ReaderError

        try:
            reader = Reader(self.path)
            reader.open()
        except (ReaderError, OSError) as err:
            raise BagError(f"{self.path} is not a readable rosbag2 bag ({err}).") from None
        try:
            connections = [c for c in reader.connections if c.msgtype == type_name and topic in (None, c.topic)]
            if not connections:
                self._missing(type_name, topic, {(c.topic, c.msgtype) for c in reader.connections})
            try:
                for _, time_ns, data in reader.messages(connections=connections):
                    yield time_ns, data
            except ReaderError as err:
                raise BagError(f"bag {self.path} is damaged ({err}); `ista-ros reindex` may repair it.") from None
        finally:
            reader.close()

    def _recovered(self, type_name: str, topic: str | None) -> Iterator[tuple[int, bytes]]:
        files = [self.path] if self.path.is_file() else mcap_files(self.path)
        seen, found = set(), False
        for path in files:
            for channel, time_ns, data in McapScan(path).messages():
                seen.add((channel.topic, channel.type_name))
                if channel.type_name == type_name and topic in (None, channel.topic):
                    found = True
                    yield time_ns, data
        if not found:
            self._missing(type_name, topic, seen)

    def _missing(self, type_name: str, topic: str | None, held: set[tuple[str, str]]) -> None:
        found = ", ".join(sorted(f"{t} ({m})" for t, m in held)) or "nothing"
        raise BagError(f"bag {self.path} has no {type_name} messages{f' on {topic}' if topic else ''}; "
                       f"it holds {found}.")


def _ends_whole(path: Path) -> bool:
    with open(path, "rb") as f:
        f.seek(0, 2)
        if f.tell() < 2 * len(MAGIC):
            return False
        f.seek(-len(MAGIC), 2)
        return f.read() == MAGIC


def read_bag(path, type_name: str, topic: str | None = None) -> Iterator[tuple[int, object]]:
    """Yield ``(recording time ns, rclpy message)`` of type ``type_name`` (from ``topic`` if given)."""
    yield from Bag(path).messages(type_name, topic)


# ---------------------------------------------------------------------------- recording
def subscription_qos(offered: list) -> QoSProfile:
    """The QoS that receives from every publisher, as ``ros2 bag record`` chooses it."""
    reliable = all(p.reliability == ReliabilityPolicy.RELIABLE for p in offered)
    latched = all(p.durability == DurabilityPolicy.TRANSIENT_LOCAL for p in offered)
    return QoSProfile(depth=QUEUE_DEPTH,
                      reliability=ReliabilityPolicy.RELIABLE if reliable else ReliabilityPolicy.BEST_EFFORT,
                      durability=DurabilityPolicy.TRANSIENT_LOCAL if latched else DurabilityPolicy.VOLATILE)


def bag_qos(profile):
    """A publisher's rclpy QoS profile as rosbags writes it into the bag."""
    from rosbags.interfaces import Qos, QosDurability, QosHistory, QosLiveliness, QosReliability, QosTime

    def time(duration):
        return QosTime(*divmod(duration.nanoseconds, 1_000_000_000))

    return Qos(QosHistory(int(profile.history)), profile.depth, QosReliability(int(profile.reliability)),
               QosDurability(int(profile.durability)), time(profile.deadline), time(profile.lifespan),
               QosLiveliness(int(profile.liveliness)), time(profile.liveliness_lease_duration),
               profile.avoid_ros_namespace_conventions)


class RecorderNode(Node):
    def __init__(self, node_name: str = "recorder", bag: str | None = None, topics: list[str] | None = None, **kwargs):
        super().__init__(node_name, **kwargs)
        self.writer = None  # destroy_node runs even when construction fails
        bag = bag or declare(self, "bag", "")
        if not bag:
            raise BagError("no output bag given: set the parameter 'bag' to a new directory.")
        wanted = topics or declare(self, "topics", ["skeletons", "action"])
        self.wanted = {self.resolve_topic_name(t) for t in wanted}
        self.writer = BagWriter(bag)
        self.counts: dict[str, int] = {}
        self.skipped: set[str] = set()
        self.create_timer(DISCOVERY_PERIOD_S, self._subscribe_new)
        self.create_timer(FLUSH_PERIOD_S, self.writer.flush)
        self.get_logger().info(f"recording {', '.join(sorted(self.wanted))} to {bag}")

    def _subscribe_new(self) -> None:
        for topic, types in self.get_topic_names_and_types():
            if topic in self.wanted and topic not in self.counts and topic not in self.skipped:
                publishers = self.get_publishers_info_by_topic(topic)
                if publishers:  # their QoS decides the subscription's
                    self.subscribe(topic, types, [p.qos_profile for p in publishers])

    def subscribe(self, topic: str, types: list[str], offered: list) -> bool:
        """Record ``topic`` (its type: the first of ``types``, from the graph) with a QoS
        that fits the ``offered`` publisher profiles; False, with a warning, when it cannot."""
        type_name = types[0]
        if len(types) > 1:
            self.get_logger().warning(f"{topic} is published with several types ({', '.join(types)}); "
                                      f"recording {type_name} only")
        reason = self._cannot_record(type_name)
        if reason:
            self.get_logger().warning(f"not recording {topic}: {reason}")
            self.skipped.add(topic)
            return False
        qos = subscription_qos(offered)
        self.counts[topic] = 0
        self.create_subscription(message_class(type_name), topic,
                                 self._recorder(topic, type_name, [bag_qos(p) for p in offered]), qos, raw=True)
        self.get_logger().info(f"recording {topic} ({type_name}, {qos.reliability.name.lower()})")
        return True

    def _cannot_record(self, type_name: str) -> str | None:
        try:
            message_class(type_name)
        except (ImportError, AttributeError, ValueError):
            return f"its type {type_name} is not installed here (install its package to record it)"
        if not self.writer.knows(type_name):
            return f"no message definition (.msg) of {type_name} is installed"
        return None

    def _recorder(self, topic: str, type_name: str, offered: list):
        def record(raw: bytes) -> None:
            self.writer.write(topic, type_name, raw, self.get_clock().now().nanoseconds, offered)
            self.counts[topic] += 1
        return record

    def destroy_node(self):
        """Close the bag, once (rclpy may destroy the node again at shutdown)."""
        writer, self.writer = self.writer, None
        if writer is None:
            return super().destroy_node()
        writer.close()
        self.get_logger().info("recorded " + (", ".join(f"{n} on {t}" for t, n in self.counts.items()) or "nothing"))
        return super().destroy_node()


def closing_on_signals(make_node: Callable[[], Node]) -> Callable[[], Node]:
    """``make_node`` whose process ends its spin, and so closes the bag, on SIGINT, SIGTERM
    (rclpy) and SIGHUP. SIGINT and SIGHUP shut the context down instead of raising
    KeyboardInterrupt, which could cut a bag write in half; a timer of the node wakes the
    spin to notice within its period."""
    def make() -> Node:
        for sig in (signal.SIGINT, signal.SIGHUP):
            signal.signal(sig, lambda *_: rclpy.try_shutdown())
        return make_node()
    return make


def main(args=None) -> int:
    return run_node(closing_on_signals(RecorderNode), "recorder", args)


if __name__ == "__main__":
    sys.exit(main())
