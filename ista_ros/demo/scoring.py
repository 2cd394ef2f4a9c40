"""Scoring the demo's recognised windows against the generator's per-frame ground truth.

Plain Python (no ROS): the demo's listener feeds it the ground truth of every published
frame (capture stamp, class id; -1 between scenes) and every recognised window (its first
and last capture stamps, the recognised class). Two numbers come out: the accuracy on the
windows showing one interaction, and the false-interaction rate on the windows showing a
scene without one (ground truth "none"): the share of them reported as an interaction.
A window reported as "none" is either the model's class none or the recognizer's reserved
"no interaction" answer (both are labelled "none").

With several groups in the scene (``ista-ros demo --groups 2``), ``GroupScores`` keeps one
ground truth and one score per planted group and judges every recognised group against
the planted group whose people include all its members (matched by entity ids); a
planted group that the recognizer did not report in a stride was, for it, "no
interaction" (its people formed no group). A recognised group mixing people of two
planted groups, or with a passer-by, is counted apart ("stray") and never scored.
"""
from __future__ import annotations

import bisect
from collections import Counter
from dataclasses import dataclass, field
from typing import Sequence

import numpy as np

NO_INTERACTION = -1  # ground truth between two scenes
NONE_LABEL = "none"  # a scene without an interaction: the generator's class and the recognizer's answer
MIN_SHARE = 0.6  # a window is scored when one scene fills this share of its frames


@dataclass
class Truth:
    """Ground truth of the published frames, in stamp order."""

    stamps: list[int] = field(default_factory=list)  # capture stamps, ns
    labels: list[int] = field(default_factory=list)

    def add(self, stamp_ns: int, label: int) -> None:
        index = bisect.bisect(self.stamps, stamp_ns)
        self.stamps.insert(index, stamp_ns)
        self.labels.insert(index, label)

    def newest(self) -> int:
        return self.stamps[-1] if self.stamps else -1

    def of_window(self, start_ns: int, end_ns: int, min_share: float = MIN_SHARE) -> int | None:
        """The class (an interaction or none) that fills at least min_share of the window's
        frames, else None (a window across two scenes, or mostly between them)."""
        lo, hi = bisect.bisect_left(self.stamps, start_ns), bisect.bisect_right(self.stamps, end_ns)
        labels = np.asarray(self.labels[lo:hi])
        if labels.size == 0:
            return None
        values, counts = np.unique(labels, return_counts=True)
        best = int(np.argmax(counts))
        if values[best] == NO_INTERACTION or counts[best] < min_share * labels.size:
            return None
        return int(values[best])


@dataclass
class Score:
    """Running accuracy, false-interaction rate and latency of the recognised windows."""

    correct: int = 0
    scored: int = 0  # windows showing one interaction
    negatives: int = 0  # windows showing a scene without an interaction
    false_interactions: int = 0  # of those, reported as an interaction
    unscored: int = 0
    latencies_ms: list[float] = field(default_factory=list)

    def add(self, predicted, truth, latency_ms: float) -> None:
        """predicted: the recognised class name; truth: the true one ("none" for a scene
        without an interaction), None for an unscored window."""
        self.latencies_ms.append(latency_ms)
        if truth is None:
            self.unscored += 1
        elif truth == NONE_LABEL:
            self.negatives += 1
            self.false_interactions += int(predicted != NONE_LABEL)
        else:
            self.scored += 1
            self.correct += int(predicted == truth)

    @property
    def accuracy(self) -> float:
        return 100.0 * self.correct / self.scored if self.scored else float("nan")

    @property
    def false_interaction_rate(self) -> float:
        return 100.0 * self.false_interactions / self.negatives if self.negatives else float("nan")

    def summary(self) -> str:
        """The demo's last line, e.g. ``accuracy 85.0% (34 of 40 windows showing one
        interaction); false interactions 5.0% (1 of 20 windows without one); ...``."""
        return (f"accuracy {self.accuracy:.1f}% ({self.correct} of {self.scored} windows showing one interaction); "
                f"false interactions {self.false_interaction_rate:.1f}% ({self.false_interactions} of "
                f"{self.negatives} windows without one); {self.unscored} across two not scored"
                f"{latency_p50(self.latencies_ms)}")


