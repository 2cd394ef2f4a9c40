"""`ista-ros render`: a recorded bag (skeletons and actions, MCAP: `ista-ros record`) as
an annotated video (.mp4 or .gif), to look at a run afterwards without a ROS graph.

The video plays in real time: each of its frames shows the newest skeletons captured by
then (joints in the camera optical frame, REP-103; --axes for other conventions) and the
newest actions at or before their capture stamp (InteractionActionArray on
--actions-topic; a bag without them: InteractionAction on --action-topic), with their
latency (arrival in the bag minus capture). Actions older than 2 s (viz.timeline) are not shown. The
view frames everything the bag shows, unless --fov gives the camera's field of view.
"""
from __future__ import annotations

import re
from pathlib import Path
from typing import Iterator

import numpy as np

from ista_ros.errors import ConfigError, UserError
from ista_ros.viz.timeline import TimedLabels, paired

SKELETON_ARRAY = "ista_ros/msg/SkeletonArray"
ACTION_ARRAY = "ista_ros/msg/InteractionActionArray"
ACTION = "ista_ros/msg/InteractionAction"
GIF_MAX_FPS = 15.0  # a GIF is kept in memory until written: fewer frames for the same time
DEFAULT_FPS = 30.0


def add_parser(subparsers) -> None:
    p = subparsers.add_parser("render", help="turn a recorded bag into an annotated video (.mp4 or .gif)",
                              description=__doc__)
    p.add_argument("bag", help="rosbag2 MCAP bag directory or .mcap file")
    p.add_argument("--out", required=True, help="video to write: a name ending in .mp4 or .gif")
    p.add_argument("--skeletons-topic", default="skeletons", help="SkeletonArray topic (default: skeletons)")
    p.add_argument("--actions-topic", default="actions", help="InteractionActionArray topic (default: actions)")
    p.add_argument("--action-topic", default="action",
                   help="InteractionAction topic, used when the bag has no actions array (default: action)")
    p.add_argument("--fps", type=float, help=f"video frame rate (default: the skeletons', at most {GIF_MAX_FPS:g} "
                                            "for a .gif)")
    p.add_argument("--size", default="800x450", help="video width x height in pixels (default: 800x450)")
    p.add_argument("--fov", type=float, help="the camera's horizontal field of view in degrees "
                                            "(default: frame everything the bag shows)")
    p.add_argument("--axes", default="optical", choices=("optical", "kinect", "body"),
                   help="axis convention of the bag's joints (default: optical, REP-103 camera frame)")
    p.set_defaults(func=run)


def run(args) -> int:
    path, frames = render_bag(args.bag, args.out, args.skeletons_topic, args.actions_topic, args.action_topic,
                              args.fps, parse_size(args.size), args.fov, args.axes)
    print(f"wrote {path}: {frames} frames")
    return 0


def parse_size(text: str) -> tuple[int, int]:
    match = re.fullmatch(r"\s*(\d+)\s*[xX]\s*(\d+)\s*", text)
    if not match:
        raise ConfigError(f"--size {text!r} is not WIDTHxHEIGHT in pixels, such as 800x450.")
    return int(match[1]), int(match[2])


def read_labels(bag, actions_topic: str, action_topic: str) -> list[TimedLabels]:
    """Every recognition in the bag, by capture stamp: the actions arrays, or else the
    single actions."""
    from ista_ros.nodes.recorder import read_bag
    from ista_ros.ros.markers import labels_from
    from ista_ros.ros.messages import stamp_ns

    for type_name, topic in ((ACTION_ARRAY, actions_topic), (ACTION, action_topic)):
        try:
            timed = [TimedLabels(stamp_ns(msg.header.stamp), (arrival - stamp_ns(msg.header.stamp)) / 1e6,
                                 labels_from(msg)) for arrival, msg in read_bag(bag, type_name, topic)]
        except UserError:
            continue  # not in this bag (the bag itself was read by the scan before)
        return sorted(timed, key=lambda labels: labels.stamp_ns)
    raise ConfigError(f"bag {bag} holds no actions to show (no InteractionActionArray on '{actions_topic}', no "
                      f"InteractionAction on '{action_topic}'); name the topics with --actions-topic or "
                      "--action-topic.")


