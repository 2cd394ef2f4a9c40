"""Rest pose of a 21-joint hand (wrist, then thumb, index, middle, ring, pinky, 4 joints
each from the base to the tip; the H2O/MediaPipe order), metres, fingers along +y."""
from __future__ import annotations

import numpy as np


def _hand_rest() -> tuple[np.ndarray, np.ndarray]:
    joints, mobility = [[0.0, 0.0, 0.0]], [0.2]
    for finger, (angle, length) in enumerate([(-0.9, .028), (-0.25, .035), (0.0, .038),
                                               (0.25, .035), (0.5, .028)]):
        direction = np.array([np.sin(angle), np.cos(angle), 0.0])
        base = direction * (0.03 if finger else 0.015)
        for k in range(4):
            joints.append(base + direction * length * k)
            mobility.append(0.4 + 0.2 * k)
    return np.array(joints), np.array(mobility)


HAND_REST, HAND_MOBILITY = _hand_rest()
