"""The recorder as a real process: what survives the ways a recording ends (signals, a
kill, a power cut), `ista-ros reindex`, QoS that fits the publishers, unknown types; and
the MCAP recovery of ista_ros.bags on files cut at every kind of place."""
import os
import signal
import time
from pathlib import Path

import numpy as np
import pytest
import yaml

rclpy = pytest.importorskip("rclpy")
from rclpy.qos import QoSProfile, ReliabilityPolicy  # noqa: E402
from rclpy.serialization import serialize_message  # noqa: E402
from rosbags.highlevel import AnyReader  # noqa: E402

from ista_ros.bags import BagWriter, McapScan, reindex  # noqa: E402
from ista_ros.msg import SkeletonArray  # noqa: E402
from ista_ros.nodes.recorder import Bag, RecorderNode, read_bag  # noqa: E402
from ista_ros.ros.messages import skeleton_message  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
ENV = {"PYTHONPATH": f"{ROOT}{os.pathsep}{os.environ.get('PYTHONPATH', '')}"}
SKELETONS = "ista_ros/msg/SkeletonArray"
RATE_HZ = 60


def numbered(i: int) -> SkeletonArray:
    """Message ``i`` of a stream: two people, its number in the frame id."""
    joints = np.random.default_rng(i).normal(size=(25, 3))
    msg = SkeletonArray(skeletons=[skeleton_message("a", "person", "ntu25", joints),
                                   skeleton_message("b", "person", "ntu25", joints + 1)])
    msg.header.frame_id = str(i)
    return msg


def independent_read(bag: Path) -> list[int]:
    """The message numbers rosbags' AnyReader (not the project's code) finds in the bag."""
    with AnyReader([bag]) as reader:
        return [int(reader.deserialize(raw, c.msgtype).header.frame_id) for c, _, raw in reader.messages()]


def project_read(bag: Path) -> list[int]:
    return [int(msg.header.frame_id) for _, msg in read_bag(bag, SKELETONS)]


def start_recorder(spawn, bag: Path, *topics: str):
    recorder = spawn("-m", "ista_ros.cli", "record", str(bag), *topics, env=ENV)
    assert recorder.wait_for_output("recording", 60), recorder.output()
    return recorder


def publish_at_rate(ros, topic: str, count: int, qos=10, recorder=None) -> None:
    """``count`` numbered messages at RATE_HZ, once the recorder has subscribed."""
    publisher = ros.node.create_publisher(SkeletonArray, topic, qos)
    assert ros.spin_until(lambda: publisher.get_subscription_count() > 0, 30), recorder and recorder.output()
    start = time.monotonic()
    for i in range(count):
        publisher.publish(numbered(i))
        time.sleep(max(0.0, start + (i + 1) / RATE_HZ - time.monotonic()))


def test_a_killed_recorder_loses_at_most_a_second(ros, spawn, tmp_path):
    """The issue's test: SIGKILL after N messages at 60 Hz leaves at least N - 60 readable
    after `ista-ros reindex`, by the player and by an independent reader (rosbags)."""
    bag, count = tmp_path / "killed", 300
    recorder = start_recorder(spawn, bag, "kill_skeletons")
    publish_at_rate(ros, "kill_skeletons", count, recorder=recorder)
    recorder.process.kill()
    recorder.process.wait(10)
    assert not (bag / "metadata.yaml").exists()
    unclosed = Bag(bag)
    assert unclosed.recovered and len(project_read(bag)) >= count - RATE_HZ  # the player reads it as it is

    fix = spawn("-m", "ista_ros.cli", "reindex", str(bag), env=ENV)
    assert fix.process.wait(60) == 0, fix.output()
    kept = independent_read(bag)
    print(f"\nSIGKILL after {count} messages at {RATE_HZ} Hz: {len(kept)} kept, {count - len(kept)} lost")
    assert len(kept) >= count - RATE_HZ and kept == list(range(len(kept))), fix.output()
    assert project_read(bag) == kept and not Bag(bag).recovered
    assert f"{len(kept)} on /kill_skeletons; closed killed.mcap" in fix.stop()[1]

    replayed = []
    ros.node.create_subscription(SkeletonArray, "kill_replay", replayed.append, 400)
    player = spawn("-m", "ista_ros.cli", "play", str(bag), "--topic", "kill_replay", "--rate", "10", env=ENV)
    assert ros.spin_until(lambda: not player.running(), 60), player.output()
    ros.spin_for(0.3)
    assert player.stop()[0] == 0 and [int(m.header.frame_id) for m in replayed] == kept


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM, signal.SIGHUP])
def test_the_bag_is_closed_on_every_ending_signal(ros, spawn, tmp_path, sig):
    bag = tmp_path / "signalled"
    recorder = start_recorder(spawn, bag, "sig_skeletons")
    publish_at_rate(ros, "sig_skeletons", 30, recorder=recorder)
    time.sleep(0.5)  # the last messages reach the recorder
    recorder.process.send_signal(sig)
    code = recorder.process.wait(15)
    out = recorder.stop()[1]
    assert code == 0 and "recorded 30 on /sig_skeletons" in out, out
    assert (bag / "metadata.yaml").exists() and independent_read(bag) == list(range(30))


