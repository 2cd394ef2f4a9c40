"""Labels of recordings: which interaction happens when, to turn recorded skeletons into
training windows (``ista-train prepare bags``). Plain Python and numpy.

Everything ends as ``Segment``s: a label over a span of capture time [start, end) in
nanoseconds, for the given entities (none given: any). They come from either source:

- **A labels CSV**, one row per interaction, with a header line naming the columns
  ``bag,start,end,label`` and optionally ``entities``::

      bag,start,end,label,entities
      monday_1,2.0,5.5,high five,person_0+person_1
      monday_1,7.25,9.0,wave away,
      monday_2,1764620000.5,1764620003.0,handshake,

  ``bag`` is the bag's directory name (or its .mcap file's name); ``entities`` the ids of
  the entities doing it, joined by '+' (empty: whoever is in view). A stamp is, by its
  size: an integer of 16 or more digits, absolute nanoseconds; a number of at least 1e8,
  absolute seconds (both as in the skeletons' header stamps, the capture times); anything
  smaller, seconds after the bag's first skeleton frame. ``end`` is inclusive. Lines
  starting with '#' are comments.
- **A labels topic** recorded with the skeletons (``ista-ros record my_bag skeletons
  labels``). A message says the label of the frames from then on until the next message;
  an empty label ("") ends the labelled interaction. Its time is, for ``std_msgs/String``
  (``data`` = the label), its arrival: the frames that arrive after it; for an
  ``ista_ros/InteractionAction`` (``label``, ``entity_ids``; the demo's ground truth on
  ``demo/truth``, one message per frame), its header stamp: the capture time of the
  frame it labels. ``InteractionActionArray`` carries one such label per group.

A window (the capture stamps of its frames and the ids of its entities) takes the label
whose segments, among those for its entities, hold at least ``min_share`` of its frames
(``label_window``); any other window is not used for training.
"""
from __future__ import annotations

import csv
import re
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Iterable, Sequence

import numpy as np

from ista_ros.errors import UserError

NS_PER_S = 1_000_000_000
ABSOLUTE_NS_DIGITS = 16  # an integer this long is nanoseconds since the epoch (2001 onwards)
ABSOLUTE_S = 1e8  # seconds this large are since the epoch (1973 onwards); smaller: since the bag's start
COLUMNS = ("bag", "start", "end", "label")
ENTITY_SEPARATOR = "+"
_INTEGER = re.compile(r"^\d+$")


class LabelsError(UserError, ValueError):
    """A labels file or labels topic that cannot be used; the message names it."""


@dataclass(frozen=True)
class Segment:
    """``label`` over capture times [start, end) ns, for ``entities`` (empty: any)."""
    start: int
    end: int
    label: str
    entities: frozenset[str] = frozenset()


@dataclass(frozen=True)
class Stamp:
    """A time as written: nanoseconds since the epoch (absolute) or after the bag's start."""
    value: int
    absolute: bool

    def ns(self, bag_start_ns: int) -> int:
        return self.value if self.absolute else bag_start_ns + self.value


@dataclass(frozen=True)
class LabelRow:
    """One row of a labels CSV."""
    bag: str
    start: Stamp
    end: Stamp
    label: str
    entities: frozenset[str]
    where: str  # "labels.csv row 3" (data rows, counted from 1), for messages

    def segment(self, bag_start_ns: int) -> Segment:
        return Segment(self.start.ns(bag_start_ns), self.end.ns(bag_start_ns) + 1, self.label, self.entities)


def parse_stamp(text: str, where: str) -> Stamp:
    text = text.strip()
    if _INTEGER.match(text) and len(text) >= ABSOLUTE_NS_DIGITS:
        return Stamp(int(text), True)
    try:
        seconds = Decimal(text)  # exact: a float loses the nanoseconds of a stamp since the epoch
    except InvalidOperation:
        raise LabelsError(f"{where}: {text!r} is not a time (seconds, or nanoseconds since the epoch).") from None
    if not seconds.is_finite() or seconds < 0:
        raise LabelsError(f"{where}: the time {text!r} must be a number of seconds of at least 0.")
    return Stamp(int(seconds * NS_PER_S), seconds >= ABSOLUTE_S)


def parse_entities(text: str | None) -> frozenset[str]:
    return frozenset(part.strip() for part in (text or "").split(ENTITY_SEPARATOR) if part.strip())


