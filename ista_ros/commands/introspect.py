"""`ista-ros topics | echo TOPIC | hz TOPIC`: see what the graph does, without the `ros2` CLI."""
from __future__ import annotations

import time

from ista_ros.errors import UserError

DISCOVERY_S = 2.0  # discovery between processes takes up to about 2 s


def add_parser(subparsers) -> None:
    parser = subparsers.add_parser("topics", help="list the topics of the ROS graph and their types")
    parser.set_defaults(func=run_topics)
    parser = subparsers.add_parser("echo", help="print the messages of a topic")
    parser.add_argument("topic")
    parser.add_argument("--count", type=int, default=0, help="stop after this many messages (default: never)")
    parser.set_defaults(func=run_echo)
    parser = subparsers.add_parser("hz", help="print the message rate of a topic every second")
    parser.add_argument("topic")
    parser.add_argument("--window", type=int, default=100, help="messages the rate is computed over (default: 100)")
    parser.set_defaults(func=run_hz)


class Graph:
    """A node for looking at the graph; ``with Graph() as g: ...``."""

    def __enter__(self):
        import rclpy

        rclpy.init()
        self.node = rclpy.create_node("ista_ros_introspect")
        return self

    def __exit__(self, *exc):
        import rclpy
        from rclpy.executors import ExternalShutdownException

        self.node.destroy_node()
        rclpy.try_shutdown()
        return isinstance(exc[1], (KeyboardInterrupt, ExternalShutdownException))  # Ctrl-C, SIGTERM: done

    def spin(self, seconds: float | None = None, until=lambda: False) -> None:
        import rclpy

        deadline = None if seconds is None else time.monotonic() + seconds
        while rclpy.ok() and not until() and (deadline is None or time.monotonic() < deadline):
            rclpy.spin_once(self.node, timeout_sec=0.1)

    def ok(self) -> bool:
        import rclpy

        return rclpy.ok()

    def topic_type(self, topic: str):
        """The message class of ``topic``, waiting for discovery; UserError if absent."""
        from ista_ros.nodes.recorder import message_class

        name = self.node.resolve_topic_name(topic)
        found = {}
        self.spin(DISCOVERY_S * 2, until=lambda: found.update(self.node.get_topic_names_and_types()) or name in found)
        if name not in found:
            raise UserError(f"no topic {name} in the graph (ROS_DOMAIN_ID right?); `ista-ros topics` lists them.")
        return message_class(found[name][0])


def run_topics(args) -> int:
    with Graph() as graph:
        own = {name for name, _ in graph.node.get_topic_names_and_types()}
        graph.spin(DISCOVERY_S * 2, until=lambda: {n for n, _ in graph.node.get_topic_names_and_types()} - own)
        graph.spin(DISCOVERY_S / 2)  # the rest of the graph
        for name, types in sorted(graph.node.get_topic_names_and_types()):
            publishers = graph.node.count_publishers(name)
            subscribers = graph.node.count_subscribers(name)
            print(f"{name} [{', '.join(types)}] {publishers} publisher(s), {subscribers} subscriber(s)")
    return 0


def to_plain(msg):
    """A message as plain dicts and lists (for printing)."""
    if hasattr(msg, "get_fields_and_field_types"):
        return {field: to_plain(getattr(msg, field)) for field in msg.get_fields_and_field_types()}
    if isinstance(msg, (list, tuple)) or type(msg).__name__ in ("array", "ndarray"):
        return [to_plain(v) for v in msg]
    return msg


def run_echo(args) -> int:
    import yaml

    with Graph() as graph:
        count = [0]

        def show(msg):
            count[0] += 1
            text = yaml.safe_dump(to_plain(msg), sort_keys=False, default_flow_style=None, width=120)
            print(text + "---", flush=True)

        graph.node.create_subscription(graph.topic_type(args.topic), args.topic, show, 10)
        graph.spin(until=lambda: args.count and count[0] >= args.count)
    return 0


def run_hz(args) -> int:
    from collections import deque

    import numpy as np

    with Graph() as graph:
        arrivals = deque(maxlen=args.window)
        graph.node.create_subscription(graph.topic_type(args.topic), args.topic,
                                       lambda _: arrivals.append(time.monotonic()), 100, raw=True)
        while graph.ok():
            graph.spin(1.0)
            if len(arrivals) < 2:
                print("no messages yet", flush=True)
                continue
            gaps = np.diff(np.array(arrivals))
            print(f"average rate: {1.0 / gaps.mean():.2f} Hz  min {gaps.min() * 1e3:.1f} ms  "
                  f"max {gaps.max() * 1e3:.1f} ms  std {gaps.std() * 1e3:.1f} ms  window {len(arrivals)}", flush=True)
