"""``main()`` of a node executable: init, build the node, spin, shut down cleanly.

A node whose construction fails with ValueError (a missing or mismatched file, a bad
parameter value) prints one sentence and exits with status 2, no traceback."""
from __future__ import annotations

import sys

import rclpy
import rclpy.executors


def run_node(make_node, name: str, args=None) -> int:
    """``make_node()`` builds the node (a Node class or a factory); ``name`` prefixes errors."""
    rclpy.init(args=args)
    try:
        node = make_node()
    except (ValueError, FileNotFoundError) as err:
        print(f"{name}: error: {err}", file=sys.stderr)
        rclpy.try_shutdown()
        return 2
    try:
        rclpy.spin(node)
    except (KeyboardInterrupt, rclpy.executors.ExternalShutdownException):
        pass
    finally:
        node.destroy_node()
        rclpy.try_shutdown()
    return 0
