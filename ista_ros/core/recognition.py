"""Live recognition without ROS: skeleton frames in, recognised interactions out.

``LiveRecognizer`` is everything the recognizer node does between its subscription and
its publisher, as plain Python, so it is tested without a ROS graph:

- ``push`` (called for every incoming frame; cheap): skips skeletons of kinds the model
  has no slot for, validates the others (finite, within ``max_coordinate`` metres, as many
  joints as their layout has), maps their joint layout and their coordinate axes to the
  checkpoint's, and appends them to the per-entity ring buffers;
- ``window`` (the newest window): chooses the entities for the model's slots and
  gathers their last frames into a (C, T, J, E) sample, zero-padding missing entities;
  ``Window.problems`` says what is suspicious about it (people upside down or lying:
  the input axes are probably wrong);
- ``classify``: the model input from ``window.model_input`` (the function training
  uses), the model, softmax, optional EMA smoothing over probabilities. A window the
  model gives non-finite scores for raises WindowError and leaves the smoothing as it was.

Problems are reported, never swallowed: ``push`` returns them, a window carries them, and
the errors carry a ``key`` so that the node can rate-limit its warnings and count them.

``push`` and ``window`` may run on different threads (they share a lock); ``classify``
belongs to one worker thread.
"""
from __future__ import annotations

import threading
from dataclasses import dataclass, field
from typing import Callable

import numpy as np

from ista_ros.core.axes import check_axes, convert_axes, likely_input_axes, up_vector
from ista_ros.core.buffer import FrameEvent, Observation, SkeletonBuffer
from ista_ros.core.checkpoint import CheckpointError, CheckpointMeta
from ista_ros.core.entities import Candidate, choose, fits
from ista_ros.core.layouts import LayoutError, convert, get_layout
from ista_ros.core.window import model_input
from ista_ros.errors import ConfigError, UserError

MAX_RATE_HZ = 240  # sizes the buffer of a window given in seconds only
UPRIGHT_COSINE = 0.5  # feet-to-head within 60 degrees of up: standing, sitting, bending


@dataclass
class SkeletonInput:
    """One entity as it arrives from a message, before validation."""
    id: str
    kind: str
    layout: str
    points: np.ndarray  # (J, 3)


@dataclass
class Settings:
    window_frames: int = 0          # at most this many newest frames (0: no limit)
    window_seconds: float = 3.0     # frames at most this old (0: no limit)
    min_frames: int = 8             # no recognition from fewer frames
    entity_rule: str = "closest"    # see ista_ros.core.entities
    smoothing: float = 0.0          # EMA weight of the previous probabilities, [0, 1)
    forget_after: float = 1.0       # seconds an unseen entity is remembered
    max_entities: int = 16          # skeletons per frame beyond this are ignored
    max_coordinate: float = 100.0   # metres; a skeleton with a coordinate beyond is dropped

    def __post_init__(self):
        if not 0.0 <= self.smoothing < 1.0:
            raise ConfigError(f"smoothing must be in [0, 1), got {self.smoothing}.")
        if self.window_frames <= 0 and self.window_seconds <= 0:
            raise ConfigError("give a window length: window_frames > 0 or window_seconds > 0.")
        if self.min_frames < 1 or self.max_entities < 1:
            raise ConfigError("min_frames and max_entities must be at least 1.")
        if not self.max_coordinate > 0:
            raise ConfigError(f"max_coordinate must be a positive distance in metres, got {self.max_coordinate}.")


@dataclass
class Problem:
    """Something wrong with an input frame; ``key`` groups messages for rate limiting."""
    key: str
    message: str


class KeyedError(UserError, ValueError):
    """An input that cannot be used; ``key`` names the kind of problem."""

    def __init__(self, key: str, message: str):
        super().__init__(message)
        self.key = key


class SkeletonError(KeyedError):
    """A skeleton that cannot be used."""


class WindowError(KeyedError):
    """A window that gives no recognition (e.g. the model's scores are not finite)."""


@dataclass
class Window:
    sample: np.ndarray              # (C, T, J, E), only frames where a chosen entity was seen
    stamps: list[int]               # capture stamps (ns) of those frames
    entity_ids: list[str | None]    # per slot; None: zero-padded
    problems: list[Problem] = field(default_factory=list)  # suspicious, but still recognised


@dataclass
class Recognition:
    stamp: int                      # capture time of the newest frame (ns)
    window_start: int               # capture time of the oldest frame (ns)
    class_id: int
    label: str
    confidence: float
    scores: np.ndarray              # (K,) probabilities
    class_names: list[str]
    entity_ids: list[str]           # "" for a padded slot
    num_observed: int
    padded: bool = field(init=False)

    def __post_init__(self):
        self.padded = self.num_observed < len(self.entity_ids)


