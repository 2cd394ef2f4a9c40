"""Tiny synthetic SBU Kinect Interaction download: ``<pair>/<class>/<seq>/skeleton_pos.txt``.

Every pair of SBU's fold list gets every class, with lengths on both sides of the 46
frames the official feeder cuts or pads to. Coordinates are SBU's normalised ones.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np

from ista_train.prepare.sbu import CLASS_NAMES, FOLDS

from .motion import animate
from .ntu import NTU_MOBILITY, NTU_REST

# SBU's 15 joints taken from the NTU rest pose: head, neck, torso, left shoulder/elbow/hand,
# right shoulder/elbow/hand, left hip/knee/foot, right hip/knee/foot.
SBU_FROM_NTU = [3, 2, 1, 4, 5, 7, 8, 9, 11, 12, 13, 15, 16, 17, 19]


def to_sbu_normalised(metres: np.ndarray) -> np.ndarray:
    """Metric camera coordinates -> SBU's normalised x, y in [0, 1] and z = depth * 0.78125."""
    x, y, z = metres[..., 0], metres[..., 1], metres[..., 2]
    return np.stack([0.5 - x / 4, 0.5 - y / 4, z * 0.78125], axis=-1)


def make_sbu(root: str | Path, sequences_per_class: int = 1, length=(12, 70), seed: int = 0) -> list[Path]:
    """Write a synthetic SBU version folder (like SBU-Kinect-Interaction/Clean) under ``root``;
    return the skeleton files written."""
    root, rng = Path(root), np.random.default_rng(seed)
    rest, mobility = NTU_REST[SBU_FROM_NTU], NTU_MOBILITY[SBU_FROM_NTU]
    written = []
    for pair in (pair for fold in FOLDS for pair in fold):
        for label in range(len(CLASS_NAMES)):
            for seq in range(1, sequences_per_class + 1):
                frames = int(rng.integers(*length))
                persons = [animate(rest + offset, mobility, frames, label, rng, .25, .1, salt)
                           for salt, offset in ((1, (-.5, .1, 2.6)), (2, (.5, .1, 2.8)))]
                values = to_sbu_normalised(np.stack(persons, axis=1)).reshape(frames, -1)
                lines = [",".join([str(f + 1)] + [f"{v:.6f}" for v in row]) for f, row in enumerate(values)]
                path = root / pair / f"{label + 1:02d}" / f"{seq:03d}" / "skeleton_pos.txt"
                path.parent.mkdir(parents=True, exist_ok=True)
                path.write_text("\n".join(lines) + "\n")
                written.append(path)
    return written
