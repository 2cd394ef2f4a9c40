"""One colour per group: from a hash of its id (the same in every process and run), or in
order of first appearance (distinct for the first groups of one video). RGB, 0-255.

Pure green and red are left out: they mean "agrees with / differs from the ground truth"."""
from __future__ import annotations

import zlib

Colour = tuple[int, int, int]

PALETTE: tuple[Colour, ...] = (
    (66, 165, 245),   # blue
    (255, 167, 38),   # orange
    (206, 128, 230),  # violet
    (38, 218, 218),   # cyan
    (255, 238, 88),   # yellow
    (240, 98, 146),   # pink
    (161, 136, 127),  # taupe
    (121, 134, 255),  # indigo
)
UNGROUPED: Colour = (150, 150, 150)  # an entity in no group
AGREES: Colour = (76, 217, 100)
DIFFERS: Colour = (255, 69, 58)


def lighter(colour: Colour, amount: float = 0.4) -> Colour:
    """``colour`` moved ``amount`` of the way to white (the joints of a skeleton)."""
    return tuple(int(c + (255 - c) * amount) for c in colour)


def group_colour(group_id: str) -> Colour:
    """The colour of ``group_id``, the same wherever it is asked for."""
    return PALETTE[zlib.crc32(group_id.encode()) % len(PALETTE)]


class ColourBook(dict):
    """group id -> colour, handed out in order of first appearance: the first
    len(PALETTE) groups all differ."""

    def of(self, group_id: str) -> Colour:
        return self.setdefault(group_id, PALETTE[len(self) % len(PALETTE)])