def skeleton_frames(bag, topic: str, axes: str) -> Iterator[tuple[int, list]]:
    """(capture stamp, entities in the optical frame) of each SkeletonArray on ``topic``."""
    from ista_ros.core.axes import convert_axes
    from ista_ros.nodes.recorder import read_bag
    from ista_ros.ros.markers import poses_from
    from ista_ros.ros.messages import stamp_ns
    from ista_ros.viz.scene import EntityPose

    for _, msg in read_bag(bag, SKELETON_ARRAY, topic):
        yield stamp_ns(msg.header.stamp), [EntityPose(p.entity_id, convert_axes(p.joints, axes, "optical"), p.layout,
                                                      p.confidence) for p in poses_from(msg)]


def _view_corners(entities) -> np.ndarray:
    """Two points at depth 1 whose projections bound the entities' located joints (none: empty)."""
    from ista_ros.viz.scene import NEAR_M

    points = [e.joints[e.located()] for e in entities]
    points = np.concatenate(points) if points else np.zeros((0, 3))
    points = points[points[:, 2] > NEAR_M]
    if len(points) == 0:
        return np.zeros((0, 3))
    plane = points[:, :2] / points[:, 2:]
    return np.column_stack([np.stack([plane.min(axis=0), plane.max(axis=0)]), np.ones(2)])


def scan(bag, topic: str, axes: str) -> tuple[np.ndarray, np.ndarray]:
    """The capture stamps of the skeleton frames, and points bounding everything they show."""
    stamps, corners = [], []
    for stamp, entities in skeleton_frames(bag, topic, axes):
        stamps.append(stamp)
        corners.append(_view_corners(entities))
    if not stamps:
        raise ConfigError(f"bag {bag} has no skeleton messages on '{topic}'.")
    return np.array(stamps, dtype=np.int64), np.concatenate(corners)


def frame_rate(stamps: np.ndarray, gif: bool) -> float:
    """The skeletons' rate (from the median gap between stamps), at most GIF_MAX_FPS for a GIF."""
    gaps = np.diff(np.sort(stamps))
    gaps = gaps[gaps > 0]
    fps = float(np.clip(1e9 / np.median(gaps), 1.0, 60.0)) if len(gaps) else DEFAULT_FPS
    return min(fps, GIF_MAX_FPS) if gif else fps


def render_bag(bag, out, skeletons_topic: str = "skeletons", actions_topic: str = "actions",
               action_topic: str = "action", fps: float | None = None, size: tuple[int, int] = (800, 450),
               fov_deg: float | None = None, axes: str = "optical", progress: bool = True) -> tuple[Path, int]:
    """Write the video of ``bag`` to ``out``; returns its path and number of frames."""
    from ista_ros.viz.scene import Camera
    from ista_ros.viz.video import VideoRenderer, check_video_path

    out = check_video_path(out)
    stamps, corners = scan(bag, skeletons_topic, axes)
    labels = read_labels(bag, actions_topic, action_topic)
    fps = fps or frame_rate(stamps, out.suffix.lower() == ".gif")
    camera = Camera.with_fov(*size, fov_deg) if fov_deg else Camera.fitting(corners, *size)
    first = int(stamps.min())
    count = int((stamps.max() - first) * fps / 1e9 + 1e-3) + 1  # stamps rounded to the ns: not a frame short
    times = [first + round(k * 1e9 / fps) for k in range(count)]
    with VideoRenderer(out, fps, camera, total=len(times), title=Path(bag).name, progress=progress) as video:
        for stamp, entities, shown in paired(skeleton_frames(bag, skeletons_topic, axes), labels, times):
            video.add(entities, shown.groups if shown else (), shown.latency_ms if shown else None,
                      (stamp - first) / 1e9)
    return out, video.frames
