"""H2O (two hands + object): per-frame pose files -> <split>/data.pth and gt.pth.

The official generate_h2o.py, reproduced: the clips of ``label_split/action_<split>.txt``
(file order), frames ``start_act..end_act`` of ``<path>/cam4/hand_pose`` (left then right
hand, each a validity flag and 21 xyz; a hand whose flag is 0 stays zero) and
``<path>/cam4/obj_pose`` (object class id, then 21 xyz), stacked as entities (left hand,
right hand, object), zero-padded at the end or centre-cropped to ``--frames`` (120).
``data.pth`` is a float32 tensor (N, 3, frames, 21, 3) = (N, C, T, J, E); ``gt.pth`` an
int64 tensor (N,) of action labels 1..36 (the feeder subtracts 1); training labels come from
the split file, validation labels from ``cam4/action_label/<start_act>.txt`` as in the
official script; the test split has no gt.pth. Both are plain tensors saved with
``torch.save``, so ``torch.load(..., weights_only=True)`` reads them.
"""
from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

from .common import PrepareError, atomic_path, progress, read_lines, require_dir

SPLITS = ("train", "val", "test")
NUM_FRAMES = 120
NUM_JOINTS = 21


def read_split_file(root: Path, split: str) -> list[dict[str, str]]:
    """Rows of label_split/action_<split>.txt as dicts keyed by its header."""
    path = root / "label_split" / f"action_{split}.txt"
    lines = [line.split() for line in read_lines(path) if line.strip()] or [[]]
    header, rows = lines[0], lines[1:]
    if not rows:
        raise PrepareError(f"{path} lists no clips; re-extract label_split from the H2O download.")
    needed = {"path", "start_act", "end_act"} | ({"action_label"} if split == "train" else set())
    if not needed <= set(header):
        raise PrepareError(f"{path} lacks the column(s) {', '.join(sorted(needed - set(header)))}.")
    for line_no, row in enumerate(rows, 2):
        if len(row) != len(header):
            raise PrepareError(f"{path} line {line_no} has {len(row)} fields instead of {len(header)}.")
    return [dict(zip(header, row)) for row in rows]


def read_numbers(path: Path, count: int) -> np.ndarray:
    """The ``count`` whitespace-separated numbers of a one-line pose file."""
    try:
        values = np.array(" ".join(read_lines(path)).split(), dtype=np.float64)
        if len(values) != count:
            raise ValueError(f"{len(values)} numbers instead of {count}")
    except ValueError as exc:
        raise PrepareError(f"{path} is malformed ({exc}); re-extract it from the H2O download.") from exc
    return values


def read_frame(clip: Path, frame: int) -> np.ndarray:
    """(3, 21, 3) left hand, right hand, object of one frame."""
    name = f"{frame:06d}.txt"
    hands = read_numbers(clip / "cam4" / "hand_pose" / name, 2 * (1 + 3 * NUM_JOINTS)).reshape(2, -1)
    obj = read_numbers(clip / "cam4" / "obj_pose" / name, 1 + 3 * NUM_JOINTS)
    entities = np.zeros((3, NUM_JOINTS, 3), dtype=np.float32)
    for hand, values in enumerate(hands):
        if values[0] != 0:  # validity flag
            entities[hand] = values[1:].reshape(NUM_JOINTS, 3)
    entities[2] = obj[1:].reshape(NUM_JOINTS, 3)
    return entities


def fit_length(frames: np.ndarray, length: int) -> np.ndarray:
    """Zero-pad at the end, or keep the centre ``length`` frames."""
    if len(frames) >= length:
        start = (len(frames) - length) // 2
        return frames[start:start + length]
    padded = np.zeros((length,) + frames.shape[1:], dtype=frames.dtype)
    padded[:len(frames)] = frames
    return padded


def parse_int(value: str, where: str) -> int:
    try:
        return int(value)
    except ValueError:
        raise PrepareError(f"{where} holds {value!r} where an integer belongs.") from None


def read_label_file(path: Path) -> int:
    lines = read_lines(path)
    return parse_int(lines[0].strip() if lines else "", str(path))


def read_clip(root: Path, row: dict[str, str], split_file: str, length: int) -> np.ndarray:
    """(C, T, J, E) = (3, length, 21, 3) float32 sample of one split-file row."""
    clip = root / row["path"]
    start = parse_int(row["start_act"], split_file)
    end = parse_int(row["end_act"], split_file)
    if end < start:
        raise PrepareError(f"{split_file} has a clip of {clip} ending before it starts.")
    frames = np.stack([read_frame(clip, f) for f in range(start, end + 1)])  # (T, E, J, C)
    return fit_length(frames, length).transpose(3, 0, 2, 1)


def read_label(root: Path, row: dict[str, str], split: str, split_file: str) -> int:
    if split == "train":
        return parse_int(row["action_label"], split_file)
    action_file = root / row["path"] / "cam4" / "action_label" / f"{int(row['start_act']):06d}.txt"
    return read_label_file(action_file)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--root", required=True,
                        help="extracted H2O pose download (holds label_split/ and subject1..4/)")
    parser.add_argument("--out", default="data/h2o/h2o_pth", help="output folder (default %(default)s)")
    parser.add_argument("--frames", type=int, default=NUM_FRAMES,
                        help="frames per sample (default %(default)s)")


def prepare(args: argparse.Namespace) -> None:
    import torch

    root, out = require_dir(args.root, "H2O"), Path(args.out)
    tables = {split: read_split_file(root, split) for split in SPLITS}  # fail early on bad lists
    results = {}
    for split, rows in tables.items():
        split_file = str(root / "label_split" / f"action_{split}.txt")
        data = [read_clip(root, row, split_file, args.frames) for row in progress(rows, f"H2O {split}", unit="clip")]
        labels = None if split == "test" else [read_label(root, row, split, split_file) for row in rows]
        results[split] = (data, labels)

    for split, (data, labels) in results.items():  # written only once every clip has been read
        with atomic_path(out / split / "data.pth") as tmp:
            torch.save(torch.from_numpy(np.stack(data)), tmp)
        if labels is not None:
            with atomic_path(out / split / "gt.pth") as tmp:
                torch.save(torch.tensor(labels, dtype=torch.int64), tmp)
        print(f"{out / split}: {len(data)} clips")
