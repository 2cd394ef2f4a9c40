"""Per-entity ring buffers of skeletons with capture stamps, for a live sliding window.

Every source frame (one SkeletonArray) is pushed with its capture stamp and the entities
seen in it, each with the fraction of its joints the source located (``located``), so
that a window can tell an entity mostly guessed (``located_fractions``). Stamps are
integer nanoseconds (exact, as in a ROS header); durations are given in seconds. The
buffer keeps the last ``capacity`` frame stamps and, per entity id, the frames that
entity appeared in. Time is capture time (seconds), never arrival time, so a replayed
recording behaves as it did live.

Rules (each reported to the caller as a FrameEvent, so the node can log it):
- a frame whose stamp equals the newest one is a duplicate: dropped;
- a stamp slightly older than the newest (<= ``reorder_tolerance``) arrived out of order:
  dropped; one much older (the source restarted or a bag looped) starts a new timeline:
  the buffer is cleared and the frame kept;
- a forward jump longer than ``forget_after`` also clears the buffer (the source was
  gone; the old frames would glue two scenes into one window);
- an entity not seen for ``forget_after`` seconds is forgotten;
- a new id that appears where an entity of the same kind vanished, within ``takeover_gap``
  seconds and ``takeover_radius`` metres of its last centre, takes over that entity's
  history: trackers that re-number an entity after a brief occlusion (ids flickering)
  then do not break the window.
"""
from __future__ import annotations

import enum
from collections import deque
from dataclasses import dataclass, field

import numpy as np


def seconds_to_ns(seconds: float) -> int:
    return int(round(seconds * 1e9))


class FrameEvent(enum.Enum):
    ACCEPTED = "accepted"
    DUPLICATE = "duplicate"          # same stamp as the newest frame: dropped
    OUT_OF_ORDER = "out_of_order"    # slightly older than the newest frame: dropped
    RESTARTED = "restarted"          # much older: buffer cleared, frame kept
    RESUMED = "resumed"              # long gap forwards: buffer cleared, frame kept


@dataclass
class Observation:
    """One entity in one frame: (J, C) points already in the model's joint layout, and the
    fraction of those joints the source located (1: all, or the source gives no confidence)."""
    id: str
    kind: str
    points: np.ndarray
    located: float = 1.0


@dataclass
class EntityHistory:
    """The recent frames of one entity (one id), oldest first."""
    id: str
    kind: str
    first_seen: int
    last_seen: int
    frames: deque = field(default_factory=deque)  # (stamp ns, (J, C) points, located), oldest first

    @property
    def centre(self) -> np.ndarray:
        """Mean of the joints in the newest frame: the entity's position for choosing."""
        return self.frames[-1][1].mean(axis=0)


