"""Training augmentation of one (C, T, J, E) sample: the core's ``model_input`` (centring,
the random crop, resizing: the live node's function) plus what is training-only, rotation
and entity rearrangement, which follow the official feeders, with an explicit numpy
Generator instead of global RNG state."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ista_ros.core.window import Preprocessing, model_input


def rotation_matrix(angles: np.ndarray) -> np.ndarray:
    """Rz @ Ry @ Rx for angles (ax, ay, az), with the official sign conventions."""
    (cx, cy, cz), (sx, sy, sz) = np.cos(angles), np.sin(angles)
    rx = np.array([[1, 0, 0], [0, cx, sx], [0, -sx, cx]])
    ry = np.array([[cy, 0, -sy], [0, 1, 0], [sy, 0, cy]])
    rz = np.array([[cz, sz, 0], [-sz, cz, 0], [0, 0, 1]])
    return rz @ ry @ rx


def random_rotation(sample: np.ndarray, rng: np.random.Generator, theta: float = 0.3) -> np.ndarray:
    """Rotate every frame by one random rotation, each angle uniform in [-theta, theta]."""
    matrix = rotation_matrix(rng.uniform(-theta, theta, size=3)).astype(np.float32)
    return np.einsum("dc,ctje->dtje", matrix, sample).astype(np.float32)


def rearrange_entities(sample: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """A random permutation of the entity axis (works on any sample, rotated or not)."""
    return sample[..., rng.permutation(sample.shape[-1])]


@dataclass
class Augment:
    p_interval: tuple[float, float] = (0.5, 1.0)
    num_frames: int = 120
    random_rot: bool = True
    entity_rearrangement: bool = False
    theta: float = 0.3
    centre_joint: int | None = None  # the test-time centring (Preprocessing.centre_joint)

    def __call__(self, sample: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        crop = Preprocessing(self.num_frames, self.p_interval, self.centre_joint)
        x = model_input(sample, crop, rng)
        if self.random_rot:
            x = random_rotation(x, rng, self.theta)
        if self.entity_rearrangement:
            x = rearrange_entities(x, rng)
        return x
