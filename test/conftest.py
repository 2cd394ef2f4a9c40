"""Shared test set-up: a private ROS 2 domain per pytest run, child processes, a test node.

Fixtures for any test:
    spawn(*python_args, env=None) -> ChildProcess   a `python <args>` child (e.g. "-m",
        "ista_ros.nodes.player", ...) that is stopped when the test ends; its stdout and
        stderr go to a file: child.output(), child.wait_for_output(text), child.stop().
    ros -> RosTestNode   an rclpy node in its own context for this test:
        ros.node, ros.spin_until(condition, timeout), ros.spin_for(seconds).
    ros_domain_id -> int   the domain of this run (children inherit it).
rclpy is imported only by the tests that use `ros`, so plain tests run without ROS.
"""
from __future__ import annotations

import fcntl
import os
import random
import re
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest

# Manual runs by the engineers use domains below this; test runs take one above.
_FIRST_TEST_DOMAIN, _LAST_DOMAIN = 20, 101  # 101: highest id safe on Linux (port ranges)


def _claim_domain_id() -> tuple[int, object]:
    """A ROS_DOMAIN_ID that no other pytest run on this machine holds, and its lock.

    The lock (an flock on a file per domain) lives as long as this process.
    """
    lock_dir = Path(tempfile.gettempdir()) / "ista_ros_test_domains"
    lock_dir.mkdir(exist_ok=True)
    candidates = list(range(_FIRST_TEST_DOMAIN, _LAST_DOMAIN + 1))
    random.Random().shuffle(candidates)
    for domain in candidates:
        lock = open(lock_dir / f"{domain}.lock", "w")
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            lock.close()
            continue
        return domain, lock
    raise RuntimeError(f"all ROS domains {_FIRST_TEST_DOMAIN}-{_LAST_DOMAIN} are taken by other test runs")


# At import, before any test calls rclpy.init or starts a child, so that everything this
# run starts shares one domain that no other run uses; and discovery stays on this host.
if "ISTA_ROS_TEST_DOMAIN_ID" in os.environ:
    ROS_DOMAIN_ID, _domain_lock = int(os.environ["ISTA_ROS_TEST_DOMAIN_ID"]), None
else:
    ROS_DOMAIN_ID, _domain_lock = _claim_domain_id()
os.environ["ROS_DOMAIN_ID"] = str(ROS_DOMAIN_ID)
os.environ.setdefault("ROS_AUTOMATIC_DISCOVERY_RANGE", "LOCALHOST")
# The recognizer's ONNX export cache (backend auto on the CPU): one per test run, so the
# suite neither reads a stale export nor writes into the user's ~/.cache; child processes
# inherit it, so the first node pays the export and the others read it.
os.environ.setdefault("ISTA_ROS_CACHE_DIR", tempfile.mkdtemp(prefix="ista_ros_test_cache_"))


def pytest_report_header(config):
    return f"ROS_DOMAIN_ID={ROS_DOMAIN_ID} (set ISTA_ROS_TEST_DOMAIN_ID to choose it)"


# Modules whose tests face ROS 2 without the `ros` or `spawn` fixtures (messages, commands,
# the demo, the colcon build); with the tests that use those fixtures they are marked
# `ros` (`-m ros`: the ROS-facing tests).
ROS_FACING_MODULES = {"test_messages", "test_ros_adapter", "test_recognizer_commands", "test_demo_run",
                      "test_colcon_build", "test_distributions"}


# What can differ between ROS 2 distributions is in their wheels: rclpy's API, the generated
# messages, the bag formats and message definitions, colcon. These tests, marked `distro`,
# reach each of those once; CI runs them on the second distribution (`-m distro`), the
# whole suite on the first. Module -> its distro-sensitive tests (ALL: every test).
ALL = "all"
DISTRO_SENSITIVE = {
    "test_messages": ALL,  # the generated messages: every field, round trip between processes
    "test_distributions": ALL,  # the venv keeps its distribution; bags take its message definitions
    "test_colcon_build": ALL,  # colcon build on the wheels; the installed recognizer answers
    "test_ros_adapter": ALL,  # rclpy parameters, executors and spinning; the launch file's parameters
    "test_recognizer_node": {"test_actions_follow_the_scene_with_stamps_and_ids",  # nodes across processes
                             "test_recorder_writes_what_the_player_plays"},  # recorder and player nodes, a bag
    "test_recognizer_commands": {"test_run_plays_recognises_and_the_tools_see_it",  # `ista-ros run`, graph tools
                                 "test_the_launch_file_starts_the_executables_the_package_installs"},
    "test_recorder": {"test_best_effort_publishers_are_recorded_with_their_qos",  # rclpy QoS in the bag
                      "test_a_type_not_installed_here_is_skipped_with_a_warning"},
    "test_player": {"test_a_bag_whose_first_stamp_is_zero_plays_at_its_recorded_pace",  # bags read back
                    "test_a_damaged_bag_is_played_up_to_the_damage_then_ends_with_a_sentence"},
    "test_markers": {"test_markers_reach_a_subscriber_in_another_process"},  # visualization_msgs
    "test_keypoints_node": {"test_keypoints_node_across_processes"},  # sensor_msgs images in, skeletons out
}


