"""Listener node: prints every recognised interaction (ista_ros/InteractionAction) as one line.

Parameters: topic (default action), min_confidence (default 0: print all)."""
from __future__ import annotations

import sys

from rclpy.node import Node

from ista_ros.msg import InteractionAction
from ista_ros.nodes.recognizer import declare, stamp_ns
from ista_ros.nodes.spin import run_node


def describe(msg: InteractionAction) -> str:
    """``t=12.345s (window 2.97s) wave at 0.93 [person_1, person_2]``, plus a padding note."""
    end, start = stamp_ns(msg.header.stamp), stamp_ns(msg.window_start)
    ids = ", ".join(i or "-" for i in msg.entity_ids)
    note = f" (padded: {msg.num_entities_observed} of {len(msg.entity_ids)} entities seen)" if msg.padded else ""
    return f"t={end / 1e9:.3f}s (window {(end - start) / 1e9:.2f}s) {msg.label} {msg.confidence:.2f} [{ids}]{note}"


class ListenerNode(Node):
    def __init__(self, node_name: str = "listener", **kwargs):
        super().__init__(node_name, **kwargs)
        self.min_confidence = declare(self, "min_confidence", 0.0)
        self.create_subscription(InteractionAction, declare(self, "topic", "action"), self._on_action, 10)

    def _on_action(self, msg: InteractionAction) -> None:
        if msg.confidence >= self.min_confidence:
            print(describe(msg), flush=True)


def main(args=None) -> int:
    return run_node(ListenerNode, "listener", args)


if __name__ == "__main__":
    sys.exit(main())
