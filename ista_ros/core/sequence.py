"""Skeleton sequence files: a self-describing ``.npz``, and plain ``.npy`` arrays.

A sequence is (C, T, J, E) joints (coordinates, frames, joints, entities), the official
tensor layout. A bare array does not say what its numbers mean; played with the wrong axes
or joint order it is recognised wrong without a word. So the ``.npz`` format carries its
meaning with it (numpy arrays only, readable without pickles):

- ``format``: "ista_ros.sequence", ``version``: 1
- ``joints``: float32 (C, T, J, E), C = 3 (metres) or 2; an entity whose joints are all zero
  in a frame is not in view there
- ``layout``: joint order (ista_ros.core.layouts), J must match it
- ``axes``: axis convention (ista_ros.core.axes: optical, kinect, body)
- ``fps``: frames per second
- ``ids``: entity ids, (E,) or (T, E) for per-frame ids (a tracker's)
- ``kinds`` (optional): (E,) entity kinds (person, left_hand, ...); default person
- ``labels`` (optional): (T,) int class per frame, -1 where none; with ``class_names`` (K,)

A plain ``.npy`` holds the joints only; its layout, axes and fps come from the caller.
"""
from __future__ import annotations

import os
import tempfile
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np

from ista_ros.core.axes import check_axes
from ista_ros.core.layouts import get_layout
from ista_ros.errors import UserError

FORMAT = "ista_ros.sequence"
VERSION = 1
DESCRIPTION = ("layout", "axes", "fps", "ids")  # what an .npz must say about its joints


class SequenceError(UserError, ValueError):
    """A sequence file that cannot be read, or whose contents contradict themselves."""


@dataclass(frozen=True, eq=False)
class Sequence:
    """Joints and what they mean. From a plain .npy, layout, axes, fps and ids are None."""

    joints: np.ndarray
    layout: str | None = None
    axes: str | None = None
    fps: float | None = None
    ids: np.ndarray | None = None
    kinds: tuple[str, ...] | None = None
    labels: np.ndarray | None = None
    class_names: tuple[str, ...] | None = None

    @property
    def num_frames(self) -> int:
        return self.joints.shape[1]

    @property
    def num_entities(self) -> int:
        return self.joints.shape[3]

    def check(self, where: str = "the sequence") -> Sequence:
        """Self when every part fits the joints; SequenceError naming the part otherwise."""
        joints = self.joints
        if joints.ndim != 4 or joints.shape[0] not in (2, 3):
            raise SequenceError(f"{where}: joints are (C, T, J, E) with C = 2 or 3, not shape {joints.shape}.")
        _, frames, num_joints, entities = joints.shape
        try:
            if self.layout is not None and get_layout(self.layout).num_joints != num_joints:
                raise SequenceError(f"{where}: layout {self.layout!r} has {get_layout(self.layout).num_joints} "
                                    f"joints, the joints array {num_joints}.")
            if self.axes is not None:
                check_axes(self.axes)
        except UserError as err:
            raise SequenceError(f"{where}: {err}") from None
        if self.fps is not None and not (np.isfinite(self.fps) and self.fps > 0):
            raise SequenceError(f"{where}: fps must be a positive number, not {self.fps}.")
        if self.ids is not None and self.ids.shape not in ((entities,), (frames, entities)):
            raise SequenceError(f"{where}: ids are (E,) or (T, E) = ({entities},) or ({frames}, {entities}), "
                                f"not {self.ids.shape}.")
        if self.kinds is not None and len(self.kinds) != entities:
            raise SequenceError(f"{where}: {len(self.kinds)} kinds for {entities} entities.")
        self._check_labels(where)
        return self

    def _check_labels(self, where: str) -> None:
        if self.labels is None:
            return
        if self.labels.shape != (self.num_frames,):
            raise SequenceError(f"{where}: labels are one class per frame ({self.num_frames},), "
                                f"not {self.labels.shape}.")
        top = int(self.labels.max(initial=-1))
        if self.labels.min(initial=-1) < -1 or top >= len(self.class_names or ()):
            raise SequenceError(f"{where}: labels run from -1 (none) to {top}, but "
                                f"{len(self.class_names or ())} class names are given.")


