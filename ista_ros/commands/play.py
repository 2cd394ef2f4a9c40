"""`ista-ros play`: publish skeletons at real-time rate (the player node) from a sequence
file (a self-describing .npz, or a (C, T, J, E) .npy whose fps, layout, axes and ids the
options give) or a rosbag2 MCAP bag (played as recorded; one whose recording was cut off
is played as far as it is whole)."""
from __future__ import annotations


def add_parser(subparsers) -> None:
    p = subparsers.add_parser("play", help="publish skeletons from a .npz/.npy sequence or an MCAP bag",
                              description=__doc__)
    p.add_argument("file", help=".npz or .npy sequence, or rosbag2 MCAP bag")
    p.add_argument("--topic", default="skeletons", help="topic to publish on (default: skeletons)")
    p.add_argument("--fps", type=float, help=".npy frame rate (default: 30)")
    p.add_argument("--layout", help=".npy joint layout (default: ntu25)")
    p.add_argument("--axes", help=".npy axis convention: optical, kinect (NTU data) or body (default: optical)")
    p.add_argument("--ids", default="", help=".npy entity ids, comma separated (default: entity_0, ...)")
    p.add_argument("--rate", type=float, default=1.0, help="playback speed factor (default: 1)")
    p.add_argument("--loop", action="store_true", help="play again and again")
    p.set_defaults(func=run)


def run(args) -> int:
    from rclpy.parameter import Parameter

    from ista_ros.nodes.player import PlayerNode, run_player

    params = {"file": args.file, "topic": args.topic, "fps": args.fps, "layout": args.layout, "axes": args.axes,
              "ids": [i.strip() for i in args.ids.split(",")] if args.ids else None, "rate": args.rate,
              "loop": args.loop}
    overrides = [Parameter(k, value=v) for k, v in params.items() if v is not None]  # unset: the node's default
    return run_player(lambda: PlayerNode(exit_when_done=True, parameter_overrides=overrides), "ista-ros play", [])
