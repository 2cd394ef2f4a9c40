"""The demo as a video (``ista-ros demo --save demo.mp4`` or ``.gif``): the scene as it was
recognised.

While the demo runs, the listener keeps every SkeletonArray the recognizer was sent (the
player's, or the keypoints node's for a video), for a video also the keypoints node's
annotated camera images (its skeletons and each group's label drawn on the picture,
kept as JPEG so that a long video fits in memory) and, for each recognised stride, every
group's label and confidence with its ground truth (the class of the planted group's
window, as the printed line gives it; the class at its newest frame for a window across
two scenes) and the latency. Right after the demo the video is drawn
(``ista_ros.viz``) on a regular grid of capture times, as ``ista-ros render`` draws a bag:
each frame shows the newest skeletons captured by then, seen from the camera, and the
newest labels recognised from a window ending at or before their stamp; with camera
images, the newest image instead, as the keypoints node annotated it.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import cv2
import numpy as np

from ista_ros.errors import ConfigError
from ista_ros.keypoints.images import to_rgb
from ista_ros.ros.markers import poses_from
from ista_ros.ros.messages import stamp_ns
from ista_ros.viz.scene import Camera
from ista_ros.viz.timeline import TimedLabels, paired
from ista_ros.viz.video import VideoRenderer, check_video_path

GIF_FPS = 10.0  # a GIF is kept in memory until written, and should stay small: fewer frames
GIF_SIZE = (640, 360)
MP4_FPS = 30.0
MP4_SIZE = (960, 540)


def video_format(path) -> tuple[float, tuple[int, int]]:
    """Frame rate and size (width, height) of the video at ``path`` (.gif or .mp4)."""
    gif = check_video_path(path).suffix.lower() == ".gif"
    return (GIF_FPS, GIF_SIZE) if gif else (MP4_FPS, MP4_SIZE)


@dataclass
class SceneLog:
    """What the demo showed and recognised, kept for the video."""

    skeletons: list = field(default_factory=list)  # SkeletonArray messages as received
    labels: list[TimedLabels] = field(default_factory=list)  # one per recognised stride, by stamp
    pictures: list[tuple[int, bytes]] = field(default_factory=list)  # (stamp ns, JPEG) of annotated images

    def add_skeletons(self, msg) -> None:
        self.skeletons.append(msg)  # turned into arrays after the demo: the listener keeps up at 30 Hz

    def add_picture(self, msg) -> None:
        """A sensor_msgs/Image (the keypoints node's annotated output)."""
        rgb = to_rgb(msg.encoding, msg.height, msg.width, msg.step, msg.data)
        jpeg = cv2.imencode(".jpg", cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR), [cv2.IMWRITE_JPEG_QUALITY, 90])[1]
        self.pictures.append((stamp_ns(msg.header.stamp), jpeg.tobytes()))

    def add_labels(self, end_ns: int, latency_ms: float, groups: list) -> None:
        self.labels.append(TimedLabels(end_ns, latency_ms, groups))

    def render(self, path, title: str = "", progress: bool = True) -> tuple[Path, int]:
        """Write the video to ``path`` (the camera images when there are some, else the
        skeletons seen from the camera); returns its path and number of frames."""
        if self.pictures:
            return self._render_pictures(path, title, progress)
        fps, size = video_format(path)
        frames = sorted(((stamp_ns(m.header.stamp), poses_from(m)) for m in self.skeletons), key=lambda f: f[0])
        if not frames:
            raise ConfigError(f"no skeletons arrived from the source: {path} was not written.")
        joints = [e.joints[e.located()] for _, entities in frames for e in entities]
        camera = Camera.fitting(np.concatenate(joints) if joints else np.zeros((0, 3)), *size)
        first, times = frames[0][0], _grid(frames[0][0], frames[-1][0], fps)
        with VideoRenderer(path, fps, camera, total=len(times), title=title, progress=progress) as video:
            for stamp, entities, shown in paired(iter(frames), self._labels(), times):
                video.add(entities, shown.groups if shown else (), shown.latency_ms if shown else None,
                          (stamp - first) / 1e9)
        return Path(path), video.frames

    def _render_pictures(self, path, title: str, progress: bool) -> tuple[Path, int]:
        fps, size = video_format(path)
        pictures = sorted(self.pictures, key=lambda p: p[0])
        first, times = pictures[0][0], _grid(pictures[0][0], pictures[-1][0], fps)
        decoded_stamp, rgb = None, None  # most video frames repeat the picture before them
        with VideoRenderer(path, fps, Camera.with_fov(*size), total=len(times), title=title,
                           progress=progress) as video:
            for stamp, jpeg, shown in paired(iter(pictures), self._labels(), times):
                if stamp != decoded_stamp:
                    bgr = cv2.imdecode(np.frombuffer(jpeg, np.uint8), cv2.IMREAD_COLOR)
                    decoded_stamp, rgb = stamp, cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)
                video.add_picture(rgb, shown.latency_ms if shown else None, (stamp - first) / 1e9)
        return Path(path), video.frames

    def _labels(self) -> list[TimedLabels]:
        return sorted(self.labels, key=lambda timed: timed.stamp_ns)


def _grid(first: int, last: int, fps: float) -> list[int]:
    """The video's frame times (ns) from ``first`` to ``last`` at ``fps``."""
    return [first + round(k * 1e9 / fps) for k in range(int((last - first) * fps / 1e9 + 1e-3) + 1)]
