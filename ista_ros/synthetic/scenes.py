"""Several interactions at once in one camera view, and people walking past them.

A scene holds G groups, each a pair doing its own stream of interactions
(``interactions.generate_stream``), side by side on one floor, seen by one camera (same
height, pitch and distance to the pairs; each pair turned its own way), plus passers-by
who cross the whole scene behind the groups and belong to none. Coordinates are Kinect
camera space in metres, like the generator's.

Placement follows the recognizer's grouping rule (``ista_ros.core.groups``): at every
frame, the centres of people of different groups are at least ``2 x radius`` apart, and a
passer-by's centre is at least ``1.5 x radius`` from every group member (beyond the
``1.2 x radius`` up to which a formed group holds) and from every other passer-by, so the
planted groups are exactly the groups the rule finds. Groups are placed along the camera's
x axis (horizontal); a passer-by walks along it, past the whole row, in their own lane
behind the groups.

Groups' streams differ in length; a shorter one ends with its people standing in their
last pose (tracker noise only), labelled -1 like the transitions between interactions.
"""
from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np

from ista_ros.core.groups import INTERACTION_RADIUS
from ista_ros.errors import ConfigError
from ista_ros.synthetic import interactions
from ista_ros.synthetic.interactions import FPS, Variation

SEPARATION = 2.0  # x radius: the least distance between people of different groups
CLEARANCE = 1.5  # x radius: the least distance between a passer-by and a group member
WALK_SPEED = (1.1, 1.5)  # m/s
LANE_MARGIN = 1.0  # m: a passer-by's way starts and ends this far beyond the groups
HOLD_NOISE = 0.005  # m, tracker noise on a pose held after a group's stream ended


@dataclass
class PlantedGroup:
    entity_ids: tuple[str, str]
    labels: np.ndarray  # (T,) class of each frame; -1 between interactions and after the last


@dataclass
class Scene:
    sequence: np.ndarray  # (3, T, 25, N) float32; zeros where an entity is not in view
    entity_ids: list[str]  # (N,), groups' people first, then passers-by
    groups: list[PlantedGroup]
    passers_by: list[str]
    fps: float
    up: np.ndarray  # (3,) the floor's normal (the world's up) in camera coordinates


def generate_scene(classes, rng, fps=FPS, variation=Variation(), passers_by=0, radius=INTERACTION_RADIUS) -> Scene:
    """A scene of ``len(classes)`` groups; ``classes[g]``: the class ids group g does in turn.

    People are ``person_<n>`` (group g: ``person_<2g>`` and ``person_<2g+1>``); passers-by
    ``passer_by_<k>``, each crossing once (cut short when the scene is too short for the
    whole way), the crossings spread over the scene's length.
    """
    if len(classes) < 1:
        raise ConfigError("a scene needs at least one group.")
    pitch = np.deg2rad(rng.uniform(*variation.camera_pitch_deg))
    distance = rng.uniform(*variation.camera_distance)
    one_camera = replace(variation, camera_pitch_deg=(np.rad2deg(pitch),) * 2, camera_distance=(distance,) * 2,
                         centre_offset=0.0)
    streams = [interactions.generate_stream(group_classes, rng, fps, one_camera) for group_classes in classes]
    steps = max(len(labels) for _, labels in streams)
    people = np.concatenate([_hold(sequence, steps, rng) for sequence, _ in streams], axis=-1)
    _place_side_by_side(people, SEPARATION * radius)
    sequence = people
    for k in range(passers_by):  # one after another: each keeps clear of those placed before
        walker = _passer_by(k, passers_by, sequence, steps, rng, fps, variation, pitch, distance, CLEARANCE * radius)
        sequence = np.concatenate([sequence, walker], axis=-1)
    groups = [PlantedGroup((f"person_{2 * g}", f"person_{2 * g + 1}"),
                           np.concatenate([labels, np.full(steps - len(labels), -1)]).astype(np.int64))
              for g, (_, labels) in enumerate(streams)]
    walker_ids = [f"passer_by_{k}" for k in range(passers_by)]
    ids = [i for g in groups for i in g.entity_ids] + walker_ids
    up = np.array([0.0, np.cos(pitch), -np.sin(pitch)])
    return Scene(np.ascontiguousarray(sequence, dtype=np.float32), ids, groups, walker_ids, fps, up)


