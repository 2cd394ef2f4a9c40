"""`ista-ros record`: write topics to a rosbag2 MCAP bag until Ctrl-C (the recorder node)."""
from __future__ import annotations


def add_parser(subparsers) -> None:
    p = subparsers.add_parser("record", help="record topics to an MCAP bag", description=__doc__)
    p.add_argument("bag", help="output bag directory (must not exist)")
    p.add_argument("topics", nargs="*", default=["skeletons", "action"],
                   help="topics to record (default: skeletons action)")
    p.set_defaults(func=run)


def run(args) -> int:
    from ista_ros.nodes.recorder import RecorderNode
    from ista_ros.nodes.spin import run_node

    return run_node(lambda: RecorderNode(bag=args.bag, topics=args.topics), "ista-ros record", [])
