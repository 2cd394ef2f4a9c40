"""`ista-ros run`: the live graph (recognizer and, per the YAML, player, keypoints, video
source, listener) in one process, from config/recognize.yaml, the file
launch/recognize.launch.py reads too."""
from __future__ import annotations

import importlib
import os
import sys
from pathlib import Path

import yaml

# Node name -> its class; also the executable names of CMakeLists.txt and the launch file.
NODES = {
    "recognizer": "ista_ros.nodes.recognizer:RecognizerNode",
    "player": "ista_ros.nodes.player:PlayerNode",
    "keypoints": "ista_ros.nodes.keypoints:KeypointsNode",
    "video_source": "ista_ros.nodes.video_source:VideoSourceNode",
    "listener": "ista_ros.nodes.listener:ListenerNode",
}


def default_config() -> Path:
    """config/recognize.yaml of the source tree, else of the installed share/ista_ros."""
    source = Path(__file__).resolve().parents[2] / "config/recognize.yaml"
    prefixes = [p for p in os.environ.get("AMENT_PREFIX_PATH", "").split(os.pathsep) if p] + [sys.prefix]
    candidates = [source] + [Path(p) / "share/ista_ros/config/recognize.yaml" for p in prefixes]
    return next((c for c in candidates if c.is_file()), source)


def load_graph(path, overrides=()) -> dict[str, dict]:
    """The enabled nodes of a parameter file and their parameters, after ``overrides``:
    ``node.key=value`` for one node, ``key=value`` for every node that has the key
    (values are YAML: 3, 0.5, true, [a, b])."""
    path = Path(path)
    if not path.is_file():
        raise ValueError(f"configuration {path} does not exist.")
    values = yaml.safe_load(path.read_text()) or {}
    graph = {}
    for name, section in values.items():
        if name not in NODES:
            raise ValueError(f"{path}: unknown node {name!r}; the nodes are {', '.join(NODES)}.")
        graph[name] = dict((section or {}).get("ros__parameters") or {})
    for override in overrides:
        _apply(graph, override)
    return {name: {k: v for k, v in params.items() if k != "enabled"}
            for name, params in graph.items() if params.get("enabled", False)}


def _apply(graph: dict, override: str) -> None:
    key, sep, text = override.partition("=")
    if not sep or not key:
        raise ValueError(f"--param {override!r} is not key=value or node.key=value.")
    value = yaml.safe_load(text) if text else ""
    node, dot, name = key.rpartition(".")
    if dot:
        if node not in graph:
            raise ValueError(f"--param {override!r}: no node {node!r} in the configuration.")
        graph[node][name] = value
        return
    targets = [params for params in graph.values() if key in params]
    if not targets:
        raise ValueError(f"--param {override!r}: no node has a parameter {key!r}; write node.{key}=... to add one.")
    for params in targets:
        params[key] = value


def add_parser(subparsers) -> None:
    p = subparsers.add_parser("run", help="run the live recognition graph in one process",
                              description=__doc__)
    p.add_argument("--config", type=Path, default=None, help="parameter file (default: config/recognize.yaml)")
    p.add_argument("--param", action="append", default=[], metavar="[NODE.]KEY=VALUE",
                   help="override a parameter, e.g. recognizer.weights=model.pt or player.enabled=true")
    p.set_defaults(func=run)


def run(args) -> int:
    import rclpy
    from rclpy.executors import ExternalShutdownException, MultiThreadedExecutor
    from rclpy.parameter import Parameter

    graph = load_graph(args.config or default_config(), args.param)
    if not graph:
        raise ValueError("no node is enabled in the configuration; set <node>.enabled=true.")
    rclpy.init()
    executor = MultiThreadedExecutor()
    nodes = []
    try:
        for name, params in graph.items():
            module, _, cls = NODES[name].partition(":")
            node_class = getattr(importlib.import_module(module), cls)
            nodes.append(node_class(parameter_overrides=[Parameter(k, value=v) for k, v in params.items()]))
            executor.add_node(nodes[-1])
        print(f"running {', '.join(graph)}; Ctrl-C to stop", flush=True)
        executor.spin()
    except (KeyboardInterrupt, ExternalShutdownException):
        pass
    finally:
        for node in nodes:
            node.destroy_node()
        executor.shutdown()
        rclpy.try_shutdown()
    return 0
