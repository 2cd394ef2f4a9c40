"""sensor_msgs/Image payloads <-> numpy arrays, without rclpy (plain, testable).

Colour: rgb8, bgr8, mono8 (plus rgba8/bgra8, whose alpha is dropped) -> (H, W, 3) RGB;
sensor_msgs/CompressedImage (jpeg, png) -> the same.
Depth: 16UC1 / mono16 (millimetres, the OpenNI/RealSense convention) or 32FC1
(metres) -> (H, W) float metres, 0 where there is no depth.
"""
from __future__ import annotations

import numpy as np

from ista_ros.errors import UserError

_COLOUR = {"rgb8": (3, None), "bgr8": (3, [2, 1, 0]), "mono8": (1, None),
           "rgba8": (4, [0, 1, 2]), "bgra8": (4, [2, 1, 0])}
COLOUR_ENCODINGS = tuple(_COLOUR)
DEPTH_ENCODINGS = ("16UC1", "mono16", "32FC1")


class ImageError(UserError, ValueError):
    """An image this package cannot use; the message says why in one sentence."""


def _rows(data, height: int, step: int, row_bytes: int, what: str) -> np.ndarray:
    buffer = np.frombuffer(bytes(data) if not isinstance(data, (bytes, bytearray, memoryview))
                           else data, dtype=np.uint8)
    if step < row_bytes or buffer.size < height * step:
        raise ImageError(f"{what} image of {buffer.size} bytes is too small for its "
                         f"height {height} and step {step}")
    return buffer[:height * step].reshape(height, step)[:, :row_bytes]


def to_rgb(encoding: str, height: int, width: int, step: int, data) -> np.ndarray:
    """An (H, W, 3) uint8 RGB array from an Image's fields."""
    if encoding not in _COLOUR:
        raise ImageError(f"image encoding {encoding!r} is not supported; publish one of "
                         f"{', '.join(COLOUR_ENCODINGS)}")
    channels, order = _COLOUR[encoding]
    pixels = _rows(data, height, step, width * channels, "colour").reshape(height, width, channels)
    if channels == 1:
        return np.repeat(pixels, 3, axis=2)
    return pixels[..., order] if order is not None else pixels


def to_metres(encoding: str, height: int, width: int, step: int, data,
              is_bigendian: bool = False) -> np.ndarray:
    """An (H, W) float32 depth array in metres from a depth Image's fields."""
    if encoding not in DEPTH_ENCODINGS:
        raise ImageError(f"depth encoding {encoding!r} is not supported; publish one of "
                         f"{', '.join(DEPTH_ENCODINGS)}")
    size = 4 if encoding == "32FC1" else 2
    rows = _rows(data, height, step, width * size, "depth")
    dtype = np.dtype(np.float32 if size == 4 else np.uint16).newbyteorder(
        ">" if is_bigendian else "<")
    depth = np.ascontiguousarray(rows).view(dtype).reshape(height, width).astype(np.float32)
    if size == 2:
        depth /= 1000.0
    depth[~np.isfinite(depth)] = 0.0
    return depth


def compressed_to_rgb(data) -> np.ndarray:
    """An (H, W, 3) uint8 RGB array from a CompressedImage's jpeg/png bytes."""
    import cv2

    buffer = np.frombuffer(bytes(data), dtype=np.uint8)
    image = cv2.imdecode(buffer, cv2.IMREAD_COLOR) if buffer.size else None
    if image is None:
        raise ImageError(f"compressed image of {buffer.size} bytes cannot be decoded; "
                         "publish jpeg or png")
    return image[..., ::-1]