class LiveRecognizer:
    def __init__(self, meta: CheckpointMeta, input_shape: tuple[int, int, int, int],
                 predict: Callable[[np.ndarray], np.ndarray], settings: Settings | None = None,
                 input_axes: str = "optical"):
        """``input_shape``: the model's (C, T, J, E); ``predict``: (N, C, T, J, E) -> logits;
        ``input_axes``: the axis convention of incoming joints (ista_ros.core.axes)."""
        self.meta = meta
        self.input_axes = check_axes(input_axes)
        self.settings = settings or Settings()
        self.num_channels, _, self.num_joints, self.num_slots = input_shape
        unknown = [what for what, value in (("joint layout", meta.layout), ("entity kinds", meta.entity_kinds),
                                            ("coordinate axes", meta.axes)) if value is None]
        if unknown:
            raise CheckpointError(
                f"the checkpoint does not say the {' and '.join(unknown)} of its training data: give model_config, "
                "a config/model YAML that sets layout, entity_kinds and axes.")
        self.layout = get_layout(meta.layout).name
        if get_layout(self.layout).num_joints != self.num_joints:
            raise CheckpointError(f"the checkpoint's layout {meta.layout!r} does not have the model's {self.num_joints} joints.")
        if len(meta.entity_kinds) != self.num_slots:
            raise CheckpointError(f"the checkpoint lists {len(meta.entity_kinds)} entity kinds for {self.num_slots} entities.")
        self.predict = predict
        capacity = self.settings.window_frames or int(self.settings.window_seconds * MAX_RATE_HZ) + 1
        self.buffer = SkeletonBuffer(capacity, forget_after=self.settings.forget_after)
        self._lock = threading.Lock()
        self._chosen: list[str | None] = []
        self._smoothed: np.ndarray | None = None
        self._smoothed_ids: list[str | None] = []

    # ------------------------------------------------------------------ intake
    def push(self, stamp: int, skeletons: list[SkeletonInput]) -> tuple[FrameEvent, list[Problem]]:
        problems = []
        # e.g. hands next to bodies for a two-person model: not for this model, and not
        # counted against max_entities (16 hands must not push the people out)
        skeletons = [s for s in skeletons if any(fits(kind, s.kind) for kind in self.meta.entity_kinds)]
        if len(skeletons) > self.settings.max_entities:
            problems.append(Problem("too_many", f"a frame holds {len(skeletons)} skeletons, more than max_entities="
                                                f"{self.settings.max_entities}; only the first {self.settings.max_entities} are used."))
            skeletons = skeletons[:self.settings.max_entities]
        observations, seen = [], set()
        for skeleton in skeletons:
            try:
                obs = self.observation(skeleton)
            except SkeletonError as err:
                problems.append(Problem(err.key, f"skeleton {skeleton.id!r} dropped: {err}"))
                continue
            if obs.id in seen:
                problems.append(Problem("duplicate_id", f"skeleton id {obs.id!r} appears twice in one frame; the second is dropped."))
                continue
            seen.add(obs.id)
            observations.append(obs)
        with self._lock:
            event = self.buffer.push(stamp, observations)
        return event, problems

    def observation(self, skeleton: SkeletonInput) -> Observation:
        """Validate one skeleton and map it to the checkpoint's layout and axes, in a new
        array (SkeletonError if unusable)."""
        points = np.asarray(skeleton.points, dtype=np.float32)
        if points.size == 0:
            raise SkeletonError("empty", "it has no joints.")
        if points.ndim != 2 or points.shape[1] < self.num_channels:
            raise SkeletonError("shape", f"its joints have shape {points.shape}, expected (J, {self.num_channels}).")
        if not np.all(np.isfinite(points)):
            raise SkeletonError("not_finite", "it has NaN or infinite coordinates.")
        farthest = float(np.abs(points).max())
        if farthest > self.settings.max_coordinate:
            raise SkeletonError("implausible", f"it has a coordinate of {farthest:.3g}, beyond max_coordinate="
                                               f"{self.settings.max_coordinate:g} m (are the joints in metres?).")
        layout = skeleton.layout or self.layout  # a source that names no layout speaks the model's
        try:
            points = convert(points, layout, self.layout)
        except LayoutError as err:
            raise SkeletonError("layout", f"{err}.") from None
        if points.shape[1] >= 3:
            xyz = convert_axes(points[:, :3], self.input_axes, self.meta.axes)
            points = np.concatenate([xyz, points[:, 3:]], axis=1)  # never the caller's array
        return Observation(skeleton.id, skeleton.kind, points)

    # ------------------------------------------------------------------ window
    def window(self) -> Window | None:
        """The newest window, or None while fewer than ``min_frames`` frames show a chosen entity."""
        with self._lock:
            stamps = self.buffer.window_stamps(self.settings.window_frames, self.settings.window_seconds)
            candidates = [Candidate(h.id, h.kind, h.first_seen, h.last_seen, h.centre)
                          for h in self.buffer.histories.values()]
            if not stamps or not candidates:
                return None
            ids = choose(candidates, self.meta.entity_kinds, self.settings.entity_rule, self._chosen)
            self._chosen = ids
            sample = self.buffer.gather(ids, stamps, self.num_channels, self.num_joints)
        seen = np.any(sample != 0, axis=(0, 2, 3))  # frames where a chosen entity was seen
        if seen.sum() < self.settings.min_frames:
            return None
        sample = sample[:, seen]
        return Window(sample, [s for s, keep in zip(stamps, seen) if keep], ids, self._posture_problems(sample))

    def _posture_problems(self, sample: np.ndarray) -> list[Problem]:
        """Most people in the window hang upside down or lie in the checkpoint's axes: the
        joints almost certainly came in other axes than ``input_axes`` says."""
        ends = get_layout(self.layout).head_and_feet()
        if ends is None or self.num_channels < 3:
            return []
        head, feet = ends
        present = np.any(sample != 0, axis=(0, 2))  # (T, E)
        directions = []  # per person: mean feet-to-head vector, unit length
        for e in np.flatnonzero(present.any(axis=0)):
            body = sample[:3, :, :, e][:, present[:, e]]  # (3, T', J)
            rise = (body[:, :, head] - body[:, :, feet].mean(axis=2)).mean(axis=1)
            if np.linalg.norm(rise) > 0:
                directions.append(rise / np.linalg.norm(rise))
        fallen = sum(float(d @ up_vector(self.meta.axes)) < UPRIGHT_COSINE for d in directions)
        if fallen * 2 <= len(directions):
            return []
        likely = likely_input_axes(np.mean(directions, axis=0), self.input_axes, self.meta.axes)
        hint = (f"input_axes (for ista-ros play: player.axes) is probably {likely!r}" if likely
                else "check the frame the pose source publishes in")
        return [Problem("axes", f"{fallen} of {len(directions)} people stand upside down or lie in the "
                                f"checkpoint's {self.meta.axes!r} axes after conversion from input_axes="
                                f"{self.input_axes!r}: {hint}.")]

    # ------------------------------------------------------------------ inference
    def model_input(self, window: Window) -> np.ndarray:
        return model_input(window.sample, self.meta.preprocessing)[None]

    def classify(self, window: Window, x: np.ndarray | None = None) -> Recognition:
        """Recognise ``window`` (``x``: its model input when already computed). WindowError
        when the model's scores are not finite: nothing of this window is remembered."""
        x = self.model_input(window) if x is None else x
        logits = np.asarray(self.predict(x), dtype=np.float64)[0]
        if not np.all(np.isfinite(logits)):
            raise WindowError("not_finite_output", "the model gave NaN or infinite scores for a window; it is "
                                                   "skipped, and the windows after it do not remember it.")
        scores = self._smooth(softmax(logits), window.entity_ids).astype(np.float32)
        class_id = int(np.argmax(scores))
        observed = sum(i is not None for i in window.entity_ids)
        return Recognition(
            stamp=window.stamps[-1], window_start=window.stamps[0], class_id=class_id,
            label=self.meta.class_names[class_id], confidence=float(scores[class_id]),
            scores=scores, class_names=list(self.meta.class_names),
            entity_ids=[i or "" for i in window.entity_ids], num_observed=observed)

    def _smooth(self, scores: np.ndarray, ids: list[str | None]) -> np.ndarray:
        """EMA over probabilities, restarted when the entities change (another scene)."""
        alpha = self.settings.smoothing
        if alpha > 0 and self._smoothed is not None and ids == self._smoothed_ids:
            scores = alpha * self._smoothed + (1 - alpha) * scores
        self._smoothed, self._smoothed_ids = scores, list(ids)
        return scores


def softmax(logits: np.ndarray) -> np.ndarray:
    z = np.exp(logits - logits.max())
    return z / z.sum()
