"""Smooth, class-dependent skeleton motion shared by the synthetic raw-dataset generators.

A sequence is a rest pose plus a class-specific gesture (the same for every sample of a
class, so a model can learn it), a per-sample variation and a slow drift of the whole body.
"""
from __future__ import annotations

import numpy as np


def smooth_curve(rng: np.random.Generator, frames: int, dims: int = 3) -> np.ndarray:
    """(frames, dims) sum of three sinusoids of 0.5-2 cycles per sequence, amplitude ~1."""
    t = np.linspace(0.0, 1.0, frames)[:, None, None]
    cycles = rng.uniform(0.5, 2.0, size=(1, 3, dims))
    phase = rng.uniform(0, 2 * np.pi, size=(1, 3, dims))
    weight = rng.uniform(0.3, 1.0, size=(1, 3, dims))
    return (weight * np.sin(2 * np.pi * cycles * t + phase)).sum(axis=1) / 1.5


def animate(rest: np.ndarray, mobility: np.ndarray, frames: int, label: int,
            rng: np.random.Generator, amplitude: float, drift: float, salt: int = 0) -> np.ndarray:
    """(frames, J, 3) float64: ``rest`` (J, 3) moved by the gesture of class ``label``.

    ``mobility`` (J,) says how much each joint follows the gesture (0 torso .. 1 hand tips);
    ``salt`` separates the gestures of different roles (e.g. the two persons of a pair).
    """
    gesture = smooth_curve(np.random.default_rng([salt, label]), frames)
    variation = 0.2 * smooth_curve(rng, frames)
    moved = rest + amplitude * mobility[:, None] * (gesture + variation)[:, None, :]
    return moved + drift * smooth_curve(rng, frames)[:, None, :]
