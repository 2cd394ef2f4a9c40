"""Axis conventions: rotations between the camera optical, Kinect and REP-103 body frames."""
import numpy as np
import pytest

from ista_ros.core.axes import FROM_OPTICAL, convert_axes

# One point 1 m right, 2 m down and 3 m ahead of the camera, in each convention.
POINT = {"optical": [1.0, 2.0, 3.0], "kinect": [-1.0, -2.0, 3.0], "body": [3.0, -1.0, -2.0]}


@pytest.mark.parametrize("src", list(POINT))
@pytest.mark.parametrize("dst", list(POINT))
def test_a_point_maps_to_the_same_place_in_every_convention(src, dst):
    np.testing.assert_allclose(convert_axes(np.array(POINT[src]), src, dst), POINT[dst])


def test_conventions_are_proper_rotations():
    for rotation in FROM_OPTICAL.values():
        np.testing.assert_allclose(rotation @ rotation.T, np.eye(3))
        assert np.linalg.det(rotation) == pytest.approx(1.0)


def test_unknown_convention_is_refused_clearly():
    with pytest.raises(ValueError, match="unknown axis convention 'enu'"):
        convert_axes(np.zeros(3), "enu", "optical")
