"""`ista-ros demo`: the whole live path on generated interactions (or a video), as ROS 2
processes, with the model the project trained itself; ends with an accuracy line."""
from __future__ import annotations

from pathlib import Path

from ista_ros.errors import ConfigError


def add_parser(subparsers) -> None:
    p = subparsers.add_parser(
        "demo", help="run player, recognizer and listener on generated interactions",
        description="Play generated two-person interactions the model has never seen, recognise them with the "
                    "shipped demo model (or --weights) in a recognizer node, and print per window the recognised "
                    "label, its confidence, the ground truth and the latency; ends with the accuracy.")
    p.add_argument("--weights", type=Path, default=None,
                   help="checkpoint to run (default: the shipped ista_ros/demo/model/demo_small.pt)")
    count = p.add_mutually_exclusive_group()
    count.add_argument("--num-interactions", type=int, default=10,
                       help="interactions to play, every class in turn, with about 3 scenes without one per 10 "
                            "mixed in (default: %(default)s, about 50 s)")
    count.add_argument("--duration", type=float, help="seconds of interactions to play instead")
    p.add_argument("--seed", type=int, help="seed of the generated interactions (default: a fresh one)")
    p.add_argument("--groups", type=int, default=1,
                   help="pairs interacting at the same time, far apart: one accuracy per group (default: %(default)s)")
    p.add_argument("--passer-by", action="store_true", help="a person walking past the pairs, in no group")
    p.add_argument("--video", type=Path, help="recognise a video file through the keypoints node instead")
    p.add_argument("--device", default="auto", help="auto (CUDA when present), cpu or cuda (default: auto)")
    p.add_argument("--precision", default="fp32", choices=["fp32", "bf16", "fp16"])
    p.add_argument("--save", type=Path, metavar="VIDEO",
                   help="also write the scene as it was recognised to VIDEO (.mp4, or a smaller .gif): the "
                        "skeletons from the camera, each group's label, confidence and truth, the latency")
    p.add_argument("--stride", type=int, default=10, help="frames between two recognitions (default: %(default)s)")
    p.set_defaults(func=run)


def run(args) -> int:
    from ista_ros.demo.run import SHIPPED_WEIGHTS, DemoOptions, interactions_for, run_demo

    count = interactions_for(args.duration) if args.duration is not None else args.num_interactions
    if count < 1 or args.stride < 1 or args.groups < 1:
        raise ConfigError("--num-interactions, --duration, --stride and --groups must be positive.")
    return run_demo(DemoOptions(weights=args.weights or SHIPPED_WEIGHTS, num_interactions=count, seed=args.seed,
                                video=args.video, device=args.device, precision=args.precision,
                                stride_frames=args.stride, groups=args.groups, passer_by=args.passer_by,
                                save=args.save))
