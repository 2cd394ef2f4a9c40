"""Stable identities across frames by association on image position and size.

Each detection is summarised by a box (centre, size = box diagonal in pixels). The cost
of pairing a track with a detection is the centre distance in units of their mean size
plus the absolute log ratio of the sizes; pairs above ``max_cost`` never match. The
optimal assignment comes from the Hungarian method (O(n^3), no solver dependency): six
bodies and their lingering tracks cost under a millisecond, where an exhaustive search
took 0.1-0.7 s. Tracks not seen for ``max_age`` seconds are forgotten; until then a
returning entity takes its old id back (re-identification after short occlusions).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np


def box_of(points: np.ndarray) -> tuple[np.ndarray, float]:
    """(centre (2,), diagonal) of the bounding box of pixels (J, 2)."""
    low, high = points.min(axis=0), points.max(axis=0)
    return (low + high) / 2.0, float(max(np.linalg.norm(high - low), 1.0))


def assign(cost: np.ndarray, max_cost: float) -> list[tuple[int, int]]:
    """Minimum-cost one-to-one pairs (row, col) with cost <= max_cost: as many pairs as
    possible, then the cheapest such set.

    Pairs above ``max_cost`` are priced so high that any extra pair outweighs every
    difference in the others' costs, which turns "most pairs, then cheapest" into one
    minimum-cost assignment.
    """
    rows, cols = cost.shape
    if rows == 0 or cols == 0:
        return []
    if rows > cols:
        return [(r, c) for c, r in assign(cost.T, max_cost)]
    allowed = cost <= max_cost
    if not allowed.any():
        return []
    too_high = 1.0 + 2.0 * rows * float(np.abs(cost[allowed]).max())
    priced = np.where(allowed, cost, too_high)
    return [(r, c) for r, c in enumerate(_hungarian(priced)) if allowed[r, c]]


def _hungarian(cost: np.ndarray) -> list[int]:
    """Column of each row in a minimum-cost assignment, rows <= cols (shortest augmenting
    paths with row and column potentials)."""
    rows, cols = cost.shape
    row_potential, col_potential = np.zeros(rows + 1), np.zeros(cols + 1)
    owner = np.zeros(cols + 1, dtype=int)  # 1-based row holding each column; 0 = free
    for row in range(1, rows + 1):
        owner[0], free_col = row, 0
        slack, came_from = np.full(cols + 1, np.inf), np.zeros(cols + 1, dtype=int)
        visited = np.zeros(cols + 1, dtype=bool)
        while owner[free_col] != 0:  # grow the tree until it reaches a free column
            visited[free_col] = True
            r = owner[free_col]
            reduced = cost[r - 1] - row_potential[r] - col_potential[1:]
            better = ~visited[1:] & (reduced < slack[1:])
            slack[1:][better], came_from[1:][better] = reduced[better], free_col
            open_slack = np.where(visited[1:], np.inf, slack[1:])
            next_col = int(np.argmin(open_slack)) + 1
            delta = open_slack[next_col - 1]
            row_potential[owner[visited]] += delta
            col_potential[visited] -= delta
            slack[~visited] -= delta
            free_col = next_col
        while free_col:  # flip the augmenting path
            previous = came_from[free_col]
            owner[free_col] = owner[previous]
            free_col = previous
    column_of = [0] * rows
    for col in range(1, cols + 1):
        if owner[col]:
            column_of[owner[col] - 1] = col - 1
    return column_of


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
