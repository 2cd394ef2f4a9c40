"""One venv per ROS 2 distribution (scripts/setup.sh, scripts/distro.sh): the venv runs the
distribution it records, refuses another, and what names a distribution follows it."""
from __future__ import annotations

import os
import subprocess
import sys
from importlib import metadata
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
RCLPY_MAJOR = {"jazzy": "7", "kilted": "9"}  # ros-rclpy of each distribution's wheels
OTHER = {"jazzy": "kilted", "kilted": "jazzy"}


def venv_distro() -> str:
    return (Path(sys.prefix) / ".ista_ros_distro").read_text().strip()


def setup(**env: str) -> subprocess.CompletedProcess:
    return subprocess.run(["bash", str(ROOT / "scripts/setup.sh")], env={**os.environ, **env},
                          capture_output=True, text=True, timeout=60)


def test_the_venv_runs_the_distribution_it_records():
    distro = venv_distro()
    assert os.environ["ROS_DISTRO"] == distro  # set at start-up by the venv's .pth
    assert metadata.version("ros-rclpy").split(".")[0] == RCLPY_MAJOR[distro]


def test_set_up_refuses_another_distribution_in_the_venv():
    distro = venv_distro()
    stamp = (Path(sys.prefix) / ".ista_ros_setup_stamp").read_text()
    result = setup(ROS_DISTRO=OTHER[distro], VENV=sys.prefix)
    assert result.returncode == 1
    assert f"holds ROS 2 {distro}, not {OTHER[distro]}" in result.stderr
    assert "Traceback" not in result.stderr and len(result.stderr.strip().splitlines()) == 1
    assert venv_distro() == distro and (Path(sys.prefix) / ".ista_ros_setup_stamp").read_text() == stamp


def test_a_distribution_without_wheels_is_one_sentence():
    result = setup(ROS_DISTRO="humble")
    assert result.returncode == 2
    assert result.stderr.strip() == ("ROS_DISTRO=humble has no PyPI wheels to set up here: set ROS_DISTRO to one "
                                     "of jazzy,kilted (on a ROS 2 install, build with colcon: README).")


@pytest.mark.parametrize("distro", ["jazzy", "kilted"])
def test_bags_take_the_message_definitions_of_the_distribution(distro, monkeypatch):
    from rosbags.typesys import Stores, get_typestore

    from ista_ros.bags import typestore

    monkeypatch.setenv("ROS_DISTRO", distro)
    assert typestore().fielddefs.keys() == get_typestore(getattr(Stores, f"ROS2_{distro.upper()}")).fielddefs.keys()
