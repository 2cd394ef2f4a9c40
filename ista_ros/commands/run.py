"""`ista-ros run`: the live graph (recognizer and, per the YAML, player, keypoints, video
source, listener) in one process, from config/recognize.yaml, the file
launch/recognize.launch.py reads too. It runs until Ctrl-C, also after the player has
played its file; when playback fails, every node is stopped and the command exits with
the player's status (2: a damaged file, 1: a bug) and one sentence."""
from __future__ import annotations

import importlib
import sys
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
    from rclpy.task import Future

    from ista_ros.nodes.player import failure_status
    from ista_ros.ros.spin import spin_nodes

    graph = load_graph(args.config or default_config(), args.param)
    if not graph:
        raise UserError("no node is enabled in the configuration; set <node>.enabled=true.")
    playback_failed = Future()  # done, with the error, from the player's thread
    factories = [_factory(name, params, **({"on_failure": playback_failed.set_result} if name == "player" else {}))
                 for name, params in graph.items()]
    status = spin_nodes(factories, on_ready=lambda _: print(f"running {', '.join(graph)}; Ctrl-C to stop", flush=True),
                        until=playback_failed)
    if not playback_failed.done():
        return status
    failure = playback_failed.result()
    print(f"ista-ros run: error: the player stopped: {str(failure).rstrip('.')}; stopped {', '.join(graph)}.",
          file=sys.stderr)
    return failure_status(failure)


def _factory(name: str, params: dict, **node_kwargs):
    """Builds node ``name`` with ``params`` (and ``node_kwargs``); a parameter the node does
    not have is a UserError (a typo would otherwise be ignored without a word)."""
    def make_node():
        from rclpy.parameter import Parameter

        module, _, class_name = NODES[name].partition(":")
        node_class = getattr(importlib.import_module(module), class_name)
        try:
            overrides = [Parameter(k, value=v) for k, v in params.items()]
        except TypeError:  # a mapping, or a list mixing types: nothing a ROS parameter holds
            raise UserError(f"{name}: a parameter value is neither a number, a string, true/false nor a list of one "
                            f"of them: {params}.") from None
        node = node_class(parameter_overrides=overrides, **node_kwargs)
        unknown = sorted(k for k in params if not node.has_parameter(k))
        if unknown:
            node.destroy_node()
            raise UserError(f"{name} has no parameter {', '.join(map(repr, unknown))}; its parameters are "
                            f"{', '.join(sorted(node.get_parameters_by_prefix('')))}.")
        return node
    return make_node
