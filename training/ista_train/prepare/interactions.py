"""Generated two-person interactions (the embedded demo's dataset): train and val npz files.

Samples come from ``ista_ros.synthetic.interactions`` (NTU-25 layout, Kinect camera coordinates
in metres, zero-padded after each sample like NTU, not centred: the recipe's centre_joint
does that for training and the live node alike): whole interactions, or with ``--windows``
live-like windows cut from continuous streams (what the demo's recognizer sees; the demo
model is trained on these). Class ``none`` (the last) holds scenes without an interaction
(people passing, walking together or apart, talking, one person's own action, a person
alone, pedestrians crossing), ``--none-weight`` times as many as each interaction. Train and val use different
random streams of the same seed, so no validation sample is a training sample.
"""
from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
from tqdm import tqdm

from ista_ros.errors import ConfigError

from .common import atomic_path

SPLITS = ("train", "val")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--out", default="data/interactions", help="output folder (default: %(default)s)")
    parser.add_argument("--train-per-class", type=int, default=200, help="training samples per class")
    parser.add_argument("--val-per-class", type=int, default=50, help="validation samples per class")
    parser.add_argument("--seed", type=int, default=0, help="random seed (default: %(default)s)")
    parser.add_argument("--max-frames", type=int, default=150,
                        help="frames per stored sample; longer interactions play faster (default: %(default)s)")
    parser.add_argument("--windows", type=int, nargs=2, metavar=("MIN", "MAX"),
                        help="store windows of MIN-MAX frames cut from continuous streams instead of whole "
                             "interactions (the demo model: 60 90)")
    parser.add_argument("--none-weight", type=float, default=2.0,
                        help="samples of class none per sample of each interaction (default: %(default)s)")
    parser.add_argument("--depth-error", type=float, nargs=2, default=(0.0, 0.0), metavar=("MIN", "MAX"),
                        help="relative error of each person's distance, drawn per sample between MIN and MAX, "
                             "as a camera without depth makes it (default: 0 0, a depth camera; the demo model: "
                             "0 0.15)")


def split_rng(seed: int, split: str) -> np.random.Generator:
    """The random stream of one split: independent of the other split's."""
    return np.random.default_rng([seed, SPLITS.index(split)])


def write_split(path: Path, per_class: int, rng: np.random.Generator, args: argparse.Namespace) -> None:
    from ista_ros.synthetic import interactions

    low, high = args.depth_error
    if not 0.0 <= low <= high < 1.0:
        raise ConfigError(f"--depth-error takes MIN MAX with 0 <= MIN <= MAX < 1 (relative errors), "
                          f"got {low:g} {high:g}.")
    variation = interactions.Variation(depth_error=(low, high))
    total = per_class * len(interactions.INTERACTIONS) + round(args.none_weight * per_class)
    with tqdm(total=total, desc=f"Generating {path.name}", unit="sample") as bar:
        if args.windows:
            data, labels = interactions.generate_windows(per_class, rng, tuple(args.windows), variation,
                                                         progress=bar, none_weight=args.none_weight)
        else:
            data, labels = interactions.generate_dataset(per_class, rng, max_frames=args.max_frames, progress=bar,
                                                         variation=variation, none_weight=args.none_weight)
    with atomic_path(path) as tmp:
        np.savez(tmp, data=data, label=labels, class_names=np.array(interactions.CLASS_NAMES),
                 layout=np.array(interactions.LAYOUT))


def prepare(args: argparse.Namespace) -> None:
    out = Path(args.out)
    for split, per_class in zip(SPLITS, (args.train_per_class, args.val_per_class)):
        write_split(out / f"{split}.npz", per_class, split_rng(args.seed, split), args)
        print(f"{out / split}.npz: {per_class} samples per interaction, "
              f"{round(args.none_weight * per_class)} of none")
