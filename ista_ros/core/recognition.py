"""Live recognition without ROS: skeleton frames in, recognised interactions out.

``LiveRecognizer`` is everything the recognizer node does between its subscription and
its publisher, as plain Python, so it is tested without a ROS graph:

- ``push`` (called for every incoming frame; cheap): skips skeletons of kinds the model
  has no slot for, validates the others (finite, within ``max_coordinate`` metres, as many
  joints as their layout has; a per-joint ``confidence``, when the source gives one, as
  long as the joints and in [0, 1]), maps their joint layout and their coordinate axes to
  the checkpoint's, and appends them to the per-entity ring buffers with the fraction of
  the checkpoint layout's joints located (confidence >= ``joint_confidence``; 1 without
  confidence);
- ``windows`` (every stride): forms the groups of entities to recognise together
  (``ista_ros.core.groups``: people within ``interaction_radius``, the hands of one
  person; stable ids made of the members' ids) and gathers each group's last frames into
  a (C, T, J, E) sample, its slots filled by kind and first sight, zero-padding missing
  entities. When entities are in view but no group forms, one "no interaction" window is
  built instead from the entities the model would take (the closest; reason
  ``too_few_entities`` when fewer fitting entities than slots are in view and
  ``lone_entities`` is off, else ``too_far``), so that a subscriber hears "nothing" rather
  than silence. A group with a member that had, on average over its frames in the window,
  fewer than ``min_located_joints`` of its joints located is "no interaction" too (reason
  ``too_few_joints``: the model would read guessed joints). ``Window.problems`` says what
  is suspicious about a window (people upside down or lying: the input axes are probably
  wrong);
- ``recognise``: the model inputs (``window.model_input``, the function training uses)
  of all windows in ONE batched predict call, calibrated probabilities
  (softmax(logits / ``meta.temperature``)), optional EMA smoothing per group (dropped when
  the group ends), and the answer: the top class, or "no interaction" (class_id
  ``NO_INTERACTION``, label ``NO_INTERACTION_LABEL``, with a reason) when the window was
  implausible, the top class is the checkpoint's ``none`` class, or its probability is
  below ``confidence_threshold``; the scores stay every class's probability. Results come
  best first: interactions by confidence, then the "no interaction" answers. A window the
  model gives non-finite scores for is reported as a problem and leaves its group's
  smoothing as it was; the other groups are recognised.

The entity rule of earlier versions (``entity_rule``: the closest or the oldest entities
fill the slots) is retired: groups decide who is recognised together, and hysteresis in
the group tracker gives the stability the ``oldest`` rule gave.

Problems are reported, never swallowed: ``push`` returns them, a window carries them, and
the errors carry a ``key`` so that the node can rate-limit its warnings and count them.

``push`` and ``windows`` may run on different threads (they share a lock); ``windows`` and
``recognise`` belong to one worker thread (the groups and the smoothing live there).
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
from ista_ros.core.groups import (
    HAND_RADIUS,
    INTERACTION_RADIUS,
    LEAVE_FACTOR,
    MAX_GROUPS,
    Entity,
    GroupSettings,
    GroupTracker,
    group_id,
)
from ista_ros.core.layouts import LayoutError, convert, get_layout
from ista_ros.core.window import model_input
from ista_ros.errors import ConfigError, UserError

MAX_RATE_HZ = 240  # sizes the buffer of a window given in seconds only
UPRIGHT_COSINE = 0.5  # feet-to-head within 60 degrees of up: standing, sitting, bending
NONE_CLASS = "none"  # a checkpoint's class for "no interaction" (the demo model's, ista_ros.synthetic)
# The answer "no interaction" and its reasons: InteractionAction's constants (a test holds them equal).
NO_INTERACTION = -1
NO_INTERACTION_LABEL = "none"
REASON_LOW_CONFIDENCE = "low_confidence"
REASON_TOO_FAR = "too_far"
REASON_TOO_FEW_ENTITIES = "too_few_entities"
REASON_TOO_FEW_JOINTS = "too_few_joints"
REASON_NONE_CLASS = "none_class"
UNGROUPED = (REASON_TOO_FAR, REASON_TOO_FEW_ENTITIES)  # the reasons of a window of entities in no group


@dataclass
class SkeletonInput:
    """One entity as it arrives from a message, before validation."""
    id: str
    kind: str
    layout: str
    points: np.ndarray  # (J, 3)
    confidence: np.ndarray | None = None  # (J,) in [0, 1], in the skeleton's layout; None: the source gives none


@dataclass
class Settings:
    window_frames: int = 0          # at most this many newest frames (0: no limit)
    window_seconds: float = 3.0     # frames at most this old (0: no limit)
    min_frames: int = 8             # no recognition from fewer frames
    smoothing: float = 0.0          # EMA weight of the previous probabilities of a group, [0, 1)
    confidence_threshold: float = 0.0  # a top probability below it is "no interaction" (low_confidence)
    interaction_radius: float = INTERACTION_RADIUS  # m; people this close form a group (ista_ros.core.groups)
    hand_radius: float = HAND_RADIUS  # m; untied hands and objects this close join a hand
    leave_factor: float = LEAVE_FACTOR  # a group ends beyond leave_factor x the radius
    max_groups: int = MAX_GROUPS    # groups recognised per stride, the nearest first
    lone_entities: bool = False     # recognise an entity in no group alone, its other slots padded
    forget_after: float = 1.0       # seconds an unseen entity is remembered
    max_entities: int = 16          # skeletons per frame beyond this are ignored
    max_coordinate: float = 100.0   # metres; a skeleton with a coordinate beyond is dropped
    # A joint counts as located when its confidence reaches this. 0.5: MediaPipe's visibility
    # is a probability (its own drawing utilities hide landmarks below 0.5); occluded and
    # off-frame joints fall well below it.
    joint_confidence: float = 0.5
    # A group with a member whose located fraction of joints, averaged over the window, is
    # below this is "no interaction" (too_few_joints); 0: off. 0.5 keeps a person whose legs
    # leave the frame (the upper body is about 2/3 of ntu25's joints) and drops a head and
    # shoulders or a person half hidden.
    min_located_joints: float = 0.5

    def __post_init__(self):
        if not 0.0 <= self.smoothing < 1.0:
            raise ConfigError(f"smoothing must be in [0, 1), got {self.smoothing}.")
        if self.window_frames <= 0 and self.window_seconds <= 0:
            raise ConfigError("give a window length: window_frames > 0 or window_seconds > 0.")
        if self.min_frames < 1 or self.max_entities < 1:
            raise ConfigError("min_frames and max_entities must be at least 1.")
        if not self.max_coordinate > 0:
            raise ConfigError(f"max_coordinate must be a positive distance in metres, got {self.max_coordinate}.")
        if not (0.0 <= self.joint_confidence <= 1.0 and 0.0 <= self.min_located_joints <= 1.0):
            raise ConfigError(f"joint_confidence and min_located_joints must be in [0, 1], got "
                              f"{self.joint_confidence} and {self.min_located_joints}.")
        self.group_settings()  # its own checks

    def group_settings(self) -> GroupSettings:
        return GroupSettings(radius=self.interaction_radius, hand_radius=self.hand_radius,
                             leave_factor=self.leave_factor, max_groups=self.max_groups,
                             lone_entities=self.lone_entities)


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
    group_id: str = ""              # the group's stable id (ista_ros.core.groups.group_id)
    reason: str = ""                # why it is "no interaction" whatever the model says (REASON_*), or ""


@dataclass
class Recognition:
    stamp: int                      # capture time of the newest frame (ns)
    window_start: int               # capture time of the oldest frame (ns)
    class_id: int                   # NO_INTERACTION for "no interaction"
    label: str                      # NO_INTERACTION_LABEL for "no interaction"
    confidence: float               # the top calibrated probability
    scores: np.ndarray              # (K,) calibrated probabilities of every class
    class_names: list[str]
    entity_ids: list[str]           # "" for a padded slot
    num_observed: int
    group_id: str = ""
    reason: str = ""                # for "no interaction": why (REASON_*)
    padded: bool = field(init=False)

    def __post_init__(self):
        self.padded = self.num_observed < len(self.entity_ids)

    @property
    def is_interaction(self) -> bool:
        return self.class_id != NO_INTERACTION

    @property
    def grouped(self) -> bool:
        """False for the answer about entities in view that formed no group."""
        return self.reason not in UNGROUPED


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
            raise CheckpointError(f"the checkpoint's layout {meta.layout!r} does not have the model's "
                                  f"{self.num_joints} joints.")
        if len(meta.entity_kinds) != self.num_slots:
            raise CheckpointError(f"the checkpoint lists {len(meta.entity_kinds)} entity kinds for "
                                  f"{self.num_slots} entities.")
        self.predict = predict
        capacity = self.settings.window_frames or int(self.settings.window_seconds * MAX_RATE_HZ) + 1
        self.buffer = SkeletonBuffer(capacity, forget_after=self.settings.forget_after)
        self._lock = threading.Lock()
        self.tracker = GroupTracker(meta.entity_kinds, self.settings.group_settings())
        self._new_timeline = False  # set by push when the buffer was cleared; read by windows
        self._smoothed: dict[str, np.ndarray] = {}  # group id -> its last probabilities

    def closed_set_hint(self) -> str:
        """A sentence for the log when this recognizer can only say "no interaction" from the
        plausibility rules: the checkpoint has no ``none`` class (the paper's class sets) and
        no confidence threshold is set, so every plausible group gets one of its classes."""
        if NONE_CLASS in self.meta.class_names or self.settings.confidence_threshold > 0:
            return ""
        return (f"the checkpoint has no class {NONE_CLASS!r} and confidence_threshold is 0: every group in view is "
                "answered with one of its classes; set confidence_threshold (0.5: more likely than not, the "
                "probabilities are calibrated) to hear 'no interaction' (low_confidence) when the model is unsure.")

    # ------------------------------------------------------------------ intake
    def push(self, stamp: int, skeletons: list[SkeletonInput]) -> tuple[FrameEvent, list[Problem]]:
        problems = []
        # e.g. hands next to bodies for a two-person model: not for this model, and not
        # counted against max_entities (16 hands must not push the people out)
        skeletons = [s for s in skeletons if any(fits(kind, s.kind) for kind in self.meta.entity_kinds)]
        if len(skeletons) > self.settings.max_entities:
            problems.append(Problem("too_many", f"a frame holds {len(skeletons)} skeletons, more than max_entities="
                                                f"{self.settings.max_entities}; only the first "
                                                f"{self.settings.max_entities} are used."))
            skeletons = skeletons[:self.settings.max_entities]
        observations, seen = [], set()
        for skeleton in skeletons:
            try:
                obs = self.observation(skeleton)
            except SkeletonError as err:
                problems.append(Problem(err.key, f"skeleton {skeleton.id!r} dropped: {err}"))
                continue
            if obs.id in seen:
                problems.append(Problem("duplicate_id", f"skeleton id {obs.id!r} appears twice in one frame; "
                                                        "the second is dropped."))
                continue
            seen.add(obs.id)
            observations.append(obs)
        with self._lock:
            event = self.buffer.push(stamp, observations)
            if event in (FrameEvent.RESTARTED, FrameEvent.RESUMED):
                self._new_timeline = True  # the groups and their smoothing start over
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
        return Observation(skeleton.id, skeleton.kind, points, self._located(skeleton.confidence, layout))

    def _located(self, confidence: np.ndarray | None, layout: str) -> float:
        """The fraction of the checkpoint layout's joints whose confidence reaches
        ``joint_confidence`` (1 when the source gives no confidence). ``layout`` is the
        skeleton's, already known to convert; its joint count was checked with the points."""
        if confidence is None:
            return 1.0
        confidence = np.asarray(confidence, dtype=np.float32).reshape(-1)
        joints = get_layout(layout).num_joints
        if len(confidence) != joints:
            raise SkeletonError("confidence", f"it has {len(confidence)} joint confidences for {joints} joints.")
        if not np.all((confidence >= 0) & (confidence <= 1)):  # NaN fails too
            raise SkeletonError("confidence", "its joint confidences are not all in [0, 1] (NaN, infinite or "
                                              "another scale: the source breaks Skeleton.msg).")
        # synthesised joints mix their sources' confidences; an extrapolated one (a hand tip) may leave [0, 1]
        mapped = np.clip(convert(confidence[:, None], layout, self.layout)[:, 0], 0.0, 1.0)
        return float(np.mean(mapped >= self.settings.joint_confidence))

    # ------------------------------------------------------------------ windows
    def windows(self) -> list[Window] | None:
        """The windows of this stride, one per group, nearest first (see the module docstring),
        each of at least ``min_frames`` frames; None while the buffer holds fewer frames than
        that (nothing can be said yet), [] when nobody is in view."""
        with self._lock:
            stamps = self.buffer.window_stamps(self.settings.window_frames, self.settings.window_seconds)
            if self._new_timeline:
                self.tracker.reset()
                self._smoothed.clear()
                self._new_timeline = False
            if len(stamps) < self.settings.min_frames:
                return None
            histories = list(self.buffer.histories.values())
            groups = self.tracker.update([Entity.from_history(h, since=stamps[0]) for h in histories])
            chosen = [(g.id, g.entity_ids, self._joints_reason(g.entity_ids, stamps)) for g in groups]
            chosen = chosen or self._no_group(histories)
            self._smoothed = {key: value for key, value in self._smoothed.items() if key in {c[0] for c in chosen}}
            samples = [self.buffer.gather(ids, stamps, self.num_channels, self.num_joints) for _, ids, _ in chosen]
        windows = [self._window(sample, stamps, ids, key, reason)
                   for sample, (key, ids, reason) in zip(samples, chosen)]
        return [w for w in windows if w is not None]

    def window(self) -> Window | None:
        """The first window of ``windows`` (the nearest group), or None."""
        return next(iter(self.windows() or []), None)

    def _joints_reason(self, ids: list[str | None], stamps: list[int]) -> str:
        """REASON_TOO_FEW_JOINTS when a member had too few joints located over the window, else ""."""
        located = self.buffer.located_fractions(ids, stamps).values()
        return REASON_TOO_FEW_JOINTS if min(located, default=1.0) < self.settings.min_located_joints else ""

    def _no_group(self, histories) -> list[tuple[str, list[str | None], str]]:
        """Entities in view but no group: the closest of them as one "no interaction" window."""
        if not histories:
            return []
        candidates = [Candidate(h.id, h.kind, h.first_seen, h.last_seen, h.centre) for h in histories]
        ids = choose(candidates, self.meta.entity_kinds)
        observed = sum(i is not None for i in ids)
        reason = REASON_TOO_FEW_ENTITIES if observed < self.num_slots else REASON_TOO_FAR
        return [(group_id(ids), ids, reason)]

    def _window(self, sample: np.ndarray, stamps: list[int], ids: list[str | None], key: str,
                reason: str) -> Window | None:
        seen = np.any(sample != 0, axis=(0, 2, 3))  # frames where a member was seen
        if seen.sum() < self.settings.min_frames:
            return None
        sample = sample[:, seen]
        return Window(sample, [s for s, keep in zip(stamps, seen) if keep], ids, self._posture_problems(sample),
                      group_id=key, reason=reason)

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

    def model_inputs(self, windows: list[Window]) -> np.ndarray:
        """(G, C, T, J, E): the batch of one stride."""
        return np.concatenate([self.model_input(w) for w in windows])

    def recognise(self, windows: list[Window], x: np.ndarray | None = None) -> tuple[list[Recognition], list[Problem]]:
        """Recognise all ``windows`` in one predict call (``x``: their model inputs when already
        computed); the results best first, and the problems (a window with non-finite scores
        is left out, and its group's smoothing does not remember it)."""
        if not windows:
            return [], []
        x = self.model_inputs(windows) if x is None else x
        logits = np.asarray(self.predict(x), dtype=np.float64)
        results, problems = [], []
        for window, row in zip(windows, logits):
            if not np.all(np.isfinite(row)):
                problems.append(Problem("not_finite_output", f"the model gave NaN or infinite scores for group "
                                        f"{window.group_id!r}; its window is skipped, and its next windows do not "
                                        "remember it."))
                continue
            results.append(self._answer(window, self._smooth(window.group_id, softmax(row / self.meta.temperature))))
        results.sort(key=lambda r: (not r.is_interaction, -r.confidence))
        return results, problems

    def classify(self, window: Window, x: np.ndarray | None = None) -> Recognition:
        """``recognise`` for one window; WindowError when the model's scores are not finite."""
        results, problems = self.recognise([window], x)
        if problems:
            raise WindowError(problems[0].key, problems[0].message)
        return results[0]

    def _answer(self, window: Window, scores: np.ndarray) -> Recognition:
        scores = scores.astype(np.float32)  # as published: confidence is exactly scores[class]
        top = int(np.argmax(scores))
        confidence = float(scores[top])
        reason = window.reason
        if not reason and self.meta.class_names[top] == NONE_CLASS:
            reason = REASON_NONE_CLASS
        if not reason and confidence < self.settings.confidence_threshold:
            reason = REASON_LOW_CONFIDENCE
        class_id, label = (NO_INTERACTION, NO_INTERACTION_LABEL) if reason else (top, self.meta.class_names[top])
        return Recognition(
            stamp=window.stamps[-1], window_start=window.stamps[0], class_id=class_id, label=label,
            confidence=confidence, scores=scores, class_names=list(self.meta.class_names),
            entity_ids=[i or "" for i in window.entity_ids], num_observed=sum(i is not None for i in window.entity_ids),
            group_id=window.group_id, reason=reason)

    def _smooth(self, key: str, scores: np.ndarray) -> np.ndarray:
        """EMA over the probabilities of one group (a new group starts afresh)."""
        alpha = self.settings.smoothing
        if alpha > 0 and key in self._smoothed:
            scores = alpha * self._smoothed[key] + (1 - alpha) * scores
        self._smoothed[key] = scores
        return scores


def softmax(logits: np.ndarray) -> np.ndarray:
    z = np.exp(logits - logits.max())
    return z / z.sum()
