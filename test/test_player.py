"""The player as a real process (and, for its thread, a real node): self-describing
sequence files, bags read as they play, zero stamps, empty bags and failures that end it."""
import os
import re
import subprocess
import time
from pathlib import Path

import numpy as np
import pytest

rclpy = pytest.importorskip("rclpy")
from rclpy.executors import ExternalShutdownException, SingleThreadedExecutor  # noqa: E402
from rclpy.parameter import Parameter  # noqa: E402
from rclpy.serialization import serialize_message  # noqa: E402

from ista_ros.bags import BagWriter, typestore  # noqa: E402
from ista_ros.core.axes import convert_axes  # noqa: E402
from ista_ros.core.sequence import Sequence, save_sequence  # noqa: E402
from ista_ros.msg import SkeletonArray  # noqa: E402
from ista_ros.nodes.player import PlayerNode, bag_source, sequence_frames  # noqa: E402
from ista_ros.ros.messages import ros_time, skeleton_message, stamp_ns  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
ENV = {"PYTHONPATH": f"{ROOT}{os.pathsep}{os.environ.get('PYTHONPATH', '')}"}
SKELETONS = "ista_ros/msg/SkeletonArray"
START_NS = 1_700_000_000 * 10**9
FRAME_NS = 33_333_333


def frame(i: int, stamp_ns: int) -> SkeletonArray:
    msg = SkeletonArray(skeletons=[skeleton_message("a", "person", "ntu25", np.full((25, 3), float(i)))])
    msg.header.stamp, msg.header.frame_id = ros_time(stamp_ns), str(i)
    return msg


def bag_of(path: Path, raws: list[bytes]) -> Path:
    """A closed bag of serialized messages recorded one frame apart."""
    writer = BagWriter(path)
    for i, raw in enumerate(raws):
        writer.write("/skeletons", SKELETONS, raw, START_NS + i * FRAME_NS)
    writer.close()
    return path


def receive(ros, topic: str) -> list:
    received = []
    ros.node.create_subscription(SkeletonArray, topic, received.append, 100)
    return received


def play(spawn, *args: str):
    return spawn("-m", "ista_ros.cli", "play", *args, env=ENV)


def finish(ros, child, timeout: float = 60.0) -> tuple[int, str]:
    assert ros.spin_until(lambda: not child.running(), timeout), child.output()
    ros.spin_for(0.3)  # the last messages
    return child.stop()


def test_an_npz_says_what_it_holds_and_wins_over_a_contradicting_option(ros, spawn, tmp_path):
    joints = np.random.default_rng(1).normal(size=(3, 10, 25, 2)).astype(np.float32)
    path = save_sequence(tmp_path / "scene.npz", Sequence(joints, layout="ntu25", axes="kinect", fps=30,
                                                          ids=["anna", "ben"]))
    received = receive(ros, "npz_skeletons")
    child = play(spawn, str(path), "--topic", "npz_skeletons", "--axes", "body", "--rate", "2")
    code, out = finish(ros, child)
    assert code == 0 and len(received) == 10, out
    assert "scene.npz: the file says axes kinect, so axes body is ignored" in out
    first = received[0].skeletons
    assert [s.id for s in first] == ["anna", "ben"] and first[0].layout == "ntu25"
    published = np.array([(p.x, p.y, p.z) for p in first[0].joints])
    assert np.allclose(published, convert_axes(joints[:, 0, :, 0].T, "kinect", "optical"), atol=1e-6)


@pytest.mark.parametrize("overrides, warnings", [
    ({"axes": "optical", "fps": 30}, ["the file says fps 15, so fps 30 is ignored",
                                      "the file says axes kinect, so axes optical is ignored"]),
    ({}, []),
])
def test_a_parameter_set_to_its_default_is_set_on_purpose(ros, tmp_path, overrides, warnings):
    """Before: a parameter equal to its default counted as not set, so axes:=optical against
    an .npz in Kinect axes was ignored without a word."""
    path = save_sequence(tmp_path / "scene.npz", Sequence(np.ones((3, 2, 25, 1), np.float32), layout="ntu25",
                                                          axes="kinect", fps=15, ids=["anna"]))
    parameters = {"file": str(path), "wait_for_subscribers": 0.0, "topic": "on_purpose_skeletons", **overrides}
    node = PlayerNode(context=ros.context, parameter_overrides=[Parameter(k, value=v) for k, v in parameters.items()])
    try:
        assert node.source.warnings == [f"scene.npz: {warning}" for warning in warnings]
    finally:
        node.destroy_node()


def test_a_npy_takes_its_axes_from_the_options(ros, spawn, tmp_path):
    joints = np.random.default_rng(2).normal(size=(3, 4, 25, 1)).astype(np.float32)
    np.save(tmp_path / "scene.npy", joints)
    received = receive(ros, "npy_skeletons")
    child = play(spawn, str(tmp_path / "scene.npy"), "--topic", "npy_skeletons", "--axes", "kinect", "--ids", "x")
    code, out = finish(ros, child)
    assert code == 0 and len(received) == 4 and received[0].skeletons[0].id == "x", out
    published = np.array([(p.x, p.y, p.z) for p in received[0].skeletons[0].joints])
    assert np.allclose(published, convert_axes(joints[:, 0, :, 0].T, "kinect", "optical"), atol=1e-6)


