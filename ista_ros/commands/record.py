"""`ista-ros record`: write topics to a rosbag2 MCAP bag until Ctrl-C, SIGTERM or SIGHUP
(the recorder node). What was received is on disk within half a second, so a killed
recorder loses at most that; `ista-ros reindex` makes such a bag whole again."""
from __future__ import annotations


def add_parser(subparsers) -> None:
    p = subparsers.add_parser("record", help="record topics to an MCAP bag", description=__doc__)
    p.add_argument("bag", help="output bag directory (must not exist)")
    p.add_argument("topics", nargs="*", default=["skeletons", "action"],
                   help="topics to record (default: skeletons action)")
    p.set_defaults(func=run)


def run(args) -> int:
    from ista_ros.nodes.recorder import RecorderNode, closing_on_signals
    from ista_ros.ros.spin import run_node

    return run_node(closing_on_signals(lambda: RecorderNode(bag=args.bag, topics=args.topics)), "ista-ros record", [])
