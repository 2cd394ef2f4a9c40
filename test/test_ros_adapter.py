"""The ROS adapter (ista_ros.ros): parameters, message conversions, the worker thread,
spinning, the graph overrides of `ista-ros run` and the launch file."""
import dataclasses
import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np
import pytest
import yaml

from ista_ros.errors import UserError
from ista_ros.ros.graph import default_config, load_graph, split_overrides

ROOT = Path(__file__).resolve().parents[1]


# ------------------------------------------------------------------ imports

def test_the_listener_loads_no_torch():
    code = "import sys, ista_ros.nodes.listener; print([m for m in sys.modules if m.split('.')[0] == 'torch'][:3])"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True).stdout
    assert out.strip() == "[]", out


# ------------------------------------------------------------------ graph overrides (ista-ros run, launch)

def test_one_string_of_overrides_splits_where_the_next_key_starts():
    text = "  player.axes=kinect player.ids=[anna, ben]  recognizer.smoothing=0.5 topic=acts "
    assert split_overrides(text) == ["player.axes=kinect", "player.ids=[anna, ben]", "recognizer.smoothing=0.5",
                                     "topic=acts"]
    assert split_overrides("") == [] and split_overrides("  ") == []


def test_launch_params_reach_any_parameter_as_run_does():
    graph = load_graph(default_config(), ["player.enabled=true", *split_overrides(
        "player.axes=kinect player.ids=[anna, ben] recognizer.smoothing=0.5 keypoints.depth_tolerance=1")])
    assert graph["player"]["axes"] == "kinect" and graph["player"]["ids"] == ["anna", "ben"]
    assert graph["recognizer"]["smoothing"] == 0.5
    assert "keypoints" not in graph  # set but not enabled


def test_a_value_that_is_not_yaml_is_one_sentence():
    with pytest.raises(UserError, match="the value is not YAML"):
        load_graph(default_config(), ["player.ids=[a, b"])


# ------------------------------------------------------------------ defaults exist once

def _defaults(*classes) -> dict:
    return {f.name: f.default if f.default is not dataclasses.MISSING else f.default_factory()
            for cls in classes for f in dataclasses.fields(cls)}


def _yaml_sections() -> dict:
    return {name: section["ros__parameters"] for name, section in yaml.safe_load(default_config().read_text()).items()}


def test_the_yaml_repeats_the_node_defaults_and_names_no_unknown_parameter():
    pytest.importorskip("rclpy")
    from ista_ros.core.recognition import Settings
    from ista_ros.keypoints.detector import DetectorConfig
    from ista_ros.nodes.keypoints import KeypointsParameters
    from ista_ros.nodes.listener import ListenerParameters
    from ista_ros.nodes.recognizer import RecognizerParameters
    from ista_ros.nodes.video_source import VideoSourceParameters

    declared = {"recognizer": _defaults(RecognizerParameters, Settings), "listener": _defaults(ListenerParameters),
                "keypoints": _defaults(KeypointsParameters, DetectorConfig),
                "video_source": _defaults(VideoSourceParameters)}
    for node, defaults in declared.items():
        listed = {k: v for k, v in _yaml_sections()[node].items() if k != "enabled"}
        assert set(listed) <= set(defaults), (node, set(listed) - set(defaults))
        assert listed == {k: defaults[k] for k in listed}, node


def test_every_field_of_the_core_settings_is_a_recognizer_parameter(ros, tmp_path_factory):
    from rclpy.parameter import Parameter

    from ista_ros.core.recognition import Settings
    from ista_ros.nodes.recognizer import RecognizerNode, RecognizerParameters
    from recognizer_support import tiny_checkpoint

    node = RecognizerNode(context=ros.context, parameter_overrides=[
        Parameter("weights", value=str(tiny_checkpoint(tmp_path_factory))), Parameter("min_frames", value=4.0),
        Parameter("window_seconds", value=2)])
    try:
        declared = node.get_parameters_by_prefix("")
        assert set(_defaults(Settings, RecognizerParameters)) <= set(declared)
        assert node.recognizer.settings.min_frames == 4 and node.recognizer.settings.window_seconds == 2.0
    finally:
        node.destroy_node()


# ------------------------------------------------------------------ parameters

@pytest.fixture
def make_node(ros):
    from rclpy.node import Node
    from rclpy.parameter import Parameter

    nodes = []

    def make(**overrides):
        nodes.append(Node("params_test", context=ros.context,
                          parameter_overrides=[Parameter(k, value=v) for k, v in overrides.items()]))
        return nodes[-1]
    yield make
    for node in nodes:
        node.destroy_node()


@dataclasses.dataclass
class Example:
    tolerance: float = 0.05
    count: int = 3
    source: str = ""
    enabled: bool = True
    ids: list = dataclasses.field(default_factory=lambda: [""])

    def __post_init__(self):
        if self.count < 0:
            raise ValueError("count must be at least 0.")


def test_numbers_are_accepted_as_ints_or_floats(make_node):
    from ista_ros.ros.params import declare_dataclass

    values = declare_dataclass(make_node(tolerance=1, count=4.0, source=0, ids=["a", "b"]), Example)
    assert values == Example(tolerance=1.0, count=4, source="0", enabled=True, ids=["a", "b"])
    assert type(values.tolerance) is float and type(values.count) is int
    assert declare_dataclass(make_node(), Example) == Example()