def centres(sequence: np.ndarray) -> np.ndarray:
    """(T, N, 3) centres (mean of the joints) of a (3, T, 25, N) sequence; NaN where not in view."""
    seen = np.any(sequence != 0, axis=(0, 2))
    return np.where(seen[..., None], sequence.mean(axis=2).transpose(1, 2, 0), np.nan)


def _hold(sequence: np.ndarray, steps: int, rng) -> np.ndarray:
    """The sequence lengthened to ``steps`` frames, each person standing in their last seen pose."""
    held = np.zeros(sequence.shape[:1] + (steps,) + sequence.shape[2:], np.float32)
    held[:, :sequence.shape[1]] = sequence
    for e in range(sequence.shape[-1]):
        last = np.flatnonzero(np.any(sequence[..., e] != 0, axis=(0, 2)))[-1]
        tail = held[:, last + 1:, :, e]
        tail[:] = sequence[:, last, :, e][:, None] + HOLD_NOISE * rng.standard_normal(tail.shape)
    return held


def _place_side_by_side(people: np.ndarray, separation: float) -> None:
    """Shift each pair along x (in place) so no two people of different pairs come closer
    than ``separation`` at any frame, the row centred on x = 0."""
    x = centres(people)[..., 0]  # (T, 2G)
    offsets = [0.0]
    for g in range(1, people.shape[-1] // 2):
        placed = np.column_stack([x[:, 2 * h:2 * h + 2] + offsets[h] for h in range(g)])
        gap = np.fmax.reduce(placed, axis=1) - np.fmin.reduce(x[:, 2 * g:2 * g + 2], axis=1)  # NaN: nobody in view
        offsets.append(float(np.nanmax(gap)) + separation)
    offsets = np.array(offsets) - (offsets[0] + offsets[-1]) / 2
    people[0] += np.where(np.any(people != 0, axis=0), np.repeat(offsets, 2), 0.0)


def _passer_by(k, count, placed, steps, rng, fps, variation, pitch, distance, clearance) -> np.ndarray:
    """(3, T, 25, 1): one person crossing the scene along x at walking speed, in a lane
    ``clearance`` behind everybody ``placed`` so far; the ``count`` crossings are spread over
    the scene; zeros when not in view."""
    placed_centres = centres(placed).reshape(-1, 3)
    left, right = np.nanmin(placed_centres[:, 0]) - LANE_MARGIN, np.nanmax(placed_centres[:, 0]) + LANE_MARGIN
    forwards = rng.random() < 0.5
    length = int(round((right - left) / rng.uniform(*WALK_SPEED) * fps))
    path = np.linspace(left, right, length) if forwards else np.linspace(right, left, length)
    body = interactions._draw_body(rng, rng.uniform(*variation.height))
    walker = interactions._Person(body, path, np.full(length, np.pi / 2 if forwards else -np.pi / 2))
    # A camera with yaw 0 and the scene's pitch and distance: its x axis is the world's.
    camera = interactions._Camera(yaw=0.0, pitch=pitch, distance=distance, centre=(0.0, 0.0), axis=0.0)
    joints = interactions._sensor(camera.project(interactions._skeleton(walker, fps))[None], rng,
                                  replace(variation, dropout_rate=0.0))[0]
    away = np.array([0.0, np.sin(pitch), np.cos(pitch)])  # along the floor, away from the camera
    behind = np.nanmax(placed_centres @ away) - np.min(joints.mean(axis=1) @ away) + clearance
    joints = joints + behind * away
    start = int(max(steps - length, 0) * (k + rng.random()) / count)
    shown = min(length, steps - start)
    out = np.zeros((3, steps, interactions.NUM_JOINTS, 1), np.float32)
    out[:, start:start + shown, :, 0] = joints[:shown].transpose(2, 0, 1)
    return out
