"""Which tracked entities are recognised together: groups that fit the model's slots.

Every stride the recognizer hands all tracked entities (``Entity``: id, kind, first and
last sight, its centres over the recent frames) to a ``GroupTracker``, which returns the
groups to recognise, each with the entity ids of the model's slots (None: zero-padded).

How groups form, by the checkpoint's slot kinds (``CheckpointMeta.entity_kinds``):

- **People** (any model without hand slots, e.g. ["person", "person"]): entities whose
  centres stay within ``radius`` metres of each other. "Stay" is the median, over the
  frames of the last ``recent_seconds`` in which both were seen, of the distance between
  their centres (the mean of their joints): one noisy frame or a brief lunge changes
  nothing. The pairs nearest together group first; a group then takes the nearest other
  entities while every member stays within the radius of all the others, up to the
  number of slots.
- **Hands** (slots such as ["left_hand", "right_hand"] or [..., "object"]): the two hands
  of one person. A hand tied to a body is named ``<body id>_<side>_hand`` by the keypoints
  node, so hands with the same body id belong together at any distance; hands without a
  body pair with the nearest compatible hand (one fits the left slot, the other the right)
  within ``hand_radius``, never with a hand tied to another body. Tied pairs go first,
  then the nearest. The group then takes the object (an entity of a non-hand kind) nearest
  to either hand, within ``hand_radius``.

Every entity belongs to at most one group. A group lasts while all its members are tracked
and stay within ``leave_factor`` times the radius that formed it (hysteresis: a pair
standing at the radius does not flicker in and out), and keeps its id, which is made of
its members' ids (``group_id``). A member leaving, or a new member joining, ends the group;
the new membership is a new group with a new id. At most ``max_groups`` groups are
returned, the nearest first (a group that already exists counts as ``leave_factor`` times
nearer, so a newcomer displaces it only when clearly nearer). An entity in no group is
recognised alone, its other slots padded, only when ``lone_entities`` is set; such groups
come after the others, the longest tracked first.

Inside a group, entities fill the slots as ``ista_ros.core.entities.choose`` fills them:
by kind, then by first sight, so the slot order does not flip from one stride to the next.

The default radius comes from the demo generator (``ista_ros.synthetic.interactions``):
over all frames of 200 samples of each of its ten interaction classes, the distance
between the two people's centres has a median of 0.99 m, a 99th percentile of 3.53 m and
a maximum of 4.28 m (waving and pointing from up to 3.5 m, approaching from 3.6 m, walking
apart to 4.3 m). 3.6 m keeps the 99th percentile; with the default leave factor of 1.2 a
pair that formed stays a group up to 4.32 m, beyond the largest distance seen. The hand
radius comes from the same data: the distance between the two hands of one person has a
median of 0.55 m and a 99th percentile of 1.23 m (arms spread to wave or balance a kick).
"""
from __future__ import annotations

import itertools
import re
from dataclasses import dataclass

import numpy as np

from ista_ros.core.buffer import EntityHistory
from ista_ros.core.entities import Candidate, choose, fits
from ista_ros.errors import ConfigError

INTERACTION_RADIUS = 3.6  # m; see the module docstring
HAND_RADIUS = 1.25  # m
LEAVE_FACTOR = 1.2
RECENT_SECONDS = 1.0
MAX_GROUPS = 4
ID_SEPARATOR = "+"
_TIED_HAND = re.compile(r"^(?P<body>.+)_(?:left|right)_hand$")


@dataclass
class Entity:
    """One tracked entity and its recent positions."""
    id: str
    kind: str
    first_seen: int  # capture stamps, ns
    last_seen: int
    stamps: np.ndarray  # (N,) capture stamps (ns) of its recent frames, oldest first
    centres: np.ndarray  # (N, C) the mean of its joints in each of those frames

    @classmethod
    def from_history(cls, history: EntityHistory, since: int = 0) -> Entity:
        """From a ``SkeletonBuffer`` history, keeping the frames stamped at or after ``since``."""
        frames = [(stamp, points) for stamp, points, _ in history.frames if stamp >= since]
        return cls(history.id, history.kind, history.first_seen, history.last_seen,
                   np.array([stamp for stamp, _ in frames], np.int64),
                   np.array([points.mean(axis=0) for _, points in frames], np.float64))


@dataclass
class Group:
    id: str
    entity_ids: list[str | None]  # per slot; None: zero-padded
    spread: float  # m: the largest distance between its members (hands: between the hands)

    @property
    def members(self) -> list[str]:
        return [i for i in self.entity_ids if i is not None]