def described(sequence: Sequence, given: dict) -> tuple[Sequence, list[str]]:
    """``sequence`` completed with the ``given`` layout, axes, fps, ids or kinds where it
    says nothing itself (a .npy), and one sentence per given value that its own description
    contradicts (the file wins: it knows its data)."""
    known = {name: value for name, value in given.items() if value is not None}
    conflicts = [f"the file says {name} {_shown(getattr(sequence, name))}, so {name} {_shown(value)} is ignored"
                 for name, value in known.items()
                 if getattr(sequence, name) is not None and _shown(getattr(sequence, name)) != _shown(value)]
    filled = {name: value for name, value in known.items() if getattr(sequence, name) is None}
    return _normalised(replace(sequence, **filled)).check(), conflicts


def _shown(value) -> str:
    if isinstance(value, (int, float)):
        return f"{value:g}"
    if isinstance(value, (list, tuple, np.ndarray)):
        return ",".join(str(v) for v in np.asarray(value).ravel())
    return str(value)


def save_sequence(path, sequence: Sequence) -> Path:
    """Write ``sequence`` as a self-describing .npz (its layout, axes, fps and ids are
    required); the file appears whole or not at all."""
    path = Path(path)
    if path.suffix != ".npz":
        raise SequenceError(f"{path}: a self-describing sequence file ends in .npz.")
    missing = [name for name in DESCRIPTION if getattr(sequence, name) is None]
    if missing:
        raise SequenceError(f"{path}: give the sequence's {', '.join(missing)} to save it.")
    sequence = _normalised(sequence).check(str(path))
    arrays = {"format": np.str_(FORMAT), "version": np.int64(VERSION), "joints": sequence.joints,
              "layout": np.str_(sequence.layout), "axes": np.str_(sequence.axes),
              "fps": np.float64(sequence.fps), "ids": sequence.ids}
    if sequence.kinds is not None:
        arrays["kinds"] = np.array(sequence.kinds, dtype=str)
    if sequence.labels is not None:
        arrays["labels"], arrays["class_names"] = sequence.labels, np.array(sequence.class_names, dtype=str)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".npz")
    try:
        with os.fdopen(fd, "wb") as out:
            np.savez(out, **arrays)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


def load_sequence(path) -> Sequence:
    """The sequence in a .npz (self-described) or a .npy (joints only)."""
    path = Path(path)
    if not path.is_file():
        raise SequenceError(f"sequence file {path} does not exist.")
    try:
        data = np.load(path, allow_pickle=False)
        if isinstance(data, np.ndarray):
            return _normalised(Sequence(joints=data)).check(str(path))
        with data:
            return _from_npz(path, dict(data))
    except (OSError, ValueError, EOFError) as err:
        if isinstance(err, SequenceError):
            raise
        raise SequenceError(f"{path} is not a readable .npy or .npz sequence ({err}).") from None


def _from_npz(path: Path, data: dict) -> Sequence:
    if str(data.get("format", "")) != FORMAT:
        raise SequenceError(f"{path} is an .npz but not an ista_ros sequence file (no format {FORMAT!r}).")
    if int(data.get("version", 0)) > VERSION:
        raise SequenceError(f"{path} is sequence format version {int(data['version'])}; this ista_ros reads "
                            f"up to {VERSION}: update ista_ros.")
    missing = [name for name in ("joints", *DESCRIPTION) if name not in data]
    if missing:
        raise SequenceError(f"{path} lacks {', '.join(missing)}.")
    if ("labels" in data) != ("class_names" in data):
        raise SequenceError(f"{path}: labels and class_names come together.")
    strings = lambda name: tuple(str(v) for v in data[name]) if name in data else None  # noqa: E731
    sequence = Sequence(joints=data["joints"], layout=str(data["layout"]), axes=str(data["axes"]),
                        fps=float(data["fps"]), ids=data["ids"], kinds=strings("kinds"),
                        labels=data.get("labels"), class_names=strings("class_names"))
    return _normalised(sequence).check(str(path))


def _normalised(sequence: Sequence) -> Sequence:
    """The same sequence with arrays of the file's dtypes (float32 joints, str ids, int labels)."""
    joints = np.asarray(sequence.joints)
    if not np.issubdtype(joints.dtype, np.number):
        raise SequenceError(f"joints must be numbers, not {joints.dtype}.")
    return Sequence(joints=joints.astype(np.float32, copy=False),
                    layout=sequence.layout, axes=sequence.axes,
                    fps=None if sequence.fps is None else float(sequence.fps),
                    ids=None if sequence.ids is None else np.asarray(sequence.ids).astype(str),
                    kinds=None if sequence.kinds is None else tuple(sequence.kinds),
                    labels=None if sequence.labels is None else np.asarray(sequence.labels).astype(np.int64),
                    class_names=None if sequence.class_names is None else tuple(sequence.class_names))
