"""`ista-ros run | play | record | topics | echo | hz`, the YAML graph and the launch file."""
import ast
import os
import re
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from ista_ros.errors import UserError
from ista_ros.ros.graph import NODES, default_config, load_graph
from recognizer_support import sequence, tiny_checkpoint

ROOT = Path(__file__).resolve().parents[1]
ENV = {"PYTHONPATH": f"{ROOT}{os.pathsep}{os.environ.get('PYTHONPATH', '')}"}


def test_the_default_graph_is_the_recognizer_and_the_listener():
    graph = load_graph(default_config())
    assert list(graph) == ["recognizer", "listener"]
    assert "enabled" not in graph["recognizer"] and graph["recognizer"]["window_seconds"] == 3.0


def test_overrides_target_one_node_or_every_node_with_the_key():
    graph = load_graph(default_config(), ["recognizer.weights=m.pt", "player.enabled=true", "player.ids=[a, b]",
                                          "topic=acts", "recognizer.smoothing=0.5"])
    assert graph["recognizer"]["weights"] == "m.pt" and graph["recognizer"]["smoothing"] == 0.5
    assert graph["player"]["ids"] == ["a", "b"]
    assert graph["player"]["topic"] == "acts" and graph["listener"]["topic"] == "acts"


@pytest.mark.parametrize("override, message", [("nokey", "not key=value"), ("ghost.x=1", "no node 'ghost'"),
                                               ("bogus=1", "no node has a parameter 'bogus'")])
def test_bad_overrides_are_explained(override, message):
    with pytest.raises(UserError, match=message):
        load_graph(default_config(), [override])


def test_unknown_nodes_in_the_file_are_refused(tmp_path):
    bad = tmp_path / "graph.yaml"
    bad.write_text("recogniser:\n  ros__parameters: {enabled: true}\n")
    with pytest.raises(UserError, match="unknown node 'recogniser'"):
        load_graph(bad)


def test_the_launch_file_starts_the_executables_the_package_installs():
    source = (ROOT / "launch/recognize.launch.py").read_text()
    tree = ast.parse(source)
    assert any(isinstance(n, ast.FunctionDef) and n.name == "generate_launch_description" for n in tree.body)
    assert "load_graph(" in source and "executable=name" in source  # the same YAML and node names as `run`
    cmake_nodes = re.search(r"set\(ISTA_ROS_NODES ([^)]*)\)", (ROOT / "CMakeLists.txt").read_text()).group(1).split()
    assert sorted(NODES) == sorted(cmake_nodes)


def test_a_node_interrupted_while_it_loads_exits_130_without_a_traceback(tmp_path):
    """The installed launchers (scripts/entry_point.py.in) as an early Ctrl-C or launch shutdown meets them."""
    (tmp_path / "loading_node.py").write_text("raise KeyboardInterrupt  # SIGINT while torch loads\n")
    launcher = tmp_path / "launcher"
    launcher.write_text((ROOT / "scripts/entry_point.py.in").read_text()
                        .replace("@Python3_EXECUTABLE@", sys.executable).replace("@ENTRY_MODULE@", "loading_node"))
    result = subprocess.run([sys.executable, launcher], capture_output=True, text=True, timeout=60)
    assert (result.returncode, result.stderr) == (130, "")


def test_run_plays_recognises_and_the_tools_see_it(spawn, tmp_path_factory, tmp_path):
    pytest.importorskip("rclpy")
    weights = tiny_checkpoint(tmp_path_factory)
    seq = tmp_path / "wave.npy"
    np.save(seq, sequence(1, 60, np.random.default_rng(2)))
    run = spawn("-m", "ista_ros.cli", "run", "--param", f"recognizer.weights={weights}",
                "--param", "player.enabled=true",
                "--param", f"player.file={seq}", "--param", "player.ids=[left, right]", "--param", "player.loop=true",
                "--param", "player.topic=cmd_skeletons", "--param", "recognizer.input_topic=cmd_skeletons",
                "--param", "recognizer.output_topic=cmd_action", "--param", "listener.topic=cmd_action", env=ENV)
    assert run.wait_for_output("[left, right]", 90), run.output()  # the listener's line
    assert re.search(r"\) wave [01]\.\d\d \[left, right\]", run.output()), run.output()
    topics = spawn("-m", "ista_ros.cli", "topics", env=ENV)
    topics.process.wait(60)
    assert "/cmd_action [ista_ros/msg/InteractionAction]" in topics.output(), topics.output()
    echo = spawn("-m", "ista_ros.cli", "echo", "cmd_action", "--count", "1", env=ENV)
    echo.process.wait(60)
    assert "label: wave" in echo.output() and "entity_ids: [left, right]" in echo.output(), echo.output()
    hz = spawn("-m", "ista_ros.cli", "hz", "cmd_skeletons", env=ENV)
    # The first report may cover the burst that arrives as the subscription matches: read a later one.
    deadline = time.monotonic() + 30
    while len(rates := re.findall(r"average rate: ([\d.]+) Hz", hz.output())) < 3 and time.monotonic() < deadline:
        time.sleep(0.2)
    assert len(rates) >= 3, hz.output()
    assert 20 < float(rates[-1]) < 40  # the player's 30 fps
    code, out = run.stop()
    assert code == 0 and "Traceback" not in out, out


