"""Player node: publishes skeletons (ista_ros/SkeletonArray) at real-time rate from a
sequence file (ista_ros.core.sequence: a self-describing .npz or a (C, T, J, E) .npy), a
rosbag2 MCAP bag, or an in-memory sequence.

In code (the demo uses this)::

    frames = sequence_frames(sequence, fps=30, ids=["person_0", "person_1"], layout="ntu25")
    node = PlayerNode(frames=frames, on_publish=lambda index, stamp_ns: ...)

An entity whose joints are all zero in a frame is not in view there (the datasets' rule)
and is left out of that frame's message. Frames are stamped with the time they are
published (like a live camera, ``restamp`` true; the default for sequences) or keep the
capture stamps they carry (a bag's; ``restamp`` false, the default for bags; a frame
without one, stamp 0, is stamped when published, with a warning). A bag is played at the
pace it was recorded (its recording times, as ``ros2 bag play`` does), read as it plays,
never whole; a bag whose recording was cut off (no metadata.yaml) is played as far as its
messages are whole, with a warning.

Parameters: file (.npz, .npy, or bag directory/.mcap), fps (default 30), layout (default
ntu25), axes (the file's axis convention, converted to the published camera optical
frame; default optical, kinect for NTU-format data), ids (one per entity, default
entity_0, entity_1, ...), kinds (default person for every entity): for a .npy these say
what it holds; an .npz says it itself, and a parameter set on purpose (on the command
line, in a parameter file or in code; even to its default) that contradicts it is ignored
with a warning. topic (default skeletons), bag_topic (the bag's topic to play, default any
SkeletonArray topic), frame_id (default camera), loop (default false), restamp, rate
(playback speed factor, default 1), wait_for_subscribers (seconds to wait for
``subscribers`` subscribers, default 1, before starting anyway, default 5). The executable
ends after the last frame unless it loops, with status 1 (2 for a damaged file) when
playback fails; in a process of several nodes (``ista-ros run``) ``on_failure`` says so.
"""
from __future__ import annotations

import sys
import threading
import time
import traceback
from contextlib import closing
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterable, Iterator

import numpy as np
from rclpy.node import Node

from ista_ros.core.axes import convert_axes
from ista_ros.core.sequence import described, load_sequence
from ista_ros.errors import USER_ERROR_STATUS, ConfigError, UserError
from ista_ros.msg import SkeletonArray
from ista_ros.nodes.recorder import Bag
from ista_ros.ros.messages import skeleton_message, stamp_ns
from ista_ros.ros.params import as_type_of, declare
from ista_ros.ros.spin import run_node

SKELETON_ARRAY = "ista_ros/msg/SkeletonArray"
SEQUENCE_SUFFIXES = (".npy", ".npz")
Frames = list[tuple[float, SkeletonArray]]  # (seconds from the start, message)
# What describes a sequence, and the values a .npy is taken to have when not told ([""]: the
# player's entity_0, ... and person)
DESCRIPTION_DEFAULTS = {"fps": 30.0, "layout": "ntu25", "axes": "optical", "ids": [""], "kinds": [""]}


def sequence_frames(sequence: np.ndarray, fps: float = 30.0, ids=None, layout: str = "ntu25", kinds=None,
                    stamps=None, frame_id: str = "camera", axes: str = "optical") -> Frames:
    """Messages for a (C, T, J, E) sequence. ``ids``: one id per entity, or a (T, E) array of
    per-frame ids (a tracker's, flickering or not); ``stamps``: (T,) seconds from the start
    (default: ``fps``); ``axes``: the sequence's axis convention, published as the REP-103
    camera optical frame (ista_ros.core.axes; e.g. "kinect" for NTU-format data)."""
    return list(sequence_messages(sequence, fps, ids, layout, kinds, stamps, frame_id, axes))


def sequence_messages(sequence: np.ndarray, fps: float = 30.0, ids=None, layout: str = "ntu25", kinds=None,
                      stamps=None, frame_id: str = "camera",
                      axes: str = "optical") -> Iterator[tuple[float, SkeletonArray]]:
    """``sequence_frames`` one by one, each message built when it is wanted."""
    sequence = np.asarray(sequence, dtype=np.float32)
    if sequence.ndim != 4 or sequence.shape[0] not in (2, 3):
        raise ConfigError(f"a sequence is (C, T, J, E) with C = 2 or 3; got shape {sequence.shape}.")
    if sequence.shape[0] == 3:
        sequence = np.moveaxis(convert_axes(np.moveaxis(sequence, 0, -1), axes, "optical"), -1, 0)
    _, frames, _, entities = sequence.shape
    ids = np.asarray(ids if ids is not None else [f"entity_{e}" for e in range(entities)], dtype=str)
    ids = np.broadcast_to(ids, (frames, entities))
    kinds = list(kinds or ["person"] * entities)
    stamps = np.arange(frames) / fps if stamps is None else np.asarray(stamps, dtype=float)
    if len(stamps) != frames or len(kinds) != entities:
        raise ConfigError(f"{len(stamps)} stamps and {len(kinds)} kinds given for {frames} frames "
                          f"of {entities} entities.")
    return _messages(sequence, ids, kinds, stamps, layout, frame_id)