class SkeletonBuffer:
    def __init__(self, capacity: int, forget_after: float = 1.0, reorder_tolerance: float = 0.5,
                 takeover_gap: float = 0.5, takeover_radius: float = 0.5):
        if capacity < 1:
            raise ValueError("the buffer capacity must be at least one frame.")
        self.capacity = capacity
        self.forget_after = seconds_to_ns(forget_after)
        self.reorder_tolerance = seconds_to_ns(reorder_tolerance)
        self.takeover_gap = seconds_to_ns(takeover_gap)
        self.takeover_radius = takeover_radius
        self.stamps: deque[int] = deque(maxlen=capacity)
        self.histories: dict[str, EntityHistory] = {}

    @property
    def newest(self) -> int | None:
        return self.stamps[-1] if self.stamps else None

    def clear(self) -> None:
        self.stamps.clear()
        self.histories.clear()

    def push(self, stamp: int, observations: list[Observation]) -> FrameEvent:
        event = self._check_stamp(stamp)
        if event in (FrameEvent.DUPLICATE, FrameEvent.OUT_OF_ORDER):
            return event
        if event is not FrameEvent.ACCEPTED:
            self.clear()
        self.stamps.append(stamp)
        present = {obs.id for obs in observations}
        vanished = [h for h in self.histories.values() if h.id not in present]
        for obs in observations:
            history = self.histories.get(obs.id) or self._new_history(obs, stamp, vanished)
            history.frames.append((stamp, np.asarray(obs.points, dtype=np.float32), obs.located))
            history.last_seen = stamp
        self._evict(stamp)
        return event

    def _check_stamp(self, stamp: int) -> FrameEvent:
        newest = self.newest
        if newest is None:
            return FrameEvent.ACCEPTED
        if stamp == newest:
            return FrameEvent.DUPLICATE
        if stamp < newest:
            return FrameEvent.OUT_OF_ORDER if newest - stamp <= self.reorder_tolerance else FrameEvent.RESTARTED
        if stamp - newest > self.forget_after:
            return FrameEvent.RESUMED
        return FrameEvent.ACCEPTED

    def _new_history(self, obs: Observation, stamp: int, vanished: list[EntityHistory]) -> EntityHistory:
        heir = self._takeover_candidate(obs, stamp, vanished)
        if heir is not None:
            del self.histories[heir.id]
            vanished.remove(heir)
            heir.id = obs.id
            history = heir
        else:
            history = EntityHistory(obs.id, obs.kind, first_seen=stamp, last_seen=stamp)
        self.histories[obs.id] = history
        return history

    def _takeover_candidate(self, obs: Observation, stamp: int, vanished: list[EntityHistory]) -> EntityHistory | None:
        centre = np.asarray(obs.points, dtype=np.float32).mean(axis=0)
        best, best_distance = None, self.takeover_radius
        for history in vanished:
            if history.kind != obs.kind or stamp - history.last_seen > self.takeover_gap:
                continue
            distance = float(np.linalg.norm(history.centre - centre))
            if distance <= best_distance:
                best, best_distance = history, distance
        return best

    def _evict(self, newest: int) -> None:
        oldest_kept = self.stamps[0]
        for entity_id in list(self.histories):
            history = self.histories[entity_id]
            while history.frames and history.frames[0][0] < oldest_kept:
                history.frames.popleft()
            if not history.frames or newest - history.last_seen > self.forget_after:
                del self.histories[entity_id]

    def window_stamps(self, max_frames: int | None = None, max_seconds: float | None = None) -> list[int]:
        """Stamps of the window: the newest frames, at most ``max_frames`` of them and none
        older than ``max_seconds`` before the newest (either limit may be None)."""
        stamps = list(self.stamps)
        if max_frames:
            stamps = stamps[-max_frames:]
        if max_seconds and stamps:
            oldest = stamps[-1] - seconds_to_ns(max_seconds)
            stamps = [s for s in stamps if s >= oldest]
        return stamps

    def gather(self, ids: list[str | None], stamps: list[int], num_channels: int, num_joints: int) -> np.ndarray:
        """(C, T, J, E) array of the entities ``ids`` at ``stamps``; zeros where an entity was
        not seen and for None (padded) slots."""
        sample = np.zeros((num_channels, len(stamps), num_joints, len(ids)), np.float32)
        position = {s: i for i, s in enumerate(stamps)}
        for slot, entity_id in enumerate(ids):
            if entity_id is None:
                continue
            for stamp, points, _ in self.histories[entity_id].frames:
                t = position.get(stamp)
                if t is not None:
                    sample[:, t, :, slot] = points[:, :num_channels].T
        return sample

    def located_fractions(self, ids: list[str | None], stamps: list[int]) -> dict[str, float]:
        """Per entity of ``ids`` (None: a padded slot, left out), the mean located fraction
        of its joints over the frames of ``stamps`` it was seen in; an entity seen in none of
        them is left out."""
        window = set(stamps)
        fractions = {}
        for entity_id in filter(None, ids):
            located = [f for stamp, _, f in self.histories[entity_id].frames if stamp in window]
            if located:
                fractions[entity_id] = float(np.mean(located))
        return fractions
