"""`ista-ros play`: publish skeletons from a (C, T, J, E) .npy file or an MCAP bag at
real-time rate (the player node)."""
from __future__ import annotations


def add_parser(subparsers) -> None:
    p = subparsers.add_parser("play", help="publish skeletons from a .npy sequence or an MCAP bag",
                              description=__doc__)
    p.add_argument("file", help="(C, T, J, E) .npy file or rosbag2 MCAP bag")
    p.add_argument("--topic", default="skeletons", help="topic to publish on (default: skeletons)")
    p.add_argument("--fps", type=float, default=30.0, help=".npy frame rate (default: 30)")
    p.add_argument("--layout", default="ntu25", help=".npy joint layout (default: ntu25)")
    p.add_argument("--ids", default="", help=".npy entity ids, comma separated (default: entity_0, ...)")
    p.add_argument("--rate", type=float, default=1.0, help="playback speed factor (default: 1)")
    p.add_argument("--loop", action="store_true", help="play again and again")
    p.set_defaults(func=run)


def run(args) -> int:
    from rclpy.parameter import Parameter

    from ista_ros.nodes.player import PlayerNode
    from ista_ros.nodes.spin import run_node

    params = {"file": args.file, "topic": args.topic, "fps": args.fps, "layout": args.layout,
              "ids": [i.strip() for i in args.ids.split(",")] if args.ids else [""], "rate": args.rate,
              "loop": args.loop}
    overrides = [Parameter(k, value=v) for k, v in params.items()]
    return run_node(lambda: PlayerNode(exit_when_done=True, parameter_overrides=overrides), "ista-ros play", [])