def test_run_with_missing_weights_is_one_sentence(spawn):
    child = spawn("-m", "ista_ros.cli", "run", "--param", "recognizer.weights=/nonexistent.pt", env=ENV)
    child.process.wait(60)
    code, out = child.stop()
    assert code == 2 and "checkpoint /nonexistent.pt does not exist" in out and "Traceback" not in out, out


ONLY_KEYPOINTS = ["--param", "recognizer.enabled=false", "--param", "listener.enabled=false",
                  "--param", "keypoints.enabled=true"]


def test_run_takes_an_int_where_a_float_is_expected(spawn):
    run = spawn("-m", "ista_ros.cli", "run", *ONLY_KEYPOINTS, "--param", "keypoints.depth_tolerance=1", env=ENV)
    assert run.wait_for_output("running keypoints", 60), run.output()
    code, out = run.stop()
    assert code == 0 and "Traceback" not in out, out


@pytest.mark.parametrize("param, message", [
    ("keypoints.depth_tolerence=1", "keypoints has no parameter 'depth_tolerence'; its parameters are "),
    ("keypoints.depth_tolerance=soon", "parameter 'depth_tolerance' of node 'keypoints' takes a number"),
    ("keypoints.num_poses=1.5", "parameter 'num_poses' of node 'keypoints' takes a whole number"),
])
def test_run_refuses_unknown_parameters_and_wrong_values_in_one_sentence(spawn, param, message):
    run = spawn("-m", "ista_ros.cli", "run", *ONLY_KEYPOINTS, "--param", param, env=ENV)
    run.process.wait(60)
    code, out = run.stop()
    assert code == 2 and message in out and "Traceback" not in out, out


def test_play_and_record_from_the_command_line(spawn, tmp_path):
    pytest.importorskip("rclpy")
    from ista_ros.nodes.recorder import read_bag

    seq = tmp_path / "scene.npy"
    np.save(seq, sequence(0, 45, np.random.default_rng(0)))
    bag = tmp_path / "bag"
    record = spawn("-m", "ista_ros.cli", "record", str(bag), "cli_skeletons", env=ENV)
    assert record.wait_for_output("recording", 30), record.output()
    play = spawn("-m", "ista_ros.cli", "play", str(seq), "--topic", "cli_skeletons", "--ids", "a,b", "--rate", "3",
                 env=ENV)
    play.process.wait(60)
    assert play.stop()[0] == 0
    code, out = record.stop()
    assert code == 0, out
    assert len([m for _, m in read_bag(bag, "ista_ros/msg/SkeletonArray")]) >= 40
    missing = spawn("-m", "ista_ros.cli", "play", str(tmp_path / "none.npy"), env=ENV)
    missing.process.wait(60)
    code, out = missing.stop()
    assert code == 2 and "does not exist" in out and "Traceback" not in out, out


def test_bags_that_cannot_be_read_are_explained(tmp_path):
    pytest.importorskip("rclpy")
    from ista_ros.msg import InteractionAction
    from ista_ros.nodes.recorder import read_bag, write_bag

    with pytest.raises(ValueError, match="not a readable rosbag2 bag"):
        next(read_bag(tmp_path, "ista_ros/msg/SkeletonArray"))
    write_bag(tmp_path / "actions", [("action", InteractionAction(label="hug"), 1)])
    with pytest.raises(ValueError, match=r"no ista_ros/msg/SkeletonArray messages; it holds action \(ista_ros/msg/"):
        next(read_bag(tmp_path / "actions", "ista_ros/msg/SkeletonArray"))
    assert next(read_bag(tmp_path / "actions", "ista_ros/msg/InteractionAction"))[1].label == "hug"