def _messages(sequence: np.ndarray, ids: np.ndarray, kinds: list[str], stamps: np.ndarray, layout: str,
              frame_id: str) -> Iterator[tuple[float, SkeletonArray]]:
    for t in range(sequence.shape[1]):
        msg = SkeletonArray()
        msg.header.frame_id = frame_id
        for e in range(sequence.shape[3]):
            points = sequence[:, t, :, e].T
            if points.any():  # else not in view in this frame
                msg.skeletons.append(skeleton_message(str(ids[t, e]), kinds[e], layout, points))
        yield float(stamps[t]), msg


@dataclass
class Source:
    """What a file gives the player: ``frames()`` (a fresh iterator for every round),
    their number when known, whether to restamp by default, and warnings to log."""

    frames: Callable[[], Iterable[tuple[float, SkeletonArray]]]
    count: int | None
    restamp: bool
    warnings: list[str]


def sequence_source(path: Path, given: dict, frame_id: str) -> Source:
    """A .npz or .npy sequence: an .npz's own description wins over ``given`` (the
    parameters set on purpose; None: not set), which complete a .npy's with the defaults."""
    sequence = load_sequence(path)
    if sequence.layout is None:  # a bare .npy: what is not given takes its default
        given = {name: DESCRIPTION_DEFAULTS[name] if value is None else value for name, value in given.items()}
    given = {name: (value if value != [""] else None) for name, value in given.items()}
    sequence, conflicts = described(sequence, given)
    if sequence.num_frames == 0:
        raise ConfigError(f"nothing to play: {path} has no frames.")
    frames = lambda: sequence_messages(sequence.joints, sequence.fps, sequence.ids, sequence.layout,  # noqa: E731
                                       sequence.kinds, frame_id=frame_id, axes=sequence.axes)
    frames()  # its checks now, not in the playing thread
    return Source(frames, sequence.num_frames, True, [f"{path.name}: {conflict}" for conflict in conflicts])


def bag_source(path: Path, topic: str | None) -> Source:
    """A bag's SkeletonArray messages at the pace they were recorded, read as they play."""
    bag = Bag(path)
    with closing(bag.messages(SKELETON_ARRAY, topic)) as messages:
        if next(messages, None) is None:
            raise ConfigError(f"nothing to play: bag {path} holds no skeletons "
                              f"(its {SKELETON_ARRAY} topics are empty).")

    def frames() -> Iterator[tuple[float, SkeletonArray]]:
        start = None
        for time_ns, msg in bag.messages(SKELETON_ARRAY, topic):
            start = time_ns if start is None else start
            yield (time_ns - start) * 1e-9, msg

    warnings = [f"bag {path} was not closed when recorded (no metadata.yaml or an MCAP file cut short): playing "
                f"what is whole; `ista-ros reindex {path}` repairs it for other tools"] if bag.recovered else []
    return Source(frames, None, False, warnings)


def file_source(file: str, given: dict, frame_id: str, topic: str | None) -> Source:
    path = Path(file)
    if not path.exists():
        raise ConfigError(f"{path} does not exist.")
    if path.suffix in SEQUENCE_SUFFIXES:
        return sequence_source(path, given, frame_id)
    return bag_source(path, topic)


