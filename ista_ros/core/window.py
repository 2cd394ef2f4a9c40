"""From a skeleton sample (or a live window) to a model input: the ONE function that
training (augmented and test-time) and the live node share, so that training and
deployment see the same numbers. Training adds only what is training-only (rotation,
entity rearrangement) to its output.

A sample is (C, T, J, E). The official pipeline counts the valid frames (frames whose
coordinates do not all sum to zero), keeps the central ``p`` of them (test time) or a
random span (training) and resizes that span to the model's T by linear interpolation
along time.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass, fields

import numpy as np
import torch
import torch.nn.functional as F

from ista_ros.errors import ConfigError

MIN_RANDOM_CROP = 64  # the official random crop never keeps fewer frames than this


@dataclass
class Preprocessing:
    num_frames: int  # the model's T
    p_interval: tuple[float, ...] = (0.95,)  # centre crop (one value) or random crop range (two)
    centre_joint: int | None = None  # subtract this joint of entity 0 at its first frame

    def __post_init__(self):
        if not _is_int(self.num_frames) or self.num_frames < 1:
            raise ConfigError(f"preprocessing num_frames must be a positive integer, not {self.num_frames!r}.")
        if not isinstance(self.p_interval, (list, tuple)) or len(self.p_interval) not in (1, 2) or \
                not all(_is_number(p) and 0 < p <= 1 for p in self.p_interval):
            raise ConfigError(f"preprocessing p_interval takes one value (centre crop) or two (random crop "
                              f"range), each in (0, 1]; got {self.p_interval!r}.")
        self.p_interval = tuple(float(p) for p in self.p_interval)
        if self.centre_joint is not None and (not _is_int(self.centre_joint) or self.centre_joint < 0):
            raise ConfigError(f"preprocessing centre_joint must be a joint index or null, not {self.centre_joint!r}.")

    @classmethod
    def from_dict(cls, values: dict) -> Preprocessing:
        if not isinstance(values, dict):
            raise ConfigError(f"preprocessing must be a mapping of settings, not {type(values).__name__}.")
        unknown = sorted(set(values) - {f.name for f in fields(cls)})
        if unknown:
            raise ConfigError(f"unknown preprocessing key {unknown[0]!r}; the keys are "
                             f"{', '.join(f.name for f in fields(cls))}.")
        if "num_frames" not in values:
            raise ConfigError("preprocessing needs num_frames (the model's T).")
        return cls(**values)

    def to_dict(self) -> dict:
        values = asdict(self)
        values["p_interval"] = list(self.p_interval)
        return values


def valid_frame_count(sample: np.ndarray) -> int:
    """Frames whose coordinate sum over (C, J, E) is non-zero (the official rule; it
    assumes the valid frames come first and zero padding after)."""
    return int(np.count_nonzero(sample.sum(axis=(0, 2, 3)) != 0))


def crop_resize(sample: np.ndarray, valid_frames: int, p_interval, num_frames: int,
                rng: np.random.Generator | None = None) -> np.ndarray:
    """Crop the valid frames and resize them to ``num_frames``.

    One p: keep the central fraction p. Two (low, high): keep a random fraction in that
    range, at least 64 frames (or all valid ones), at a random offset; needs ``rng``.
    """
    if valid_frames < 1:
        raise ValueError("the sample has no valid frame (every frame is all zeros).")
    if len(p_interval) == 1:
        margin = int((1 - p_interval[0]) * valid_frames / 2)
        cropped = sample[:, margin:valid_frames - margin]
    else:
        if rng is None:
            raise ValueError("a random crop (two p values) needs a random generator.")
        p = rng.uniform(p_interval[0], p_interval[1])
        length = min(max(int(np.floor(valid_frames * p)), MIN_RANDOM_CROP), valid_frames)
        start = int(rng.integers(0, valid_frames - length + 1))
        cropped = sample[:, start:start + length]
    return resize_time(cropped, num_frames)


def resize_time(sample: np.ndarray, num_frames: int) -> np.ndarray:
    """Linear resampling along time (bilinear over a (C*J*E, T) image, as the official
    code does, align_corners=False)."""
    c, t, j, e = sample.shape
    image = torch.as_tensor(np.ascontiguousarray(sample), dtype=torch.float32)
    image = image.permute(0, 2, 3, 1).reshape(1, 1, c * j * e, t)
    resized = F.interpolate(image, size=(c * j * e, num_frames), mode="bilinear", align_corners=False)
    return resized.reshape(c, j, e, num_frames).permute(0, 3, 1, 2).contiguous().numpy()


def centre_on_joint(sample: np.ndarray, joint: int) -> np.ndarray:
    """Translate so that ``joint`` of entity 0 at its first present frame is the origin.

    Missing (all-zero) entity-frames stay zero, as in the NTU preparation."""
    present = np.any(sample != 0, axis=(0, 2))  # (T, E)
    first = np.flatnonzero(present[:, 0])
    if first.size == 0:
        return sample
    origin = sample[:, first[0], joint, 0].copy()
    centred = sample - origin[:, None, None, None]
    return np.where(present[None, :, None, :], centred, 0).astype(np.float32)


def _is_int(value) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _is_number(value) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def model_input(sample: np.ndarray, pre: Preprocessing, rng: np.random.Generator | None = None) -> np.ndarray:
    """(C, T, J, E) sample or live window -> (C, pre.num_frames, J, E): centring, then the
    crop of ``pre.p_interval`` (a random one, drawn from ``rng``, when it has two values:
    training) and the resize."""
    sample = np.asarray(sample, dtype=np.float32)
    if sample.ndim != 4:
        raise ValueError(f"a sample is (C, T, J, E); got an array of shape {sample.shape}.")
    if not np.all(np.isfinite(sample)):
        raise ValueError("the sample contains NaN or infinite coordinates.")
    if pre.centre_joint is not None:
        sample = centre_on_joint(sample, pre.centre_joint)
    return crop_resize(sample, valid_frame_count(sample), pre.p_interval, pre.num_frames, rng)
