"""Tiny synthetic Assembly101 download: ``poses_60fps/<recording>.json`` (both hands' 21
landmarks per 60 fps frame) and ``fine-grained-annotations/`` CSVs in the column order the
official ISTA-Net scripts read.

Segments are shorter and longer than the 200 frames of a sample, one touches the start of
its recording (clipped context), and the CSVs name a recording without poses (skipped in
train/validation, ten frames of ones in test).
"""
from __future__ import annotations

import csv
import json
from pathlib import Path

import numpy as np

from ista_train.prepare.asb import TEST_COLUMNS, TRAIN_COLUMNS

from .hands import HAND_MOBILITY, HAND_REST
from .motion import animate

# Assembly101's landmark order from the 21-joint hand: five tips, wrist, thumb mcp and ip,
# mcp/pip/dip of index..pinky, and the palm centre (added below).
_FROM_HAND = [4, 8, 12, 16, 20, 0, 2, 3, 5, 6, 7, 9, 10, 11, 13, 14, 15, 17, 18, 19]
ASB_REST = np.vstack([HAND_REST[_FROM_HAND], (HAND_REST[0] + HAND_REST[9]) / 2]) * 1000  # mm
ASB_MOBILITY = np.append(HAND_MOBILITY[_FROM_HAND], 0.3)
# (action_id, verb_id, noun_id, action_cls, verb_cls, noun_cls)
ACTIONS = [(3, 0, 2, "attach cabin", "attach", "cabin"), (17, 1, 5, "detach wheel", "detach", "wheel"),
           (42, 4, 5, "screw wheel", "screw", "wheel"), (101, 1, 9, "detach arm", "detach", "arm")]
RECORDING = "nusar-2021_action_both_90{:02d}-a01_90{:02d}_user_id_2021-02-01_1537{:02d}"


def _recording_poses(rng, frames: int, segments: list[tuple[int, int, int]]) -> np.ndarray:
    """(frames, 2, 21, 3): both hands idle, performing each (start, end, action) segment."""
    hands = np.stack([animate(ASB_REST + (side * 120, 0, 450), ASB_MOBILITY, frames, 0, rng, 5, 10, salt)
                      for salt, side in ((1, -1), (2, 1))], axis=1)
    for start, end, action in segments:
        length = end - start + 1
        for hand, side in enumerate((-1, 1)):
            gesture = animate(ASB_REST + (side * 120, 0, 450), ASB_MOBILITY, length, action, rng, 40, 20, hand)
            hands[start:end + 1, hand] = gesture
    return hands


def _write_json(path: Path, poses: np.ndarray) -> None:
    frames = [{"landmarks": {str(h): np.round(frame[h], 3).tolist() for h in range(2)},
               "tracking_confidence": {"0": 0.9, "1": 0.9}} for frame in poses]
    path.write_text(json.dumps(frames))


def _write_csv(path: Path, columns, rows) -> None:
    with open(path, "w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(columns)
        writer.writerows(rows)


def make_asb(root: str | Path, recordings: int = 4, frames: int = 900, seed: int = 0) -> dict[str, list[int]]:
    """Write a synthetic download under ``root``; recordings 0..n-3 are train, n-2 validation,
    n-1 test. Return the action ids per split in the order the preparation must give them."""
    root, rng = Path(root), np.random.default_rng(seed)
    (root / "poses_60fps").mkdir(parents=True, exist_ok=True)
    (root / "fine-grained-annotations").mkdir(parents=True, exist_ok=True)
    rows = {"train": [], "validation": [], "test": []}
    expected = {"train": [], "validation": [], "test": []}
    for r in range(recordings):
        name = RECORDING.format(r, r, r)
        split = "train" if r < recordings - 2 else ("validation" if r == recordings - 2 else "test")
        segments, start = [], 0 if r == 0 else int(rng.integers(5, 40))
        while True:
            length = int(rng.choice([30, 80, 260]))
            if start + length + 30 >= (frames if split != "test" else frames // 2 - 30):
                break
            segments.append((start, start + length - 1, ACTIONS[len(segments) % len(ACTIONS)]))
            start += length + int(rng.integers(5, 40))
        to_pose = (lambda f: 2 * f + 1) if split == "test" else (lambda f: f)  # test CSV is 30 fps
        poses = _recording_poses(rng, frames, [(to_pose(s), to_pose(e), a[0]) for s, e, a in segments])
        _write_json(root / "poses_60fps" / f"{name}.json", poses)
        for s, e, action in segments[::-1]:  # CSV order differs from the start-frame order
            if split == "test":
                rows[split].append([name, s, e, 1])
            else:
                rows[split].append([name, s, e, *action[:3], *action[3:], "a01", "excavator", 1])
        expected[split] += [action[0] for _, _, action in sorted(segments)]
    missing = RECORDING.format(99, 99, 99)  # annotated, but no pose file
    rows["train"].append([missing, 10, 60, *ACTIONS[0][:3], *ACTIONS[0][3:], "a01", "excavator", 1])
    rows["test"].append([missing, 10, 60, 1])
    expected["test"] = expected["test"][::-1] + [None]
    for split in ("train", "validation"):
        _write_csv(root / "fine-grained-annotations" / f"{split}.csv", TRAIN_COLUMNS,
                   [[i, *row] for i, row in enumerate(rows[split])])
    _write_csv(root / "fine-grained-annotations" / "test_challenge.csv", TEST_COLUMNS,
               [[i, *row] for i, row in enumerate(rows["test"])])
    return expected
