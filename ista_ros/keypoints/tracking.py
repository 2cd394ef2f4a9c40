"""Stable identities across frames by association on image position and size.

Each detection is summarised by a box (centre, size = box diagonal in pixels). The cost
of pairing a track with a detection is the centre distance in units of their mean size
plus the absolute log ratio of the sizes; pairs above ``max_cost`` never match. With
at most a handful of people and hands per frame the optimal assignment is found by
exhaustive search (no solver dependency). Tracks not seen for ``max_age`` seconds are
forgotten; until then a returning entity takes its old id back (re-identification
after short occlusions).
"""
from __future__ import annotations

import itertools
from dataclasses import dataclass

import numpy as np


def box_of(points: np.ndarray) -> tuple[np.ndarray, float]:
    """(centre (2,), diagonal) of the bounding box of pixels (J, 2)."""
    low, high = points.min(axis=0), points.max(axis=0)
    return (low + high) / 2.0, float(max(np.linalg.norm(high - low), 1.0))


def assign(cost: np.ndarray, max_cost: float) -> list[tuple[int, int]]:
    """Minimum-cost one-to-one pairs (row, col) with cost <= max_cost.

    Exhaustive over partial matchings: meant for the small counts of this use
    (a few rows and columns), where it is exact and fast enough.
    """
    rows, cols = cost.shape
    if rows == 0 or cols == 0:
        return []
    if rows > cols:
        return [(r, c) for c, r in assign(cost.T, max_cost)]
    best, best_pairs = (0, 0.0), []
    # Every way to give each row a distinct column or none (None = unmatched).
    for choice in itertools.product(range(-1, cols), repeat=rows):
        taken = [c for c in choice if c >= 0]
        if len(taken) != len(set(taken)):
            continue
        pairs = [(r, c) for r, c in enumerate(choice) if c >= 0 and cost[r, c] <= max_cost]
        if len(pairs) != len(taken):
            continue
        score = (len(pairs), -sum(cost[r, c] for r, c in pairs))  # most pairs, then cheapest
        if score > best:
            best, best_pairs = score, pairs
    return best_pairs


@dataclass
class Track:
    id: str
    centre: np.ndarray
    size: float
    last_seen: float


class Tracker:
    """Gives each detection the id of the track it continues, or a new id."""

    def __init__(self, prefix: str, max_age: float = 1.0, max_cost: float = 1.0):
        self.prefix, self.max_age, self.max_cost = prefix, max_age, max_cost
        self.tracks: list[Track] = []
        self._next = 0

    @staticmethod
    def cost(track: Track, centre: np.ndarray, size: float) -> float:
        mean_size = (track.size + size) / 2.0
        return float(np.linalg.norm(track.centre - centre) / mean_size
                     + abs(np.log(size / track.size)))

    def update(self, boxes: list[tuple[np.ndarray, float]], stamp: float) -> list[Track]:
        """Match ``boxes`` (centre, size) seen at ``stamp`` (s); one track per box."""
        self.tracks = [t for t in self.tracks if stamp - t.last_seen <= self.max_age]
        cost = np.array([[self.cost(t, c, s) for c, s in boxes] for t in self.tracks])
        pairs = dict((d, t) for t, d in assign(cost.reshape(len(self.tracks), len(boxes)),
                                               self.max_cost))
        matched = []
        for d, (centre, size) in enumerate(boxes):
            if d in pairs:
                track = self.tracks[pairs[d]]
                track.centre, track.size, track.last_seen = np.asarray(centre), size, stamp
            else:
                track = Track(f"{self.prefix}_{self._next}", np.asarray(centre), size, stamp)
                self._next += 1
                self.tracks.append(track)
            matched.append(track)
        return matched