def _distro_sensitive(module, test_name: str) -> bool:
    """Whether the test is in DISTRO_SENSITIVE; a name listed there that the module lacks is an error."""
    listed = DISTRO_SENSITIVE.get(module.__name__.rpartition(".")[2], ())
    if listed == ALL:
        return True
    missing = [name for name in listed if not hasattr(module, name)]
    if missing:
        raise pytest.UsageError(f"DISTRO_SENSITIVE in test/conftest.py names tests {module.__name__} lacks: {missing}")
    return test_name in listed


def pytest_collection_modifyitems(config, items):
    for item in items:
        module = item.module.__name__.rpartition(".")[2] if item.module else ""
        if module in ROS_FACING_MODULES or {"ros", "spawn"} & set(item.fixturenames):
            item.add_marker(pytest.mark.ros)
        if item.module and _distro_sensitive(item.module, item.originalname):
            item.add_marker(pytest.mark.distro)


class ChildProcess:
    """A Python child process; stdout and stderr go to a file, so no pipe can fill up."""

    def __init__(self, *python_args: str, env: dict[str, str] | None = None):
        fd, self.log_path = tempfile.mkstemp(prefix="ista_ros_child_", suffix=".log")
        self._final_output: str | None = None  # set by stop(), which removes the log
        self.args = [sys.executable, *python_args]
        child_env = {**os.environ, "PYTHONUNBUFFERED": "1", **(env or {})}
        with os.fdopen(fd, "wb") as log:
            self.process = subprocess.Popen(self.args, stdin=subprocess.DEVNULL, stdout=log,
                                            stderr=subprocess.STDOUT, env=child_env)

    def output(self) -> str:
        """Everything the child has written so far."""
        if self._final_output is not None:
            return self._final_output
        return Path(self.log_path).read_text(errors="replace")

    def running(self) -> bool:
        return self.process.poll() is None

    def wait_for_output(self, text: str, timeout: float = 30.0) -> bool:
        """Wait until `text` appears in the output; False on timeout or if the child ended."""
        deadline = time.monotonic() + timeout
        while text not in self.output():
            if not self.running() or time.monotonic() > deadline:
                return text in self.output()
            time.sleep(0.05)
        return True

    def stop(self, timeout: float = 10.0) -> tuple[int, str]:
        """SIGINT (a clean rclpy shutdown), SIGKILL if it is still running after `timeout` s.

        Returns the exit code and the whole output; the log file is removed. Idempotent.
        """
        if self.running():
            self.process.send_signal(signal.SIGINT)
            try:
                self.process.wait(timeout)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self._final_output = self.output()
        Path(self.log_path).unlink(missing_ok=True)
        return self.process.returncode, self._final_output

    def __repr__(self) -> str:
        return f"ChildProcess({' '.join(self.args[1:])!r}, pid={self.process.pid})"


class RosTestNode:
    """An rclpy node in a context of its own, with an executor to spin it in the test."""

    def __init__(self, name: str):
        import rclpy
        from rclpy.executors import SingleThreadedExecutor

        self.context = rclpy.Context()
        rclpy.init(context=self.context)
        self.node = rclpy.create_node(name, context=self.context)
        self.executor = SingleThreadedExecutor(context=self.context)
        self.executor.add_node(self.node)

    def spin_until(self, condition, timeout: float = 20.0) -> bool:
        """Spin until condition() is true; False when `timeout` seconds pass first."""
        deadline = time.monotonic() + timeout
        while not condition():
            if time.monotonic() > deadline:
                return False
            self.executor.spin_once(timeout_sec=0.05)
        return True

    def spin_for(self, seconds: float) -> None:
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            self.executor.spin_once(timeout_sec=0.05)

    def close(self) -> None:
        self.executor.shutdown()
        self.node.destroy_node()
        self.context.try_shutdown()


@pytest.fixture(scope="session")
def ros_domain_id() -> int:
    return ROS_DOMAIN_ID


@pytest.fixture
def spawn():
    """Start `python <args>` children; all of them are stopped when the test ends."""
    children: list[ChildProcess] = []

    def start(*python_args: str, env: dict[str, str] | None = None) -> ChildProcess:
        child = ChildProcess(*python_args, env=env)
        children.append(child)
        return child

    yield start
    for child in children:
        child.stop()


@pytest.fixture
def ros(request):
    """An rclpy test node named after the test, destroyed when the test ends."""
    test_node = RosTestNode("test_" + re.sub(r"\W", "_", request.node.name)[:50])
    yield test_node
    test_node.close()