@dataclass(frozen=True)
class GroupSettings:
    radius: float = INTERACTION_RADIUS    # m, people within it form a group
    hand_radius: float = HAND_RADIUS      # m, untied hands and objects within it join a hand
    leave_factor: float = LEAVE_FACTOR    # a group ends beyond leave_factor x its radius
    recent_seconds: float = RECENT_SECONDS  # distances are medians over this recent time
    max_groups: int = MAX_GROUPS
    lone_entities: bool = False           # recognise an entity in no group alone, padded

    def __post_init__(self):
        if self.radius <= 0 or self.hand_radius <= 0:
            raise ConfigError(f"the group radii must be positive, got radius={self.radius} "
                              f"and hand_radius={self.hand_radius}.")
        if self.leave_factor < 1.0:
            raise ConfigError("leave_factor must be at least 1 (a group ends farther out than it forms), "
                              f"got {self.leave_factor}.")
        if self.recent_seconds <= 0 or self.max_groups < 1:
            raise ConfigError("recent_seconds must be positive and max_groups at least 1.")


def group_id(entity_ids) -> str:
    """The id of a group: its members' ids, sorted, joined by '+' (the same for the same members)."""
    return ID_SEPARATOR.join(sorted(i for i in entity_ids if i is not None))


def is_hand(kind: str) -> bool:
    return kind.endswith("hand")


def tied_body(entity_id: str) -> str | None:
    """The body id a hand is tied to (``person_0_left_hand`` -> ``person_0``), or None."""
    match = _TIED_HAND.match(entity_id)
    return match.group("body") if match else None


