"""The live graph: which nodes start, with which parameters, from a ROS 2 parameter file
(config/recognize.yaml) and ``[node.]key=value`` overrides. ``ista-ros run`` (one process)
and launch/recognize.launch.py (a process per node) both read it through ``load_graph``,
so the two accept the same file and the same overrides. Needs neither rclpy nor launch."""
from __future__ import annotations

import os
import re
import sys
from pathlib import Path

import yaml

from ista_ros.errors import UserError

# Node name -> its class; also the executable names of CMakeLists.txt and the launch file.
NODES = {
    "recognizer": "ista_ros.nodes.recognizer:RecognizerNode",
    "player": "ista_ros.nodes.player:PlayerNode",
    "keypoints": "ista_ros.nodes.keypoints:KeypointsNode",
    "video_source": "ista_ros.nodes.video_source:VideoSourceNode",
    "listener": "ista_ros.nodes.listener:ListenerNode",
}
# Where one override ends and the next begins in a single string: before "name=" or "node.name=".
_NEXT_OVERRIDE = re.compile(r"\s+(?=[A-Za-z_][\w.]*=)")


def default_config() -> Path:
    """config/recognize.yaml of the source tree, else of the installed share/ista_ros."""
    source = Path(__file__).resolve().parents[2] / "config/recognize.yaml"
    prefixes = [prefix for prefix in os.environ.get("AMENT_PREFIX_PATH", "").split(os.pathsep) if prefix] + [sys.prefix]
    candidates = [source] + [Path(prefix) / "share/ista_ros/config/recognize.yaml" for prefix in prefixes]
    return next((c for c in candidates if c.is_file()), source)


def split_overrides(text: str) -> list[str]:
    """``"player.axes=kinect player.ids=[a, b] smoothing=0.5"`` -> one override each: a new
    one starts at whitespace followed by ``[node.]key=``, so values need no quoting."""
    text = text.strip()
    return _NEXT_OVERRIDE.split(text) if text else []


def load_graph(path, overrides=()) -> dict[str, dict]:
    """The enabled nodes of a parameter file and their parameters, after ``overrides``:
    ``node.key=value`` for one node, ``key=value`` for every node that has the key
    (values are YAML: 3, 0.5, true, [a, b])."""
    path = Path(path)
    if not path.is_file():
        raise UserError(f"configuration {path} does not exist.")
    values = yaml.safe_load(path.read_text()) or {}
    graph = {}
    for name, section in values.items():
        if name not in NODES:
            raise UserError(f"{path}: unknown node {name!r}; the nodes are {', '.join(NODES)}.")
        graph[name] = dict((section or {}).get("ros__parameters") or {})
    for override in overrides:
        _apply(graph, override)
    return {name: {k: v for k, v in params.items() if k != "enabled"}
            for name, params in graph.items() if params.get("enabled", False)}


def _apply(graph: dict, override: str) -> None:
    key, sep, text = override.partition("=")
    if not sep or not key:
        raise UserError(f"parameter {override!r} is not key=value or node.key=value.")
    try:
        value = yaml.safe_load(text) if text else ""
    except yaml.YAMLError:
        raise UserError(f"parameter {override!r}: the value is not YAML (e.g. 3, 0.5, true, text, [a, b]).") from None
    node, dot, name = key.rpartition(".")
    if dot:
        if node not in graph:
            raise UserError(f"parameter {override!r}: no node {node!r} in the configuration.")
        graph[node][name] = value
        return
    targets = [params for params in graph.values() if key in params]
    if not targets:
        raise UserError(f"parameter {override!r}: no node has a parameter {key!r}; write node.{key}=... to add one.")
    for params in targets:
        params[key] = value
