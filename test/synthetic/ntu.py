"""Tiny synthetic NTU RGB+D raw dataset: Kinect v2 ``.skeleton`` text files.

Besides clean pairs, the sequences contain what the official denoising exists for: short
ghost bodies, a lying (wide, flat) body, a bystander with glitch frames whose raw motion
exceeds the actors', a tracker id switch, a gap in a person's track, frames without any
body, late entries, a missing second person and a file without any body at all.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .motion import animate

# Rest pose of NTU's 25 Kinect v2 joints (metres, y up, person facing the camera).
NTU_REST = np.array([
    [0, 0, 0], [0, .30, 0], [0, .58, 0], [0, .72, 0],                       # spine, neck, head
    [-.18, .50, 0], [-.22, .25, 0], [-.24, .02, 0], [-.25, -.05, 0],        # left arm
    [.18, .50, 0], [.22, .25, 0], [.24, .02, 0], [.25, -.05, 0],            # right arm
    [-.10, -.02, 0], [-.11, -.45, 0], [-.12, -.85, 0], [-.12, -.90, .08],   # left leg
    [.10, -.02, 0], [.11, -.45, 0], [.12, -.85, 0], [.12, -.90, .08],       # right leg
    [0, .52, 0], [-.26, -.12, 0], [-.22, -.06, .03], [.26, -.12, 0], [.22, -.06, .03],
])
NTU_MOBILITY = np.array([0, 0, .1, .15, .1, .4, .8, .9, .1, .4, .8, .9,
                         0, .1, .15, .15, 0, .1, .15, .15, .05, 1, .9, 1, .9])
SCENARIOS_MUTUAL = ("pair", "pair_noisy", "id_switch", "alone", "late", "gap")
SCENARIOS_SINGLE = ("alone", "alone_noisy")


@dataclass
class NtuExpected:
    """What a correct preparation must recover from one file: the genuine persons over the
    frames that keep at least one of them, (frames, persons, 25, 3) with zeros where a person
    is absent, person 1 being the one with the most motion; None for a file to be skipped."""
    scenario: str
    actors: np.ndarray | None


def write_skeleton_file(path: Path, frames: list[list[tuple[str, np.ndarray]]]) -> None:
    """Write frames of (body id, (25, 3) joints) in the Kinect v2 .skeleton text format."""
    lines = [str(len(frames))]
    for bodies in frames:
        lines.append(str(len(bodies)))
        for body_id, joints in bodies:
            lines += [f"{body_id} 0 1 1 1 1 0 0.01 -0.02 2", str(len(joints))]
            for x, y, z in joints:
                u, v = 960 + 1050 * x / z, 540 - 1050 * y / z
                lines.append(f"{x:.7g} {y:.7g} {z:.7g} {u / 3.75:.7g} {v / 3.75:.7g} "
                             f"{u:.7g} {v:.7g} 0.1 0.2 0.3 0.9 2")
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join(lines) + "\n")


def _person(rng, frames, label, where, scale=1.0, amplitude=0.25, drift=0.15, salt=0):
    rest = NTU_REST * scale + np.asarray(where)
    return animate(rest, NTU_MOBILITY, frames, label, rng, amplitude, drift, salt)


def _scenario(rng: np.random.Generator, scenario: str, label: int, length: int):
    """Raw frames [(id, joints)...] and the expected genuine persons per surviving frame."""
    t = length
    a = _person(rng, t, label, (-.55, .1, 3.0), amplitude=.3, drift=.2, salt=1)
    b = _person(rng, t, label, (.55, .1, 3.2), scale=.95, amplitude=.12, drift=.05, salt=2)
    present_a, present_b = np.ones(t, bool), np.ones(t, bool)
    ids_b = ["72057594037930002"] * t
    extra = [[] for _ in range(t)]                     # other bodies per frame
    tail = []                                          # frames appended after the persons
    if scenario == "pair_noisy":
        lying = _person(rng, t, label, (0, -.6, 4.0), amplitude=.3, drift=1.0)[:, :, [1, 0, 2]]
        lying[:, :, 2] += 4.0
        bystander = _person(rng, t, 0, (2.0, .1, 4.5), scale=.7, amplitude=.02, drift=.01)
        glitch = rng.permutation(t)[: int(0.3 * t)]
        bystander[glitch, :, 0] *= 1 + 3 * rng.random((len(glitch), 25))
        for f in range(t):
            extra[f] = [("72057594037930009", lying[f]), ("72057594037930010", bystander[f])]
        ghost = _person(rng, 8, 0, (0, .1, 2.5))
        tail = [[("72057594037930011", ghost[f])] for f in range(8)]
    elif scenario == "id_switch":
        switch = t // 2
        ids_b[switch:] = ["72057594037930003"] * (t - switch)
        # The second id moves less: were it ranked first, the official packing would drop
        # the first id (actor 2's span always starts at frame 0).
        b[switch:] = b[switch] + 0.2 * (b[switch:] - b[switch])
    elif scenario in ("alone", "alone_noisy"):
        present_b[:] = False
        if scenario == "alone_noisy":
            ghost = _person(rng, 6, 0, (1.0, .1, 2.5))
            tail = [[("72057594037930011", ghost[f])] for f in range(6)]
    elif scenario == "late":
        present_a[:6] = False
        present_b[-7:] = False
    elif scenario == "gap":  # person 2 untracked for a while, same id before and after
        present_b[t // 3:t // 3 + 5] = False

    frames = []
    for f in range(t):
        bodies = []
        if present_a[f]:
            bodies.append(("72057594037930001", a[f]))
        if present_b[f]:
            bodies.append((ids_b[f], b[f]))
        frames.append(bodies + extra[f])
    if scenario == "id_switch":
        frames[t // 3:t // 3] = [[], [], []]           # dropped frames: no body at all
    frames += tail

    persons = 1 if not present_b.any() else 2
    expected = np.zeros((t, persons, 25, 3), dtype=np.float32)
    expected[present_a, 0] = a[present_a]
    if persons == 2:
        # The official reader takes a body to occupy consecutive frames from its first one,
        # so frames after a gap in its track move forward and its last frames stay empty.
        first = np.argmax(present_b)
        expected[first:first + present_b.sum(), 1] = b[present_b]
    return frames, expected


def make_ntu(root: str | Path, actions=(1, 50, 58, 106, 120), setups=(17, 18), performers=(1, 3),
             replications=(1,), length=(40, 90), empty_file: bool = True,
             seed: int = 0) -> dict[str, NtuExpected]:
    """Write a synthetic NTU raw tree under ``root`` (nturgb+d_skeletons/ for setups 1-17,
    nturgb+d_skeletons120/ for 18-32) and return what each file must become.

    Setups of both parities and performers of both cross-subject sides give every benchmark
    split samples; action 1 is a one-person class, the others are mutual classes.
    """
    root, rng = Path(root), np.random.default_rng(seed)
    expected: dict[str, NtuExpected] = {}
    used = {SCENARIOS_MUTUAL: 0, SCENARIOS_SINGLE: 0}  # cycle each list on its own
    for s in setups:
        for p in performers:
            for r in replications:
                for a in actions:
                    scenarios = SCENARIOS_MUTUAL if a >= 50 else SCENARIOS_SINGLE
                    scenario = scenarios[used[scenarios] % len(scenarios)]
                    used[scenarios] += 1
                    name = f"S{s:03d}C001P{p:03d}R{r:03d}A{a:03d}"
                    frames, actors = _scenario(rng, scenario, a, int(rng.integers(*length)))
                    write_skeleton_file(_folder(root, s) / f"{name}.skeleton", frames)
                    expected[name] = NtuExpected(scenario, actors)
    if empty_file:
        name = f"S{setups[0]:03d}C002P{performers[0]:03d}R001A{actions[-1]:03d}"
        write_skeleton_file(_folder(root, setups[0]) / f"{name}.skeleton", [[]] * 20)
        expected[name] = NtuExpected("empty", None)
    return expected


def _folder(root: Path, setup: int) -> Path:
    return root / ("nturgb+d_skeletons120" if setup >= 18 else "nturgb+d_skeletons")