def read_labels_csv(path) -> list[LabelRow]:
    """The rows of a labels CSV (see the module docstring), checked."""
    path = Path(path)
    if not path.is_file():
        raise LabelsError(f"labels file {path} does not exist.")
    with open(path, newline="") as f:
        lines = [line for line in f if line.strip() and not line.lstrip().startswith("#")]
    reader = csv.DictReader(lines, skipinitialspace=True)
    missing = [c for c in COLUMNS if c not in (reader.fieldnames or [])]
    if missing:
        raise LabelsError(f"labels file {path} needs a header line with the columns {','.join(COLUMNS)}"
                          f"[,entities]; {', '.join(missing)} missing.")
    rows = []
    for number, values in enumerate(reader, start=1):
        where = f"{path.name} row {number}"
        if any(values.get(c) in (None, "") for c in COLUMNS):
            raise LabelsError(f"{where} leaves one of {', '.join(COLUMNS)} empty.")
        row = LabelRow(values["bag"].strip(), parse_stamp(values["start"], where), parse_stamp(values["end"], where),
                       values["label"].strip(), parse_entities(values.get("entities")), where)
        if row.start.absolute != row.end.absolute:
            raise LabelsError(f"{where}: start and end must both be absolute or both relative to the bag's start.")
        if row.end.value < row.start.value:
            raise LabelsError(f"{where} ends before it starts.")
        rows.append(row)
    if not rows:
        raise LabelsError(f"labels file {path} has no rows.")
    return rows


def bag_segments(rows: Iterable[LabelRow], bag: str, first_ns: int, last_ns: int) -> list[Segment]:
    """The segments of the rows naming ``bag`` (by its name), resolved against the capture
    stamps of its first and last skeleton frames; a segment outside them is refused (a
    relative time taken for an absolute one, or the wrong bag)."""
    segments = []
    for row in rows:
        if Path(row.bag).name != Path(bag).name:
            continue
        segment = row.segment(first_ns)
        if segment.end <= first_ns or segment.start > last_ns:
            raise LabelsError(f"{row.where} ({row.label!r}) lies outside bag {Path(bag).name}, whose frames run "
                              f"from {first_ns / NS_PER_S:.3f} s to {last_ns / NS_PER_S:.3f} s since the epoch "
                              f"({(last_ns - first_ns) / NS_PER_S:.1f} s).")
        segments.append(segment)
    return segments


@dataclass(frozen=True)
class LabelChange:
    """From ``stamp`` (capture time, ns) on, ``entities`` do ``label`` ("": nothing labelled)."""
    stamp: int
    label: str
    entities: frozenset[str] = frozenset()


def segments_from_changes(changes: Iterable[LabelChange], end_ns: int) -> list[Segment]:
    """Segments from a labels topic: each change lasts until the next change for the same
    entities, the last one until ``end_ns`` (exclusive). Repeating the current label (one
    message per frame) continues its segment."""
    by_entities: dict[frozenset[str], list[LabelChange]] = {}
    for change in sorted(changes, key=lambda c: c.stamp):
        by_entities.setdefault(change.entities, []).append(change)
    segments = []
    for entities, timeline in by_entities.items():
        current: LabelChange | None = None
        for change in timeline + [LabelChange(end_ns, "", entities)]:
            if current is not None and change.label == current.label:
                continue
            if current is not None and current.label and change.stamp > current.stamp:
                segments.append(Segment(current.stamp, change.stamp, current.label, entities))
            current = change
    return sorted(segments, key=lambda s: (s.start, s.label))


@dataclass(frozen=True)
class WindowLabel:
    label: str | None  # None: not for training
    share: float  # of the window's frames in segments of the best label
    reason: str  # "labelled", "mixed" (frames of two labels, none with min_share) or "unlabelled"


def label_window(stamps: Sequence[int], entity_ids: Iterable[str | None], segments: Sequence[Segment],
                 min_share: float) -> WindowLabel:
    """The label of a window (its frames' capture stamps, its entities' ids; None for a
    padded slot): the label whose segments for these entities hold at least ``min_share``
    of its frames."""
    members = {i for i in entity_ids if i}
    stamps = np.asarray(stamps, dtype=np.int64)
    covered: dict[str, np.ndarray] = {}
    for segment in segments:
        if segment.entities <= members:
            inside = (stamps >= segment.start) & (stamps < segment.end)
            covered[segment.label] = covered.get(segment.label, False) | inside
    shares = {label: float(inside.mean()) for label, inside in covered.items() if inside.any()}
    if not shares:
        return WindowLabel(None, 0.0, "unlabelled")
    label = max(shares, key=lambda name: (shares[name], name))
    if shares[label] >= min_share:
        return WindowLabel(label, shares[label], "labelled")
    return WindowLabel(None, shares[label], "mixed" if len(shares) > 1 else "unlabelled")
