"""Player node: publishes skeletons (ista_ros/SkeletonArray) at real-time rate from a
(C, T, J, E) .npy file, a rosbag2 MCAP bag, or an in-memory sequence.

In code (the demo uses this)::

    frames = sequence_frames(sequence, fps=30, ids=["person_0", "person_1"], layout="ntu25")
    node = PlayerNode(frames=frames, on_publish=lambda index, stamp_ns: ...)

An entity whose joints are all zero in a frame is not in view there (the datasets' rule)
and is left out of that frame's message. Frames are stamped with the time they are
published (like a live camera, ``restamp`` true; the default for sequences) or keep the
capture stamps they carry (a bag's; ``restamp`` false, the default for bags).

Parameters: file (.npy or bag directory/.mcap), fps (for .npy, default 30), layout
(default ntu25), ids (one per entity, default entity_0, entity_1, ...), kinds (default
person for every entity), topic (default skeletons), bag_topic (the bag's topic to play,
default any SkeletonArray topic), frame_id (default camera), axes (for .npy: the axis
convention of the file, converted to the published camera optical frame; default optical,
kinect for NTU-format data), loop (default false),
restamp, rate (playback speed factor, default 1), wait_for_subscribers (seconds to wait
for ``subscribers`` subscribers, default 1, before starting anyway, default 5). The executable ends after the last
frame unless it loops.
"""
from __future__ import annotations

import threading
import time
from pathlib import Path
from typing import Callable

import numpy as np
from geometry_msgs.msg import Point
from rclpy.node import Node

from ista_ros.core.axes import convert_axes
from ista_ros.msg import Skeleton, SkeletonArray
from ista_ros.nodes.recognizer import declare, stamp_ns
from ista_ros.nodes.recorder import read_bag
from ista_ros.nodes.spin import run_node

SKELETON_ARRAY = "ista_ros/msg/SkeletonArray"
Frames = list[tuple[float, SkeletonArray]]  # (seconds from the start, message)


def sequence_frames(sequence: np.ndarray, fps: float = 30.0, ids=None, layout: str = "ntu25", kinds=None,
                    stamps=None, frame_id: str = "camera", axes: str = "optical") -> Frames:
    """Messages for a (C, T, J, E) sequence. ``ids``: one id per entity, or a (T, E) array of
    per-frame ids (a tracker's, flickering or not); ``stamps``: (T,) seconds from the start
    (default: ``fps``); ``axes``: the sequence's axis convention, published as the REP-103
    camera optical frame (ista_ros.core.axes; e.g. "kinect" for NTU-format data)."""
    sequence = np.asarray(sequence, dtype=np.float32)
    if sequence.ndim != 4 or sequence.shape[0] not in (2, 3):
        raise ValueError(f"a sequence is (C, T, J, E) with C = 2 or 3; got shape {sequence.shape}.")
    if sequence.shape[0] == 3:
        sequence = np.moveaxis(convert_axes(np.moveaxis(sequence, 0, -1), axes, "optical"), -1, 0)
    _, frames, _, entities = sequence.shape
    ids = np.asarray(ids if ids is not None else [f"entity_{e}" for e in range(entities)], dtype=str)
    ids = np.broadcast_to(ids, (frames, entities))
    kinds = kinds or ["person"] * entities
    stamps = np.arange(frames) / fps if stamps is None else np.asarray(stamps, dtype=float)
    if len(stamps) != frames or len(kinds) != entities:
        raise ValueError(f"{len(stamps)} stamps and {len(kinds)} kinds given for {frames} frames of {entities} entities.")
    out = []
    for t in range(frames):
        msg = SkeletonArray()
        msg.header.frame_id = frame_id
        for e in range(entities):
            points = sequence[:, t, :, e].T
            if not points.any():
                continue  # not in view in this frame
            msg.skeletons.append(Skeleton(id=str(ids[t, e]), kind=kinds[e], layout=layout,
                                          joints=[Point(x=float(p[0]), y=float(p[1]), z=float(p[2]) if len(p) > 2 else 0.0)
                                                  for p in points]))
        out.append((float(stamps[t]), msg))
    return out


