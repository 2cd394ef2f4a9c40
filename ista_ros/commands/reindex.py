"""`ista-ros reindex`: make a bag whose recorder was killed (SIGKILL, power cut) whole
again, as `ros2 bag reindex` does: its MCAP files are closed after their last whole
message and its metadata.yaml is written afresh from what they hold."""
from __future__ import annotations


def add_parser(subparsers) -> None:
    p = subparsers.add_parser("reindex", help="repair a bag whose recording was cut off", description=__doc__)
    p.add_argument("bag", help="bag directory")
    p.set_defaults(func=run)


def run(args) -> int:
    from ista_ros.bags import reindex

    result = reindex(args.bag)
    held = ", ".join(f"{count} on {topic}" for topic, count in result.counts.items()) or "no messages"
    closed = (f"; closed {', '.join(result.repaired)} after its last whole message"
              f" ({result.salvaged} saved from a chunk cut short)" if result.repaired else "")
    print(f"{args.bag}: {held}{closed}; wrote metadata.yaml")
    return 0
