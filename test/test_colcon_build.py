"""A ROS 2 user's path: `colcon build` of the package in a workspace, `source
install/setup.bash`, then an installed node (lib/ista_ros/recognizer) answering on its topic.

colcon comes from PyPI (requirements-colcon.txt) in a venv of its own, made once under
build/ and kept between runs. The project's venv is the underlay, as /opt/ros/<distro> is
on a ROS machine.
"""
from __future__ import annotations

import fcntl
import hashlib
import os
import shlex
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest

rclpy = pytest.importorskip("rclpy")
from geometry_msgs.msg import Point  # noqa: E402

from ista_ros.core.checkpoint import load_checkpoint  # noqa: E402
from ista_ros.msg import InteractionAction, Skeleton, SkeletonArray  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
COLCON_REQUIREMENTS = ROOT / "requirements-colcon.txt"
COLCON_VENV = ROOT / "build" / "colcon-venv"
DEMO_WEIGHTS = ROOT / "ista_ros/demo/model/demo_small.pt"
NODES = ("recognizer", "keypoints", "player", "video_source", "listener")
FRAME_NS = 33_333_333


def colcon_executable() -> Path:
    """colcon, installed into COLCON_VENV when its pins changed (one run at a time)."""
    digest = hashlib.sha256(COLCON_REQUIREMENTS.read_bytes()).hexdigest()
    stamp = COLCON_VENV / "requirements.sha256"
    COLCON_VENV.parent.mkdir(exist_ok=True)
    with open(COLCON_VENV.parent / ".colcon-venv.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not (stamp.is_file() and stamp.read_text() == digest):
            subprocess.run([sys._base_executable, "-m", "venv", "--clear", COLCON_VENV], check=True)
            pip = [COLCON_VENV / "bin/python", "-m", "pip", "install", "-q", "--disable-pip-version-check"]
            subprocess.run([*pip, "-r", COLCON_REQUIREMENTS], check=True, capture_output=True)
            stamp.write_text(digest)
    return COLCON_VENV / "bin/colcon"


def in_workspace(workspace: Path, command: str) -> list[str]:
    """bash running `command` after sourcing the workspace, as a ROS 2 user's shell does."""
    return ["bash", "-c", f"source {shlex.quote(str(workspace / 'install/setup.bash'))} && {command}"]


@pytest.fixture(scope="module")
def workspace(tmp_path_factory) -> Path:
    """A workspace with this repository in src/, built by colcon on the project's venv."""
    workspace = tmp_path_factory.mktemp("colcon_ws")
    (workspace / "src").mkdir()
    (workspace / "src/ista_ros").symlink_to(ROOT)
    venv = Path(sys.prefix)
    env = {**os.environ, "PATH": f"{venv}/bin{os.pathsep}{os.environ['PATH']}",
           "AMENT_PREFIX_PATH": str(venv), "CMAKE_PREFIX_PATH": str(venv)}
    build = subprocess.run([colcon_executable(), "build", "--base-paths", "src"], cwd=workspace, env=env,
                           capture_output=True, text=True, timeout=600)
    assert build.returncode == 0, build.stdout[-3000:] + build.stderr[-3000:]
    return workspace


def test_colcon_installs_the_nodes_messages_and_sources(workspace):
    prefix = workspace / "install/ista_ros"
    for node in NODES:
        assert os.access(prefix / "lib/ista_ros" / node, os.X_OK), node
    assert (prefix / "share/ista_ros/launch/recognize.launch.py").is_file()
    assert (prefix / "share/ista_ros/config/recognize.yaml").is_file()
    probe = "import ista_ros.msg, ista_ros.nodes.recognizer as r; print(ista_ros.msg.__file__); print(r.__file__)"
    where = subprocess.run(in_workspace(workspace, f"cd / && python3 -c {shlex.quote(probe)}"),
                           env={**os.environ, "PATH": f"{sys.prefix}/bin{os.pathsep}{os.environ['PATH']}"},
                           capture_output=True, text=True, check=True).stdout.split()
    assert all(path.startswith(str(prefix)) for path in where), where


def skeleton_frame(stamp_ns: int, frame: int) -> SkeletonArray:
    """Two people 1.5 m apart, one swaying: ntu25 joints in the camera optical frame."""
    msg = SkeletonArray()
    msg.header.frame_id = "camera"
    msg.header.stamp.sec, msg.header.stamp.nanosec = divmod(stamp_ns, 1_000_000_000)
    for entity_id, x in (("anna", -0.75), ("ben", 0.75)):
        sway = 0.1 * ((frame % 30) / 30.0) if entity_id == "anna" else 0.0
        joints = [Point(x=x + sway, y=1.0 - 0.07 * j, z=3.0) for j in range(25)]
        msg.skeletons.append(Skeleton(id=entity_id, kind="person", layout="ntu25", joints=joints))
    return msg


def test_the_installed_recognizer_answers_on_its_topic(workspace, ros):
    recognizer = workspace / "install/ista_ros/lib/ista_ros/recognizer"
    command = (f"exec {shlex.quote(str(recognizer))} --ros-args -p weights:={shlex.quote(str(DEMO_WEIGHTS))}"
               " -p input_topic:=colcon_skeletons -p output_topic:=colcon_action")
    actions = []
    ros.node.create_subscription(InteractionAction, "colcon_action", actions.append, 10)
    skeletons = ros.node.create_publisher(SkeletonArray, "colcon_skeletons", 100)
    with tempfile.TemporaryFile("w+") as log:
        node = subprocess.Popen(in_workspace(workspace, command), stdout=log, stderr=subprocess.STDOUT,
                                env={**os.environ, "PYTHONUNBUFFERED": "1"})
        try:  # importing torch takes seconds, more on a busy machine
            subscribed = ros.spin_until(lambda: skeletons.get_subscription_count() > 0 or node.poll() is not None, 120)
            assert subscribed and node.poll() is None, "the recognizer did not subscribe"
            start_ns = time.time_ns()
            for frame in range(150):  # 5 s at 30 Hz, until the first action
                skeletons.publish(skeleton_frame(start_ns + frame * FRAME_NS, frame))
                ros.spin_for(FRAME_NS / 1e9)
                if actions:
                    break
            assert ros.spin_until(lambda: actions, 20), "no InteractionAction from the installed recognizer"
            assert list(actions[0].entity_ids) == ["anna", "ben"]
            assert actions[0].label in actions[0].class_names
            assert list(actions[0].class_names) == load_checkpoint(DEMO_WEIGHTS).meta.class_names
            assert len(actions[0].scores) == len(actions[0].class_names)
            node.send_signal(signal.SIGINT)
            assert node.wait(20) == 0
        finally:
            if node.poll() is None:
                node.kill()
                node.wait()
            log.seek(0)
            print(log.read()[-3000:])  # shown by pytest when the test fails
