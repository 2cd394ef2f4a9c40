"""`ista-ros`: one command line for the live side (predict, run the nodes, tools)."""
from __future__ import annotations

import argparse
import importlib
import logging
import sys

from ista_ros.errors import run_reporting_user_errors

# Each module registers one or more sub-commands with add_parser(subparsers).
COMMANDS = [
    "ista_ros.commands.predict",
    "ista_ros.commands.video",
    "ista_ros.commands.demo",
    "ista_ros.commands.run",
    "ista_ros.commands.play",
    "ista_ros.commands.record",
    "ista_ros.commands.reindex",
    "ista_ros.commands.render",
    "ista_ros.commands.introspect",
]


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="ista-ros", description=__doc__)
    subparsers = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for name in COMMANDS:
        importlib.import_module(name).add_parser(subparsers)
    return parser


def main(argv=None) -> int:
    logging.basicConfig(level=logging.INFO, format="[%(name)s] %(message)s")
    args = build_parser().parse_args(argv)
    return run_reporting_user_errors(f"ista-ros {args.command}", lambda: args.func(args))


if __name__ == "__main__":
    sys.exit(main())
