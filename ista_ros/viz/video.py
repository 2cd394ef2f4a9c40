"""Annotated frames written to a video, with a progress bar.

    with VideoRenderer("demo.mp4", fps=30, camera=Camera.fitting(points), total=n) as video:
        for entities, groups in frames:
            video.add(entities, groups, latency_ms=..., time_s=...)

``.mp4``: OpenCV's writer (MPEG-4 part 2, "mp4v", which every OpenCV build has; browsers
and players show it); ``.gif``: Pillow, every frame reduced to 256 colours and kept in
memory until the end (about 0.3 MB a frame at 640 x 480: short clips). The file appears
under its name only once complete (written beside it, then renamed).
"""
from __future__ import annotations

from pathlib import Path
from typing import Sequence

import cv2
import numpy as np
from tqdm import tqdm

from ista_ros.core.files import atomic_path, atomic_write
from ista_ros.errors import ConfigError
from ista_ros.viz.colours import ColourBook
from ista_ros.viz.frame import draw_frame, draw_picture
from ista_ros.viz.scene import Camera, EntityPose, GroupLabel

SUFFIXES = (".mp4", ".gif")


def check_video_path(path) -> Path:
    """``path`` as a Path, when it names a video this module writes."""
    path = Path(path)
    if path.suffix.lower() not in SUFFIXES:
        raise ConfigError(f"cannot write a video to {path}: give a name ending in .mp4 or .gif.")
    return path


class _Mp4:
    def __init__(self, path: Path, fps: float, size: tuple[int, int]):
        self.writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"mp4v"), fps, size)
        if not self.writer.isOpened():
            raise ConfigError(f"OpenCV cannot write an .mp4 video at {path.parent}; check the directory is writable.")

    def add(self, rgb: np.ndarray) -> None:
        self.writer.write(cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR))

    def close(self) -> None:
        self.writer.release()


class _Gif:
    def __init__(self, path: Path, fps: float, size: tuple[int, int]):
        self.path, self.fps, self.frames = path, fps, []

    def add(self, rgb: np.ndarray) -> None:
        from PIL import Image

        self.frames.append(Image.fromarray(rgb).quantize(256, Image.Quantize.FASTOCTREE, dither=Image.Dither.NONE))

    def durations_ms(self) -> list[int]:
        """Frame durations in the GIF's 10 ms steps whose running sum keeps to ``fps``."""
        ends = np.rint(np.arange(1, len(self.frames) + 1) * 100 / self.fps).astype(int)
        return (np.diff(ends, prepend=0) * 10).tolist()

    def close(self) -> None:
        if self.frames:
            self.frames[0].save(self.path, save_all=True, append_images=self.frames[1:], loop=0,
                                duration=self.durations_ms())
        self.frames = []


class VideoRenderer:
    """Draws each added frame (``ista_ros.viz.frame.draw_frame``) into the video at ``path``
    (.mp4 or .gif) at ``fps`` frames a second; ``camera``: the view (default: 640 x 480, 70
    degrees across; ``Camera.fitting`` frames given points); ``total``: the frames expected,
    for the progress bar; ``title``: shown in the top-left corner. Groups keep one colour
    for the whole video, distinct for the first eight."""

    def __init__(self, path, fps: float = 30.0, camera: Camera | None = None, total: int | None = None,
                 title: str = "", progress: bool = True):
        self.path = check_video_path(path)
        if not fps > 0:
            raise ConfigError(f"a video needs a positive frame rate, not {fps}.")
        self.camera = camera or Camera.with_fov()
        self.title = title
        self.colours = ColourBook()
        self.frames = 0
        self._atomic = atomic_path(self.path)
        temporary = self._atomic.__enter__()
        writer = _Gif if self.path.suffix.lower() == ".gif" else _Mp4
        try:
            self._writer = writer(temporary, fps, (self.camera.width, self.camera.height))
        except BaseException as err:
            self._atomic.__exit__(type(err), err, err.__traceback__)
            raise
        self._bar = tqdm(total=total, unit="frame", desc=f"rendering {self.path.name}", disable=not progress)

    def add(self, entities: Sequence[EntityPose], groups: Sequence[GroupLabel] = (),
            latency_ms: float | None = None, time_s: float | None = None) -> np.ndarray:
        """Draw and write one frame; returns it (RGB)."""
        return self._write(draw_frame(entities, groups, self.camera, self.colours.of, latency_ms, time_s, self.title))

    def add_picture(self, rgb: np.ndarray, latency_ms: float | None = None, time_s: float | None = None) -> np.ndarray:
        """Write one camera image (``draw_picture``) as a frame; returns it (RGB)."""
        return self._write(draw_picture(rgb, (self.camera.width, self.camera.height), latency_ms, time_s, self.title))

    def _write(self, image: np.ndarray) -> np.ndarray:
        self._writer.add(image)
        self.frames += 1
        self._bar.update()
        return image

    def close(self) -> Path:
        """Finish the video and put it under its name; a video without frames is refused."""
        self._bar.close()
        self._writer.close()
        if self.frames == 0:
            err = ConfigError(f"no frames to render: {self.path} was not written.")
            self._atomic.__exit__(ConfigError, err, None)
            raise err
        self._atomic.__exit__(None, None, None)
        return self.path

    def discard(self) -> None:
        """Stop without writing the video (after a failure)."""
        self._bar.close()
        self._writer.close()
        self._atomic.__exit__(RuntimeError, RuntimeError("discarded"), None)

    def __enter__(self) -> VideoRenderer:
        return self

    def __exit__(self, exc_type, exc, tb) -> None:
        if exc_type is None:
            self.close()
        else:
            self.discard()


def save_image(path, rgb: np.ndarray) -> Path:
    """Write one frame (RGB) as a PNG or JPEG, atomically."""
    def write(tmp: Path) -> None:
        if not cv2.imwrite(str(tmp), cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR)):
            raise ConfigError(f"cannot write an image to {path}; give a name ending in .png or .jpg.")

    return atomic_write(path, write)