@dataclass
class VideoTally:
    """A video's windows, which have no ground truth: the interactions reported, and why the
    others were "no interaction" (the node's reasons)."""

    interactions: Counter = field(default_factory=Counter)  # label -> windows
    reasons: Counter = field(default_factory=Counter)  # "no interaction" reason -> windows
    latencies_ms: list[float] = field(default_factory=list)

    def add(self, label: str, reason: str, latency_ms: float) -> None:
        """reason: "" for an interaction reported as ``label``."""
        if reason:
            self.reasons[reason] += 1
        else:
            self.interactions[label] += 1
        self.latencies_ms.append(latency_ms)

    def summary(self) -> str:
        """The demo's last line for a video, e.g. ``84 windows recognised (a video has no
        ground truth): 1 reported as an interaction (push 1), 83 no interaction (too_far
        48, too_few_entities 34, none_class 1), latency p50 95 ms``."""
        def listed(counts: Counter) -> str:
            return f" ({', '.join(f'{k} {n}' for k, n in counts.most_common())})" if counts else ""

        said, silent = sum(self.interactions.values()), sum(self.reasons.values())
        return (f"{said + silent} windows recognised (a video has no ground truth): {said} reported as an "
                f"interaction{listed(self.interactions)}, {silent} no interaction{listed(self.reasons)}"
                f"{latency_p50(self.latencies_ms)}")


def latency_p50(latencies_ms: list[float]) -> str:
    """The summary lines' latency phrase ("" before any window)."""
    return f", latency p50 {np.median(latencies_ms):.0f} ms" if latencies_ms else ""


def interaction_metrics(predicted: np.ndarray, labels: np.ndarray, none_id: int) -> dict:
    """Percent: accuracy on the samples showing an interaction, and the share of those
    without one (label none_id) predicted as an interaction."""
    interaction = labels != none_id
    return {"interaction_top1": float(100 * np.mean(predicted[interaction] == labels[interaction])),
            "false_interaction_rate": float(100 * np.mean(predicted[~interaction] != none_id)),
            "interaction_samples": int(interaction.sum()), "none_samples": int((~interaction).sum())}


@dataclass
class Answer:
    """One recognised group of a stride, as the listener reads it from the actions array."""

    entity_ids: Sequence[str]  # "" for a padded slot
    label: str
    confidence: float
    start: int  # capture stamps of its window, ns
    end: int
    grouped: bool = True  # False: entities in view that formed no group (reason too_far / too_few_entities)

    @property
    def members(self) -> set[str]:
        return {i for i in self.entity_ids if i}


@dataclass
class Verdict:
    """One planted group's answer in one stride, judged."""

    group: str  # the planted group's id
    label: str
    confidence: float | None  # None: the recognizer did not report the group (no interaction)
    truth: str | None  # the true class name, None when the window is not scored
    start: int
    end: int


class GroupScores:
    """One Truth and one Score per planted group, and an overall Score (see the module docstring)."""

    def __init__(self, class_names: Sequence[str], window_ns: int):
        self.class_names = list(class_names)
        self.window_ns = window_ns  # the window of a group the recognizer did not report
        self.members: dict[str, set[str]] = {}
        self.truths: dict[str, Truth] = {}
        self.scores: dict[str, Score] = {}
        self.overall = Score()
        self.stray = 0

    def add_truth(self, stamp_ns: int, group: str, members: Sequence[str], label: int) -> None:
        if group not in self.truths:
            self.members[group], self.truths[group], self.scores[group] = set(members), Truth(), Score()
        self.truths[group].add(stamp_ns, label)

    def newest(self) -> int:
        """The newest frame whose ground truth is in for every planted group."""
        return min((truth.newest() for truth in self.truths.values()), default=-1)

    def planted(self, answer: Answer) -> str | None:
        """The planted group whose people include every member of ``answer``, or None."""
        return next((g for g, people in self.members.items() if answer.members and answer.members <= people), None)

    def judge(self, answers: Sequence[Answer], end: int, latency_ms: float) -> list[Verdict]:
        """Score one stride's answers (best first) for every planted group; count the strays."""
        self.stray += sum(a.grouped and self.planted(a) is None for a in answers)
        verdicts = []
        for group in self.truths:
            answer = next((a for a in answers if self.planted(a) == group), None)
            start, stop = (answer.start, answer.end) if answer else (end - self.window_ns, end)
            truth = self.truths[group].of_window(start, stop)
            name = None if truth is None else self.class_names[truth]
            label = answer.label if answer else NONE_LABEL
            for score in (self.scores[group], self.overall):
                score.add(label, name, latency_ms)
            verdicts.append(Verdict(group, label, answer.confidence if answer else None, name, start, stop))
        return verdicts


def window_line(seconds: float, label: str, confidence: float | None, truth: str | None, latency_ms: float,
                group: str | None = None) -> str:
    """One printed line per recognised window; confidence None: the group was not reported;
    truth: the true class, "" for a window across two interactions, None without ground
    truth (a video); group: the group's id, shown when several are in view."""
    shown = f"{confidence:4.2f}" if confidence is not None else "   -"
    line = (f"t={seconds:6.1f}s  " + (f"group {group:<22} " if group else "")
            + f"recognised {label:<11} {shown}")
    if truth is not None:
        verdict = "" if not truth else ("  ok" if truth == label else "  MISS")
        line += f"   truth {truth or '(mixed)':<11}"
    return line + f"  latency {latency_ms:5.0f} ms" + (verdict if truth is not None else "")