class PlayerNode(Node):
    def __init__(self, node_name: str = "player", frames: Frames | None = None,
                 on_publish: Callable[[int, int], None] | None = None, exit_when_done: bool = False,
                 on_failure: Callable[[Exception], None] | None = None, **kwargs):
        """``frames``: what to play (default: the ``file`` parameter); ``on_publish(index, stamp_ns)``
        is called after each frame is published (e.g. to pair it with ground truth);
        ``exit_when_done``: shut the context down after the last frame (the executable);
        ``on_failure(error)`` is called from the playing thread when playback fails."""
        super().__init__(node_name, **kwargs)
        self._stop = threading.Event()  # before anything can fail: destroy_node needs them
        self._thread = None
        p = lambda name, default: declare(self, name, default)  # noqa: E731
        if frames is None:
            file = p("file", "")
            if not file:
                raise ConfigError("nothing to play: set the parameter 'file' to a .npz or .npy sequence "
                                  "or an MCAP bag.")
            given = {name: self._set_on_purpose(name, default) for name, default in DESCRIPTION_DEFAULTS.items()}
            source = file_source(file, given, p("frame_id", "camera"), p("bag_topic", "") or None)
        else:
            if not frames:
                raise ConfigError("nothing to play: the sequence has no frames.")
            source = Source(lambda: frames, len(frames), True, [])
        for warning in source.warnings:
            self.get_logger().warning(warning)
        self.source = source
        self.restamp = p("restamp", source.restamp)
        self.loop = p("loop", False)
        self.speed = p("rate", 1.0)
        self.wait_for_subscribers = p("wait_for_subscribers", 5.0)
        self.subscribers = p("subscribers", 1)
        self.exit_when_done = exit_when_done
        self.on_failure = on_failure
        self.on_publish = on_publish
        self.publisher = self.create_publisher(SkeletonArray, p("topic", "skeletons"), 10)
        self.published = 0
        self.failure: Exception | None = None  # what ended the playback early
        self.done = threading.Event()
        self._unstamped_warned = False
        self._thread = threading.Thread(target=self._play, name="player", daemon=True)
        self._thread.start()

    def _set_on_purpose(self, name: str, default):
        """The parameter's value, of ``default``'s type, when it was given (an override from any
        source, even equal to ``default``); None when not: declared without a default, so
        rclpy leaves it unset."""
        value = declare(self, name, None)
        return None if value is None else as_type_of(default, value, f"parameter {name!r} of node {self.get_name()!r}")

    def _play(self) -> None:
        """Play, and whatever happens, end: a failure is logged and kept in ``failure``."""
        try:
            self._play_rounds()
        except Exception as err:  # noqa: BLE001 - the thread must never die silently
            self.failure = err
            detail = "" if isinstance(err, UserError) else "\n" + traceback.format_exc()
            self.get_logger().error(f"playback stopped: {err}{detail}")
            if self.on_failure is not None:
                self.on_failure(err)
        finally:
            self.done.set()
            if self.exit_when_done:
                self.context.try_shutdown()

    def _play_rounds(self) -> None:
        deadline = time.monotonic() + self.wait_for_subscribers
        while self.publisher.get_subscription_count() < self.subscribers and time.monotonic() < deadline:
            if self._stop.wait(0.05):
                return
        count = f"{self.source.count} frames" if self.source.count is not None else "frames"
        self.get_logger().info(f"playing {count} on {self.publisher.topic_name}{' in a loop' if self.loop else ''}")
        while not self._stop.is_set():
            start = time.monotonic()
            for offset, msg in self.source.frames():
                if self._stop.wait(max(0.0, start + offset / self.speed - time.monotonic())):
                    return
                if not self._publish(msg):
                    return
            if not self.loop:
                break
        self.get_logger().info(f"played {self.published} frames")

    def _publish(self, msg: SkeletonArray) -> bool:
        """Publish one frame; False when the context is gone (Ctrl-C shut it down under this thread)."""
        if self.restamp or not stamp_ns(msg.header.stamp):
            if not self.restamp and not self._unstamped_warned:
                self._unstamped_warned = True
                self.get_logger().warning("frames without a capture stamp (0) are stamped with the time "
                                          "they are published")
            msg.header.stamp = self.get_clock().now().to_msg()
        try:
            self.publisher.publish(msg)
        except Exception:
            if self.context.ok():
                raise
            return False
        if self.on_publish is not None:
            self.on_publish(self.published, stamp_ns(msg.header.stamp))
        self.published += 1
        return True

    def destroy_node(self):
        self._stop.set()
        if self._thread not in (None, threading.current_thread()):  # exit_when_done shuts down from it
            self._thread.join(timeout=2.0)
        return super().destroy_node()


def run_player(make_player: Callable[[], PlayerNode], name: str, args=None) -> int:
    """``run_node`` for a player that ends the process: status 2 when a file turned out
    damaged while playing, 1 for any other failure (its sentence is in the log)."""
    players: list[PlayerNode] = []

    def make() -> PlayerNode:
        players.append(make_player())
        return players[-1]

    status = run_node(make, name, args)
    failure = players[0].failure if players else None
    if status or failure is None:
        return status
    return failure_status(failure)


def failure_status(failure: Exception) -> int:
    """The exit status of a process whose playback failed: 2 for a damaged file, 1 for a bug."""
    return USER_ERROR_STATUS if isinstance(failure, UserError) else 1


def main(args=None) -> int:
    return run_player(lambda: PlayerNode(exit_when_done=True), "player", args)


if __name__ == "__main__":
    sys.exit(main())
