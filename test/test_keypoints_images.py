"""Image message payloads to arrays: encodings, row padding, depth units, bad input."""
import numpy as np
import pytest

from ista_ros.keypoints.images import ImageError, compressed_to_rgb, to_metres, to_rgb


def _padded(pixels: np.ndarray, pad: int = 4) -> tuple[bytes, int]:
    rows = pixels.reshape(pixels.shape[0], -1)
    padded = np.concatenate([rows, np.full((rows.shape[0], pad), 255, np.uint8)], axis=1)
    return padded.tobytes(), padded.shape[1]


def test_colour_encodings_give_the_same_rgb():
    rng = np.random.default_rng(0)
    image = rng.integers(0, 256, size=(5, 7, 3), dtype=np.uint8)
    for encoding, payload in [("rgb8", image), ("bgr8", image[..., ::-1]),
                              ("bgra8", np.dstack([image[..., ::-1], np.zeros((5, 7), np.uint8)]))]:
        data, step = _padded(np.ascontiguousarray(payload))
        np.testing.assert_array_equal(to_rgb(encoding, 5, 7, step, data), image)
    gray = image[..., 0].copy()
    out = to_rgb("mono8", 5, 7, 7, gray.tobytes())
    assert out.shape == (5, 7, 3) and (out == gray[..., None]).all()


def test_unsupported_encoding_and_short_buffer_are_clear_errors():
    with pytest.raises(ImageError, match="image encoding 'yuv422' is not supported.*rgb8"):
        to_rgb("yuv422", 2, 2, 4, bytes(8))
    with pytest.raises(ImageError, match="too small"):
        to_rgb("rgb8", 4, 4, 12, bytes(20))
    assert issubclass(ImageError, ValueError)


def test_depth_units():
    mm = np.array([[1000, 0], [2500, 65535]], dtype=np.uint16)
    np.testing.assert_allclose(to_metres("16UC1", 2, 2, 4, mm.tobytes()),
                               [[1.0, 0.0], [2.5, 65.535]])
    big = to_metres("16UC1", 2, 2, 4, mm.astype(">u2").tobytes(), is_bigendian=True)
    np.testing.assert_allclose(big[0], [1.0, 0.0])
    metres = np.array([[1.5, np.nan], [np.inf, 0.7]], dtype=np.float32)
    np.testing.assert_allclose(to_metres("32FC1", 2, 2, 8, metres.tobytes()),
                               [[1.5, 0.0], [0.0, 0.7]], rtol=1e-6)
    with pytest.raises(ImageError, match="depth encoding 'rgb8'"):
        to_metres("rgb8", 2, 2, 6, bytes(12))


def test_compressed_png_round_trip_and_garbage():
    import cv2

    rng = np.random.default_rng(3)
    image = rng.integers(0, 256, size=(6, 9, 3), dtype=np.uint8)
    ok, png = cv2.imencode(".png", image[..., ::-1])
    np.testing.assert_array_equal(compressed_to_rgb(png.tobytes()), image)
    with pytest.raises(ImageError, match="cannot be decoded"):
        compressed_to_rgb(b"not an image")
