"""Listener node: prints every recognised interaction as one line: the best group's
(ista_ros/InteractionAction on ``topic``) and, when ``actions_topic`` is set, every group's
(ista_ros/InteractionActionArray), each line led by its group id.

Parameters: the fields of ``ListenerParameters``. Loads no torch (a test holds it): it starts
in a fraction of a second anywhere."""
from __future__ import annotations

import sys
from dataclasses import dataclass

from rclpy.node import Node

from ista_ros.msg import InteractionAction, InteractionActionArray
from ista_ros.ros.messages import stamp_ns
from ista_ros.ros.params import declare_dataclass
from ista_ros.ros.spin import run_node


@dataclass
class ListenerParameters:
    topic: str = "action"        # the best group; "": off
    actions_topic: str = ""      # every group (e.g. "actions"); "": off
    min_confidence: float = 0.0  # print only actions at least this confident


def describe(msg: InteractionAction) -> str:
    """``t=12.345s (window 2.97s) wave at 0.93 [person_1, person_2]``, plus a padding note;
    "no interaction" says why: ``none 0.41 (low_confidence) [...]``."""
    end, start = stamp_ns(msg.header.stamp), stamp_ns(msg.window_start)
    ids = ", ".join(i or "-" for i in msg.entity_ids)
    why = f" ({msg.reason})" if msg.class_id == InteractionAction.NO_INTERACTION and msg.reason else ""
    note = f" (padded: {msg.num_entities_observed} of {len(msg.entity_ids)} entities seen)" if msg.padded else ""
    return (f"t={end / 1e9:.3f}s (window {(end - start) / 1e9:.2f}s) {msg.label} {msg.confidence:.2f}{why} "
            f"[{ids}]{note}")


class ListenerNode(Node):
    def __init__(self, node_name: str = "listener", **kwargs):
        super().__init__(node_name, **kwargs)
        params = declare_dataclass(self, ListenerParameters)
        self.min_confidence = params.min_confidence
        if params.topic:
            self.create_subscription(InteractionAction, params.topic, self._on_action, 10)
        if params.actions_topic:
            self.create_subscription(InteractionActionArray, params.actions_topic, self._on_actions, 10)

    def _on_action(self, msg: InteractionAction) -> None:
        if msg.confidence >= self.min_confidence:
            print(describe(msg), flush=True)

    def _on_actions(self, msg: InteractionActionArray) -> None:
        for action in msg.actions:
            if action.confidence >= self.min_confidence:
                print(f"group {action.group_id}: {describe(action)}", flush=True)


def main(args=None) -> int:
    return run_node(ListenerNode, "listener", args)


if __name__ == "__main__":
    sys.exit(main())