def test_a_bag_whose_first_stamp_is_zero_plays_at_its_recorded_pace(ros, spawn, tmp_path):
    """Before: frame 2 was due (its stamp - 0) seconds, decades, after frame 1."""
    bag = bag_of(tmp_path / "unstamped", [serialize_message(frame(i, 0 if i == 0 else START_NS + i * FRAME_NS))
                                           for i in range(30)])
    received = receive(ros, "zero_skeletons")
    start = time.monotonic()
    code, out = finish(ros, play(spawn, str(bag), "--topic", "zero_skeletons", "--rate", "2"), timeout=30)
    assert code == 0 and [m.header.frame_id for m in received] == [str(i) for i in range(30)], out
    assert time.monotonic() - start < 30
    assert "frames without a capture stamp (0) are stamped with the time they are published" in out
    assert stamp_ns(received[0].header.stamp) > START_NS  # stamped when published, not 0
    assert [stamp_ns(m.header.stamp) for m in received[1:]] == [START_NS + i * FRAME_NS for i in range(1, 30)]


def test_an_empty_bag_is_one_sentence(spawn, tmp_path):
    from rosbags.rosbag2 import StoragePlugin, Writer

    with Writer(tmp_path / "empty", version=9, storage_plugin=StoragePlugin.MCAP) as writer:
        writer.add_connection("/skeletons", SKELETONS, typestore=_store_with_skeletons())
    child = play(spawn, str(tmp_path / "empty"))
    code, out = child.process.wait(60), child.stop()[1]
    assert code == 2 and "nothing to play: bag" in out and "holds no skeletons" in out, out
    assert "Traceback" not in out


def _store_with_skeletons():
    from ista_ros.bags import add_definition

    store = typestore()
    assert add_definition(store, SKELETONS)
    return store


def test_a_damaged_bag_is_played_up_to_the_damage_then_ends_with_a_sentence(ros, spawn, tmp_path):
    """Streamed: the frames before the damage are published (a bag loaded whole would fail
    before the first), then the process ends instead of spinning."""
    raws = [serialize_message(frame(i, START_NS + i * FRAME_NS)) for i in range(20)]
    bag = bag_of(tmp_path / "damaged", raws[:12] + [b"\x00\x01\x00\x00garbage"] + raws[13:])
    received = receive(ros, "damaged_skeletons")
    code, out = finish(ros, play(spawn, str(bag), "--topic", "damaged_skeletons", "--rate", "3"))
    assert code == 2 and [m.header.frame_id for m in received] == [str(i) for i in range(12)], out
    assert "playback stopped: bag" in out and "is damaged" in out and "Traceback" not in out


def run_with_player(spawn, file: Path, *params: str):
    """`ista-ros run` with the player and the listener (a graph of two nodes, no model)."""
    overrides = ["recognizer.enabled=false", "player.enabled=true", f"player.file={file}",
                 "player.wait_for_subscribers=0", *params]
    return spawn("-m", "ista_ros.cli", "run", *[arg for o in overrides for arg in ("--param", o)], env=ENV)


def test_run_stops_every_node_when_its_player_fails_and_says_why(spawn, tmp_path):
    """Before: the player logged the damage and the listener went on spinning; as with
    `ros2 launch` and on_exit shutdown, the command now ends, with the player's status."""
    raws = [serialize_message(frame(i, START_NS + i * FRAME_NS)) for i in range(10)]
    bag = bag_of(tmp_path / "damaged", raws[:3] + [b"\x00\x01\x00\x00garbage"] + raws[4:])
    run = run_with_player(spawn, bag, "player.topic=run_damaged_skeletons", "player.rate=3")
    assert run.wait_for_output("running player, listener", 60), run.output()
    try:
        code = run.process.wait(20)
    except subprocess.TimeoutExpired:
        pytest.fail(f"ista-ros run went on after the player failed:\n{run.output()}")
    out = run.stop()[1]
    assert code == 2 and "Traceback" not in out, out
    assert re.search(r"ista-ros run: error: the player stopped: bag \S+ is damaged.*; stopped player, listener\.",
                     out), out


def test_run_goes_on_when_its_player_has_played_the_file(spawn, tmp_path):
    """As the launch file, where the player's process ends alone: what comes next (the
    recognizer's last windows, another publisher) is still heard, until Ctrl-C."""
    np.save(tmp_path / "short.npy", np.ones((3, 5, 25, 1), dtype=np.float32))
    run = run_with_player(spawn, tmp_path / "short.npy", "player.topic=run_short_skeletons")
    assert run.wait_for_output("played 5 frames", 60), run.output()
    time.sleep(1.0)
    assert run.running(), run.output()
    code, out = run.stop()
    assert code == 0 and "Traceback" not in out, out


def test_a_bag_is_read_as_it_plays(tmp_path):
    bag = bag_of(tmp_path / "long", [serialize_message(frame(i, START_NS + i * FRAME_NS)) for i in range(50)])
    frames = bag_source(bag, None).frames()
    assert not isinstance(frames, list)
    offset, msg = next(iter(frames))
    assert (offset, msg.header.frame_id) == (0.0, "0")


def test_a_failure_in_the_playing_thread_ends_the_process():
    """A bug in a callback (here on_publish) is logged, kept, and shuts the context down."""
    context = rclpy.Context()
    rclpy.init(context=context)
    executor = SingleThreadedExecutor(context=context)

    def broken(index, stamp):
        raise RuntimeError("on_publish broke")

    node = PlayerNode(frames=sequence_frames(np.ones((3, 5, 25, 1))), on_publish=broken, exit_when_done=True,
                      context=context, parameter_overrides=[Parameter("wait_for_subscribers", value=0.0)])
    try:
        executor.add_node(node)
        deadline = time.monotonic() + 10
        while context.ok() and time.monotonic() < deadline:
            try:
                executor.spin_once(timeout_sec=0.05)
            except ExternalShutdownException:
                break
        assert not context.ok() and isinstance(node.failure, RuntimeError) and node.done.is_set()
    finally:
        executor.shutdown()
        node.destroy_node()
        context.try_shutdown()