@pytest.mark.parametrize("name, value, message", [
    ("tolerance", "abc", r"parameter 'tolerance' of node 'params_test' takes a number \(default 0.05\), not 'abc'"),
    ("count", 2.5, "takes a whole number"),
    ("enabled", 1, "takes true or false"),
    ("count", True, "takes a whole number"),
    ("count", -1, "node 'params_test': count must be at least 0."),
])
def test_a_wrong_value_is_one_sentence_naming_the_parameter(make_node, name, value, message):
    from ista_ros.ros.params import declare_dataclass

    with pytest.raises(UserError, match=message):
        declare_dataclass(make_node(**{name: value}), Example)


def test_parameters_are_read_only_since_nodes_read_them_once(make_node):
    from rclpy.parameter import Parameter

    from ista_ros.ros.params import declare

    node = make_node()
    declare(node, "tolerance", 0.05)
    result = node.set_parameters([Parameter("tolerance", value=0.5)])[0]
    assert not result.successful and node.get_parameter("tolerance").value == 0.05


def test_rclpy_parameter_errors_become_user_errors(make_node):
    from ista_ros.ros.params import declare

    node = make_node()
    declare(node, "tolerance", 0.05)
    with pytest.raises(UserError, match="parameter 'tolerance'"):
        declare(node, "tolerance", 0.05)  # declared twice: rclpy's ParameterAlreadyDeclaredException


# ------------------------------------------------------------------ messages

def test_messages_round_trip_through_the_core_types():
    pytest.importorskip("rclpy")
    from std_msgs.msg import Header

    from ista_ros.ros.messages import ros_time, skeleton_array, skeleton_message, skeletons_from, stamp_ns

    stamp = 1_700_000_000 * 10**9 + 123_456_789
    assert stamp_ns(ros_time(stamp)) == stamp
    joints = np.arange(75, dtype=np.float32).reshape(25, 3) / 10
    header = Header(stamp=ros_time(stamp), frame_id="camera")
    msg = skeleton_array([skeleton_message("a", "person", "ntu25", joints, np.full(25, 0.5)),
                          skeleton_message("b", "person", "ntu25", joints[:, :2])], header)
    header.frame_id = "changed later"
    assert msg.header.frame_id == "camera" and stamp_ns(msg.header.stamp) == stamp
    assert list(msg.skeletons[0].confidence) == [0.5] * 25 and list(msg.skeletons[1].confidence) == []
    first, second = skeletons_from(msg)
    assert (first.id, first.kind, first.layout) == ("a", "person", "ntu25")
    np.testing.assert_allclose(first.points, joints)
    np.testing.assert_allclose(second.points, np.pad(joints[:, :2], ((0, 0), (0, 1))))  # 2D: z = 0
    np.testing.assert_allclose(first.confidence, np.full(25, 0.5))  # per joint, to the core's too_few_joints
    assert second.confidence is None  # empty: the source gives none


# ------------------------------------------------------------------ worker

def test_the_worker_processes_the_newest_item_and_survives_errors(ros):
    from ista_ros.ros.worker import NewestWinsWorker

    release, seen, errors = threading.Event(), [], []

    def process(item):
        seen.append(item)
        if item == "bad":
            raise RuntimeError("bad frame")
        release.wait(5)

    worker = NewestWinsWorker(ros.node, process, errors.append)
    try:
        worker.put(1)
        assert _wait(lambda: seen == [1])
        for item in (2, 3, 4):  # while 1 is being processed: 4 wins, 2 and 3 are never processed
            worker.put(item)
        release.set()
        assert _wait(lambda: seen == [1, 4]) and worker.replaced == 2
        worker.put("bad")
        assert _wait(lambda: len(errors) == 1) and str(errors[0]) == "bad frame"
        worker.put(5)
        assert _wait(lambda: seen[-1] == 5)
    finally:
        worker.stop()
    assert not worker._thread.is_alive()


def test_the_worker_waits_for_a_batch_and_keeps_its_rate(ros):
    from ista_ros.ros.worker import NewestWinsWorker

    starts, seen = [], []
    worker = NewestWinsWorker(ros.node, lambda item: (starts.append(time.monotonic()), seen.append(item)),
                              lambda err: None, batch=3, min_period=0.2)
    try:
        for item in range(1, 10):
            worker.put(item)
            time.sleep(0.01)
        assert _wait(lambda: len(seen) >= 2)
        assert seen[0] >= 3  # not before 3 items came
        assert min(np.diff(starts)) >= 0.19  # never faster than 1 / min_period
    finally:
        worker.stop()


def _wait(condition, timeout: float = 5.0) -> bool:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.01)
    return True


# ------------------------------------------------------------------ spinning

def test_a_node_that_cannot_be_built_stops_the_ones_built_before_it(capsys):
    rclpy = pytest.importorskip("rclpy")
    from rclpy.node import Node

    from ista_ros.ros.spin import run_node, spin_nodes

    destroyed = []

    class Built(Node):
        def destroy_node(self):
            destroyed.append(self.get_name())
            return super().destroy_node()

    def refuse():
        raise UserError("no checkpoint given: set the parameter 'weights'.")

    with pytest.raises(UserError, match="no checkpoint given"):
        spin_nodes([lambda: Built("first"), lambda: Built("second"), refuse])
    assert destroyed == ["second", "first"] and not rclpy.ok()
    assert run_node(refuse, "recognizer") == 2
    assert capsys.readouterr().err == "recognizer: error: no checkpoint given: set the parameter 'weights'.\n"
