"""SBU Kinect Interaction (clean or noisy): raw download -> getSBU skeleton-only folder.

The official getSBU.py copies every ``<pair>/<class>/<sequence>/skeleton_pos.txt`` of the
extracted download into a skeleton-only tree; that tree is what ISTA-Net's SBU feeder (and
``ista_train.data``) reads: the pairs of SBU's own 5-fold list, each sequence cut or
zero-padded to 46 frames, then mapped from SBU's normalised values to pixels and
millimetres (x' = 1280 - 2560 x, y' = 960 - 1920 y, z' = z * 10000 / 7.8125), padding
included. This preparer writes the same tree after checking that every pair of the fold
list is there and every file holds a frame number and 90 coordinates per line, so a broken
download fails here with the file's name instead of in the middle of training.
"""
from __future__ import annotations

import argparse
from pathlib import Path

from ista_ros.core.files import atomic_write_bytes

from .common import PrepareError, progress, read_lines, require_dir

FOLDS = (
    ("s01s02", "s03s04", "s05s02", "s06s04"),
    ("s02s03", "s02s07", "s03s05", "s05s03"),
    ("s01s03", "s01s07", "s07s01", "s07s03"),
    ("s02s01", "s02s06", "s03s02", "s03s06"),
    ("s04s02", "s04s03", "s04s06", "s06s02", "s06s03"),
)
CLASS_NAMES = ("approaching", "departing", "kicking", "punching", "pushing", "hugging",
               "shaking hands", "exchanging objects")
VALUES_PER_LINE = 1 + 2 * 15 * 3  # frame number, 2 persons x 15 joints x xyz
SKELETON_FILE = "skeleton_pos.txt"


def check_skeleton_pos(path: Path) -> None:
    """Raise a PrepareError naming ``path`` unless it is a non-empty SBU skeleton file."""
    lines = [line for line in read_lines(path) if line.strip()]
    if not lines:
        raise PrepareError(f"{path} has no frames; re-extract it from the SBU archive.")
    for line_no, line in enumerate(lines, 1):
        values = line.split(",")
        try:
            if len(values) != VALUES_PER_LINE:
                raise ValueError(f"{len(values)} values instead of {VALUES_PER_LINE}")
            [float(v) for v in values]
        except ValueError as exc:
            raise PrepareError(f"{path} is malformed at line {line_no} ({exc}); "
                               "re-extract it from the SBU archive.") from exc


def skeleton_files(root: Path) -> list[Path]:
    """Every skeleton_pos.txt of the fold list's pairs (missing pair: PrepareError)."""
    files = []
    for pair in (pair for fold in FOLDS for pair in fold):
        if not (root / pair).is_dir():
            raise PrepareError(f"The SBU pair folder {root / pair} is missing; extract {pair}.zip there.")
        for label in range(1, len(CLASS_NAMES) + 1):
            class_dir = root / pair / f"{label:02d}"
            if class_dir.is_dir():
                files += sorted(seq / SKELETON_FILE for seq in class_dir.iterdir()
                                if seq.is_dir() and not seq.name.startswith("."))
    if not files:
        raise PrepareError(f"No SBU sequences under {root}; point --root at the Clean or Noisy folder.")
    return files


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--root", required=True,
                        help="extracted SBU download of one version, e.g. SBU-Kinect-Interaction/Clean")
    parser.add_argument("--out", required=True,
                        help="output folder, e.g. data/sbu/SBU-Kinect-Interaction-Skeleton/Clean")


def prepare(args: argparse.Namespace) -> None:
    root, out = require_dir(args.root, "SBU raw"), Path(args.out)
    files = skeleton_files(root)
    for path in progress(files, "Checking SBU"):
        check_skeleton_pos(path)
    for path in progress(files, "Copying SBU"):  # only once every file has passed
        atomic_write_bytes(out / path.relative_to(root), path.read_bytes())
    print(f"{out}: {len(files)} SBU sequences")