def test_best_effort_publishers_are_recorded_with_their_qos(ros, spawn, tmp_path):
    bag = tmp_path / "best_effort"
    recorder = start_recorder(spawn, bag, "be_skeletons")
    qos = QoSProfile(depth=10, reliability=ReliabilityPolicy.BEST_EFFORT)
    publish_at_rate(ros, "be_skeletons", 60, qos=qos, recorder=recorder)
    time.sleep(0.5)
    code, out = recorder.stop()
    assert code == 0 and "recording /be_skeletons (ista_ros/msg/SkeletonArray, best_effort)" in out, out
    assert len(independent_read(bag)) > 50  # best effort on one host loses little or nothing
    topic = yaml.safe_load((bag / "metadata.yaml").read_text())["rosbag2_bagfile_information"]
    assert topic["topics_with_message_count"][0]["topic_metadata"]["offered_qos_profiles"][0]["reliability"] \
        == "best_effort"


def test_a_type_not_installed_here_is_skipped_with_a_warning(ros, tmp_path):
    node = RecorderNode(bag=str(tmp_path / "bag"), topics=["unknown", "known"], context=ros.context)
    try:
        assert not node.subscribe("/unknown", ["nope_msgs/msg/Nope"], [])
        assert node.skipped == {"/unknown"}
        assert node.subscribe("/known", [SKELETONS], [QoSProfile(depth=10)])  # the recorder goes on
    finally:
        node.destroy_node()


# ---------------------------------------------------------------------------- recovery of cut files
def written(path: Path, count: int, flush_every: int) -> Path:
    """A bag of ``count`` numbered messages, flushed every ``flush_every``, never closed."""
    writer = BagWriter(path)
    for i in range(count):
        writer.write("/s", SKELETONS, serialize_message(numbered(i)), 10**18 + i * 10**7)
        if (i + 1) % flush_every == 0:
            writer.flush()
    return path / f"{path.name}.mcap"  # the writer is dropped unclosed, as a killed process leaves it


def test_a_chunk_cut_short_keeps_its_whole_messages(tmp_path):
    mcap = written(tmp_path / "cut", 40, 20)  # two chunks of 20
    data = mcap.read_bytes()
    mcap.write_bytes(data[:len(data) - 700])  # into the last message of the second chunk
    result = reindex(tmp_path / "cut")
    assert result.counts == {"/s": 39} and result.salvaged == 19 and result.repaired == ["cut.mcap"]
    assert independent_read(tmp_path / "cut") == list(range(39)) == project_read(tmp_path / "cut")


def test_a_power_cut_leaves_zeros_after_the_data(tmp_path):
    mcap = written(tmp_path / "zeros", 30, 10)
    with open(mcap, "ab") as f:
        f.write(bytes(8192))  # blocks the file system allocated, never written
    assert reindex(tmp_path / "zeros").counts == {"/s": 30}
    assert independent_read(tmp_path / "zeros") == list(range(30))


def test_a_recording_killed_before_its_first_flush_is_an_empty_bag(tmp_path):
    written(tmp_path / "early", 5, 1000)
    assert reindex(tmp_path / "early").counts == {}
    assert independent_read(tmp_path / "early") == []
    with pytest.raises(ValueError, match="has no ista_ros/msg/SkeletonArray messages; it holds nothing"):
        project_read(tmp_path / "early")


def test_reindex_of_a_closed_bag_only_rewrites_its_metadata(tmp_path):
    bag = tmp_path / "closed"
    writer = BagWriter(bag)
    for i in range(10):
        writer.write("/s", SKELETONS, serialize_message(numbered(i)), 10**18 + i)
    writer.close()
    mcap, before = bag / "closed.mcap", (bag / "closed.mcap").read_bytes()
    original = yaml.safe_load((bag / "metadata.yaml").read_text())["rosbag2_bagfile_information"]
    (bag / "metadata.yaml").unlink()
    assert reindex(bag).repaired == [] and mcap.read_bytes() == before
    rebuilt = yaml.safe_load((bag / "metadata.yaml").read_text())["rosbag2_bagfile_information"]
    for key in ("message_count", "starting_time", "duration", "relative_file_paths", "topics_with_message_count"):
        assert rebuilt[key] == original[key], key
    assert independent_read(bag) == list(range(10))


def test_the_scan_reads_an_unclosed_file_directly(tmp_path):
    mcap = written(tmp_path / "direct", 12, 4)
    assert Bag(mcap).recovered and project_read(mcap) == list(range(12))
    scan = McapScan(mcap)
    assert len(list(scan.messages())) == 12 and not scan.closed


def test_reindex_says_what_it_cannot_do(spawn, tmp_path):
    (tmp_path / "empty").mkdir()
    for path, sentence in ((tmp_path / "none", "does not exist"),
                           (tmp_path / "empty", "is not a bag directory with MCAP files")):
        child = spawn("-m", "ista_ros.cli", "reindex", str(path), env=ENV)
        code, out = child.process.wait(60), child.stop()[1]
        assert code == 2 and sentence in out and "Traceback" not in out, out
