"""`ista-ros run`: the live graph (recognizer and, per the YAML, player, keypoints, video
source, listener) in one process, from config/recognize.yaml, the file
launch/recognize.launch.py reads too."""
from __future__ import annotations

import importlib
from pathlib import Path

from ista_ros.errors import UserError
from ista_ros.ros.graph import NODES, default_config, load_graph


def add_parser(subparsers) -> None:
    parser = subparsers.add_parser("run", help="run the live recognition graph in one process", description=__doc__)
    parser.add_argument("--config", type=Path, default=None, help="parameter file (default: config/recognize.yaml)")
    parser.add_argument("--param", action="append", default=[], metavar="[NODE.]KEY=VALUE",
                        help="override a parameter, e.g. recognizer.weights=model.pt or player.enabled=true")
    parser.set_defaults(func=run)


def run(args) -> int:
    from ista_ros.ros.spin import spin_nodes

    graph = load_graph(args.config or default_config(), args.param)
    if not graph:
        raise UserError("no node is enabled in the configuration; set <node>.enabled=true.")
    factories = [_factory(name, params) for name, params in graph.items()]
    return spin_nodes(factories, on_ready=lambda _: print(f"running {', '.join(graph)}; Ctrl-C to stop", flush=True))


def _factory(name: str, params: dict):
    """Builds node ``name`` with ``params``; a parameter the node does not have is a
    UserError (a typo would otherwise be ignored without a word)."""
    def make_node():
        from rclpy.parameter import Parameter

        module, _, class_name = NODES[name].partition(":")
        node_class = getattr(importlib.import_module(module), class_name)
        try:
            overrides = [Parameter(k, value=v) for k, v in params.items()]
        except TypeError:  # a mapping, or a list mixing types: nothing a ROS parameter holds
            raise UserError(f"{name}: a parameter value is neither a number, a string, true/false nor a list of one "
                            f"of them: {params}.") from None
        node = node_class(parameter_overrides=overrides)
        unknown = sorted(k for k in params if not node.has_parameter(k))
        if unknown:
            node.destroy_node()
            raise UserError(f"{name} has no parameter {', '.join(map(repr, unknown))}; its parameters are "
                            f"{', '.join(sorted(node.get_parameters_by_prefix('')))}.")
        return node
    return make_node
