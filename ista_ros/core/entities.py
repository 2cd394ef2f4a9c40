"""Which tracked entities fill the model's entity slots.

A checkpoint has E slots, each of a kind (``CheckpointMeta.entity_kinds``, e.g.
["person", "person"] or ["left_hand", "right_hand"]). A slot takes an entity of its kind;
an entity of unknown kind ("" or, for hand slots, "hand") fits as a second choice.

The choice, in order of priority:
1. fill as many slots as possible (missing ones are zero-padded, as training data is);
2. prefer exact kind matches;
3. the rule:
   - ``closest`` (default): the entities closest together (sum of the distances between
     their centres, the mean of their joints): for two people, the pair that is most
     likely interacting;
   - ``oldest``: the entities tracked the longest (stable when people walk by);
4. keep the previous choice on a tie.
Slots of the same kind are then ordered by when their entity was first seen, so the
order does not flip from one window to the next. With many candidates only the
``MAX_CANDIDATES`` seen most recently are considered (the search is exhaustive).
"""
from __future__ import annotations

import itertools
from dataclasses import dataclass

import numpy as np

from ista_ros.errors import ConfigError

RULES = ("closest", "oldest")
MAX_CANDIDATES = 8
UNKNOWN_KINDS = ("", "entity")
# Skeleton.msg kinds; a checkpoint slot may also be "entity" (any kind).
KINDS = ("person", "left_hand", "right_hand", "hand", "object", *UNKNOWN_KINDS)


@dataclass
class Candidate:
    id: str
    kind: str
    first_seen: int  # capture stamps, ns
    last_seen: int
    centre: np.ndarray  # (C,)


def fits(slot_kind: str, kind: str) -> bool:
    """Whether an entity of ``kind`` may fill a slot of ``slot_kind``."""
    if slot_kind in UNKNOWN_KINDS or kind in UNKNOWN_KINDS or slot_kind == kind:
        return True
    return kind == "hand" and slot_kind.endswith("hand")


def choose(candidates: list[Candidate], slot_kinds: list[str], rule: str = "closest",
           previous: list[str | None] | None = None) -> list[str | None]:
    """Ids for the slots (None: padded), following the rule in the module docstring."""
    if rule not in RULES:
        raise ConfigError(f"entity rule {rule!r} is unknown; choose one of {', '.join(RULES)}.")
    pool = sorted(candidates, key=lambda c: (-c.last_seen, c.first_seen, c.id))[:MAX_CANDIDATES]
    previous_set = {i for i in previous or [] if i is not None}
    best, best_cost = [None] * len(slot_kinds), None
    for assignment in _assignments(pool, slot_kinds):
        cost = _cost(assignment, slot_kinds, rule, previous_set)
        if best_cost is None or cost < best_cost:
            best, best_cost = assignment, cost
    return [c.id if c is not None else None for c in _order(best, slot_kinds)]


def _assignments(pool: list[Candidate], slot_kinds: list[str]):
    padded = pool + [None] * len(slot_kinds)
    seen = set()
    for assignment in itertools.permutations(padded, len(slot_kinds)):
        key = tuple(id(c) if c is not None else None for c in assignment)
        if key in seen:
            continue
        seen.add(key)
        if all(c is None or fits(kind, c.kind) for c, kind in zip(assignment, slot_kinds)):
            yield list(assignment)


def _cost(assignment, slot_kinds, rule: str, previous_set: set[str]) -> tuple:
    chosen = [c for c in assignment if c is not None]
    exact = sum(c is not None and c.kind == kind for c, kind in zip(assignment, slot_kinds))
    if rule == "closest":
        spread = sum(float(np.linalg.norm(a.centre - b.centre)) for a, b in itertools.combinations(chosen, 2))
    else:
        spread = sum(c.first_seen for c in chosen)
    changed = len({c.id for c in chosen} ^ previous_set)
    return (-len(chosen), -exact, round(spread, 6), changed)


def _order(assignment: list[Candidate | None], slot_kinds: list[str]) -> list[Candidate | None]:
    """Within each group of slots of one kind: entities by first sight, padding last."""
    ordered = list(assignment)
    for kind in set(slot_kinds):
        slots = [i for i, k in enumerate(slot_kinds) if k == kind]
        group = sorted((assignment[i] for i in slots),
                       key=lambda c: (c is None, c.first_seen if c else 0.0, c.id if c else ""))
        for i, c in zip(slots, group):
            ordered[i] = c
    return ordered
