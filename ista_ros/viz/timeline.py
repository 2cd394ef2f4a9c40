"""Which recognised labels a video frame shows: the newest labels recognised from frames
captured at or before the frame's own capture stamp, until they are stale. Shared by
`ista-ros render` (bags) and `ista-ros demo --save` (live)."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Iterator

STALE_S = 2.0


@dataclass
class TimedLabels:
    stamp_ns: int  # capture time of the newest frame the actions were recognised from
    latency_ms: float  # from that capture to the actions' arrival in the bag
    groups: list  # ista_ros.viz.scene.GroupLabel


def paired(frames: Iterator[tuple[int, list]], labels: list[TimedLabels], times: list[int]):
    """For each video time (ns), the newest ``frames`` (stamp, entities) captured by then and
    the newest ``labels`` at or before their stamp (None when there are none, or older than
    STALE_S): (stamp, entities, labels or None)."""
    current = next(frames)
    upcoming = next(frames, None)
    newest = -1
    for time_ns in times:
        while upcoming is not None and upcoming[0] <= time_ns:
            current, upcoming = upcoming, next(frames, None)
        stamp, entities = current
        while newest + 1 < len(labels) and labels[newest + 1].stamp_ns <= stamp:
            newest += 1
        fresh = newest >= 0 and stamp - labels[newest].stamp_ns <= STALE_S * 1e9
        yield stamp, entities, labels[newest] if fresh else None
