"""Tiny synthetic H2O pose download: ``label_split/`` and ``subject<k>/<scene>/<n>/cam4/``
with per-frame hand_pose, obj_pose and action_label text files.

Clips are longer and shorter than the 120 frames the official script crops or pads to,
and some frames have an untracked (flag 0) left hand.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np

from .hands import HAND_MOBILITY, HAND_REST
from .motion import animate, smooth_curve

# A box: 8 corners, 12 edge midpoints and the centre (21 points, like H2O's object pose).
_CORNERS = np.array([[x, y, z] for x in (-1, 1) for y in (-1, 1) for z in (-1, 1)], float)
_EDGES = [(a, b) for a in range(8) for b in range(a + 1, 8) if np.abs(_CORNERS[a] - _CORNERS[b]).sum() == 2]
OBJECT_REST = 0.03 * np.vstack([_CORNERS, [(_CORNERS[a] + _CORNERS[b]) / 2 for a, b in _EDGES], [[0, 0, 0]]])


def _numbers(values) -> str:
    return " ".join(f"{v:.6f}" for v in values) + " "  # trailing blank, as in the download


def _write_clip(folder: Path, label: int, frames: int, start: int, end: int, rng) -> None:
    """All frames 0..frames-1 of one recording, the action being start..end."""
    left = animate(HAND_REST + (-.12, 0, .45), HAND_MOBILITY, frames, label, rng, .04, .03, salt=1)
    right = animate(HAND_REST + (.12, 0, .45), HAND_MOBILITY, frames, label, rng, .05, .03, salt=2)
    obj = OBJECT_REST + right[:, :1] + (0, .08, 0) + 0.01 * smooth_curve(rng, frames)[:, None]
    left_tracked = rng.random(frames) > 0.1
    cam4 = folder / "cam4"
    for sub in ("hand_pose", "obj_pose", "action_label", "verb_label", "cam_pose"):
        (cam4 / sub).mkdir(parents=True, exist_ok=True)
    for f in range(frames):
        name = f"{f:06d}.txt"
        left_values = [1.0, *left[f].ravel()] if left_tracked[f] else [0.0] * 64
        (cam4 / "hand_pose" / name).write_text(_numbers(left_values + [1.0, *right[f].ravel()]))
        (cam4 / "obj_pose" / name).write_text(_numbers([float(label % 8 + 1), *obj[f].ravel()]))
        (cam4 / "action_label" / name).write_text(f"{label if start <= f <= end else 0}\n")
        (cam4 / "verb_label" / name).write_text("0\n")
        (cam4 / "cam_pose" / name).write_text(_numbers(np.eye(4).ravel()))


def make_h2o(root: str | Path, clips=(6, 3, 3), actions=(1, 5, 12, 36), length=(20, 150),
             seed: int = 0) -> dict[str, list[int]]:
    """Write a synthetic H2O download with ``clips`` (train, val, test) clips under ``root``;
    return the action label of every clip per split, in split-file order."""
    root, rng = Path(root), np.random.default_rng(seed)
    (root / "label_split").mkdir(parents=True, exist_ok=True)
    labels: dict[str, list[int]] = {}
    clip_id = 0
    for split, count in zip(("train", "val", "test"), clips):
        header = "id path action_label start_act end_act start_frame end_frame"
        rows, labels[split] = [header if split == "train" else header.replace(" action_label", "")], []
        for _ in range(count):
            label = actions[clip_id % len(actions)]
            act = int(rng.integers(*length))
            lead = int(rng.integers(0, 10))
            path = f"subject{clip_id % 4 + 1}/{'hko'[clip_id % 3]}{clip_id % 2 + 1}/{clip_id}"
            _write_clip(root / path, label, act + lead + 5, lead, lead + act - 1, rng)
            fields = [clip_id + 1, path, label, lead, lead + act - 1, 0, act + lead + 4]
            if split != "train":
                del fields[2]
            rows.append(" ".join(map(str, fields)))
            labels[split].append(label)
            clip_id += 1
        (root / "label_split" / f"action_{split}.txt").write_text("\n".join(rows) + "\n")
    (root / "object").mkdir(exist_ok=True)
    return labels
