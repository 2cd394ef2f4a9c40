"""Moved to ista_ros.ros.spin; this name stays only until commands/play.py and
commands/record.py import run_node from there."""
from ista_ros.ros.spin import run_node  # noqa: F401