class GroupTracker:
    """Groups of entities for the model's slots, stable from one stride to the next."""

    def __init__(self, slot_kinds: list[str], settings: GroupSettings | None = None):
        self.slot_kinds = list(slot_kinds)
        self.settings = settings or GroupSettings()
        self.hands = any(is_hand(kind) for kind in self.slot_kinds)
        self.groups: dict[str, Group] = {}  # the groups returned last, by id
        self._distances = _Distances([], self.settings.recent_seconds)

    def reset(self) -> None:
        self.groups.clear()

    def update(self, entities: list[Entity]) -> list[Group]:
        """The groups to recognise now, following the rule in the module docstring."""
        entities = [e for e in entities if len(e.stamps) and any(fits(k, e.kind) for k in self.slot_kinds)]
        self._distances = _Distances(entities, self.settings.recent_seconds)
        by_id = {e.id: e for e in entities}
        free = dict(by_id)
        kept = [members for members in self._kept(by_id) if self._take(members, free)]
        formed = [members for members in self._formed(free) if self._take(members, free, self._fits)]
        grown = [self._grow(members, free) for members in kept + formed]
        full = [self._group(members) for members in grown]
        rank = {g.id: (g.spread / self.settings.leave_factor if g.id in self.groups else g.spread) for g in full}
        full.sort(key=lambda g: (rank[g.id], g.id))
        lone = []
        if self.settings.lone_entities:
            lone = [self._group([e]) for e in sorted(free.values(), key=lambda e: (e.first_seen, e.id))]
        chosen = (full + lone)[:self.settings.max_groups]
        self.groups = {g.id: g for g in chosen}
        return chosen

    # ------------------------------------------------------------------ rules
    def _kept(self, by_id: dict[str, Entity]) -> list[list[Entity]]:
        """Last stride's groups (not lone ones) whose members are all here and stay close."""
        kept = []
        for group in self.groups.values():
            if len(group.members) < 2 or not all(i in by_id for i in group.members):
                continue
            members = [by_id[i] for i in group.members]
            if self._holds(members, self.settings.leave_factor):
                kept.append(members)
        return kept

    def _holds(self, members: list[Entity], factor: float) -> bool:
        distance = self._distances
        if not self.hands:
            return all(distance(a, b) <= factor * self.settings.radius for a, b in itertools.combinations(members, 2))
        hands = [m for m in members if is_hand(m.kind)]
        others = [m for m in members if not is_hand(m.kind)]
        limit = factor * self.settings.hand_radius
        return (len(hands) == 2 and self._hand_pair(*hands, limit)
                and all(min(distance(o, h) for h in hands) <= limit for o in others))

    def _hand_pair(self, a: Entity, b: Entity, limit: float) -> bool:
        body_a, body_b = tied_body(a.id), tied_body(b.id)
        if body_a is not None and body_b is not None:
            return body_a == body_b
        return self._distances(a, b) <= limit

    def _formed(self, free: dict[str, Entity]) -> list[list[Entity]]:
        """New pairs among the free entities, in the order they get to form (nearest first)."""
        if self.hands:
            hands = [e for e in free.values() if is_hand(e.kind)]
            pairs = [(a, b) for a, b in itertools.combinations(hands, 2)
                     if self._hand_pair(a, b, self.settings.hand_radius)]
        else:
            pairs = [(a, b) for a, b in itertools.combinations(free.values(), 2)
                     if self._distances(a, b) <= self.settings.radius]
        return [list(pair) for pair in sorted(pairs, key=self._pair_order)]

    def _pair_order(self, pair: tuple[Entity, Entity]) -> tuple:
        """Hands tied to the same body first, then the nearest."""
        a, b = pair
        tied = tied_body(a.id) is not None and tied_body(a.id) == tied_body(b.id)
        return (not tied, self._distances(a, b), a.id, b.id)

    def _grow(self, members: list[Entity], free: dict[str, Entity]) -> list[Entity]:
        """Add the nearest free entities that qualify (people: a further person; hands: the
        object) while slots are left."""
        while len(members) < len(self.slot_kinds):
            joining = [e for e in free.values() if not (self.hands and is_hand(e.kind))
                       and self._fits(members + [e]) and self._holds(members + [e], 1.0)]
            if not joining:
                break
            nearest = min(joining, key=lambda e: (min(self._distances(e, m) for m in members), e.id))
            members = members + [nearest]
            del free[nearest.id]
        return members

    # ------------------------------------------------------------------ helpers
    def _fits(self, members: list[Entity]) -> bool:
        return len([i for i in self._slots(members) if i is not None]) == len(members)

    def _slots(self, members: list[Entity]) -> list[str | None]:
        candidates = [Candidate(m.id, m.kind, m.first_seen, m.last_seen, m.centres[-1]) for m in members]
        previous = self.groups.get(group_id(m.id for m in members))
        return choose(candidates, self.slot_kinds, "closest", previous.entity_ids if previous else None)

    @staticmethod
    def _take(members: list[Entity], free: dict[str, Entity], fits=None) -> bool:
        """Claim the members if all are still free (and ``fits(members)``, when given)."""
        if not all(m.id in free for m in members) or (fits is not None and not fits(members)):
            return False
        for m in members:
            del free[m.id]
        return True

    def _group(self, members: list[Entity]) -> Group:
        hands = [m for m in members if is_hand(m.kind)] if self.hands else members
        spread = max((self._distances(a, b) for a, b in itertools.combinations(hands, 2)), default=0.0)
        return Group(group_id(m.id for m in members), self._slots(members), spread)


class _Distances:
    """Median distance between two entities' centres over the recent frames both were seen
    in (inf when there is none), for all pairs at once."""

    def __init__(self, entities: list[Entity], recent_seconds: float):
        self.index = {e.id: i for i, e in enumerate(entities)}
        if not entities:
            return
        since = max(int(e.stamps[-1]) for e in entities) - int(round(recent_seconds * 1e9))
        recent = [e.stamps >= since for e in entities]
        stamps = np.unique(np.concatenate([e.stamps[keep] for e, keep in zip(entities, recent)]))
        grid = np.full((len(entities), len(stamps), entities[0].centres.shape[-1]), np.nan)
        for i, (e, keep) in enumerate(zip(entities, recent)):
            grid[i, np.searchsorted(stamps, e.stamps[keep])] = e.centres[keep]
        self.medians = _nan_median(np.linalg.norm(grid[:, None] - grid[None], axis=-1))

    def __call__(self, a: Entity, b: Entity) -> float:
        return float(self.medians[self.index[a.id], self.index[b.id]])


def _nan_median(values: np.ndarray) -> np.ndarray:
    """Median over the last axis ignoring NaN; inf where all are NaN (np.nanmedian warns there)."""
    count = np.sum(~np.isnan(values), axis=-1, keepdims=True)
    ordered = np.sort(np.where(np.isnan(values), np.inf, values), axis=-1)
    low = np.take_along_axis(ordered, np.maximum(count - 1, 0) // 2, axis=-1)
    high = np.take_along_axis(ordered, count // 2, axis=-1)
    return np.where(count > 0, (low + high) / 2, np.inf)[..., 0]