def bag_frames(path, topic: str | None = None) -> Frames:
    """The SkeletonArray messages of a bag, timed by their capture stamps."""
    messages = [msg for _, msg in read_bag(path, SKELETON_ARRAY, topic)]
    start = stamp_ns(messages[0].header.stamp)
    return [((stamp_ns(m.header.stamp) - start) * 1e-9, m) for m in messages]


def file_frames(path: str, fps: float, layout: str, ids, kinds, frame_id: str, topic: str | None,
                axes: str = "optical") -> tuple[Frames, bool]:
    """Frames from a .npy sequence or a bag, and whether to restamp them by default."""
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"{path} does not exist.")
    if path.suffix == ".npy":
        return sequence_frames(np.load(path, allow_pickle=False), fps, ids or None, layout, kinds or None,
                               frame_id=frame_id, axes=axes), True
    return bag_frames(path, topic), False


class PlayerNode(Node):
    def __init__(self, node_name: str = "player", frames: Frames | None = None,
                 on_publish: Callable[[int, int], None] | None = None, exit_when_done: bool = False, **kwargs):
        """``frames``: what to play (default: the ``file`` parameter); ``on_publish(index, stamp_ns)``
        is called after each frame is published (e.g. to pair it with ground truth);
        ``exit_when_done``: shut the context down after the last frame (the executable)."""
        super().__init__(node_name, **kwargs)
        self._stop = threading.Event()  # before anything can fail: destroy_node needs them
        self._thread = None
        p = lambda name, default: declare(self, name, default)  # noqa: E731
        restamp = True
        if frames is None:
            file = p("file", "")
            if not file:
                raise ValueError("nothing to play: set the parameter 'file' to a (C, T, J, E) .npy file or an MCAP bag.")
            ids, kinds = ([v for v in p(name, [""]) if v] or None for name in ("ids", "kinds"))
            frames, restamp = file_frames(file, p("fps", 30.0), p("layout", "ntu25"), ids, kinds,
                                          p("frame_id", "camera"), p("bag_topic", "") or None, p("axes", "optical"))
        if not frames:
            raise ValueError("nothing to play: the sequence has no frames.")
        self.frames = frames
        self.restamp = p("restamp", restamp)
        self.loop = p("loop", False)
        self.speed = p("rate", 1.0)
        self.wait_for_subscribers = p("wait_for_subscribers", 5.0)
        self.subscribers = p("subscribers", 1)
        self.exit_when_done = exit_when_done
        self.on_publish = on_publish
        self.publisher = self.create_publisher(SkeletonArray, p("topic", "skeletons"), 10)
        self.published = 0
        self.done = threading.Event()
        self._thread = threading.Thread(target=self._play, name="player", daemon=True)
        self._thread.start()

    def _play(self) -> None:
        deadline = time.monotonic() + self.wait_for_subscribers
        while self.publisher.get_subscription_count() < self.subscribers and time.monotonic() < deadline:
            if self._stop.wait(0.05):
                return
        self.get_logger().info(f"playing {len(self.frames)} frames on {self.publisher.topic_name}"
                               f"{' in a loop' if self.loop else ''}")
        while not self._stop.is_set():
            start = time.monotonic()
            for offset, msg in self.frames:
                if self._stop.wait(max(0.0, start + offset / self.speed - time.monotonic())):
                    return
                if self.restamp:
                    msg.header.stamp = self.get_clock().now().to_msg()
                try:
                    self.publisher.publish(msg)
                except Exception:  # Ctrl-C shut the context down under this thread: done
                    if self.context.ok():
                        raise
                    return
                if self.on_publish is not None:
                    self.on_publish(self.published, stamp_ns(msg.header.stamp))
                self.published += 1
            if not self.loop:
                break
        self.get_logger().info(f"played {self.published} frames")
        self.done.set()
        if self.exit_when_done:
            self.context.try_shutdown()

    def destroy_node(self):
        self._stop.set()
        if self._thread not in (None, threading.current_thread()):  # exit_when_done shuts down from it
            self._thread.join(timeout=2.0)
        return super().destroy_node()


def main(args=None) -> int:
    return run_node(lambda: PlayerNode(exit_when_done=True), "player", args)


if __name__ == "__main__":
    import sys
    sys.exit(main())
