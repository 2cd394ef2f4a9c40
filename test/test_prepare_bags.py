"""`ista-train prepare bags`: recorded bags and their labels -> a dataset of exactly the
windows the recognizer node builds.

Bags are written with the recorder's own writer from the demo's generated streams: the
skeletons as the player publishes them, and the ground truth three ways (the demo's
demo/truth topic, a std_msgs/String labels topic, a CSV)."""
from __future__ import annotations

import json
import shutil

import numpy as np
import pytest

from ista_ros.core.buffer import FrameEvent
from ista_ros.core.checkpoint import meta_from_yaml
from ista_ros.core.config import model_config_from, read_yaml
from ista_ros.core.recognition import LiveRecognizer, Settings
from ista_ros.core.window import model_input
from ista_train.cli import main as ista_train
from ista_train.prepare.bags import NODE_DEFAULTS, Replay

MODEL_CONFIG = "config/model/demo_small.yaml"
T0 = 1_764_600_000_000_000_000  # capture stamp of a bag's first frame, ns
NODE = ["--set", "window_seconds=2.5", "min_frames=45", "stride_frames=10"]  # the demo's recognizer


def demo_bag(path, seed: int, interactions: int, start_ns: int = T0):
    """A bag of the demo's stream ``seed``: skeletons (camera optical frame, 30 Hz), the
    demo's per-frame ground truth on demo/truth and the label changes on `labels`
    (std_msgs/String, arriving just before the first frame they label); the rclpy
    skeleton messages and the per-frame class names ("" between interactions)."""
    from std_msgs.msg import String

    from ista_ros.demo.run import ENTITY_IDS, FRAME_ID, TRUTH_TOPIC, demo_stream, truth_message
    from ista_ros.nodes.player import sequence_frames
    from ista_ros.nodes.recorder import write_bag
    from ista_ros.ros.messages import ros_time
    from ista_ros.synthetic import interactions as generator

    sequence, labels = demo_stream(seed, interactions)
    frames = sequence_frames(sequence, generator.FPS, ids=list(ENTITY_IDS), layout=generator.LAYOUT,
                             frame_id=FRAME_ID, axes=generator.AXES)
    names = [generator.CLASS_NAMES[c] if c >= 0 else "" for c in labels]
    items = []
    for i, (offset, msg) in enumerate(frames):
        stamp = start_ns + int(round(offset * 1e9))
        msg.header.stamp = ros_time(stamp)
        if i == 0 or names[i] != names[i - 1]:
            items.append(("labels", String(data=names[i]), stamp + 1_000_000))
        items.append(("skeletons", msg, stamp + 2_000_000))
        items.append((TRUTH_TOPIC, truth_message(labels[i], stamp), stamp + 3_000_000))
    write_bag(path, items)
    return [msg for _, msg in frames], names


def labels_csv(path, bag_names: dict[str, list[str]], fps: float = 30.0):
    """A labels CSV of per-frame class names, in seconds after each bag's first frame."""
    lines = ["bag,start,end,label"]
    for bag, names in bag_names.items():
        start = 0
        for i in range(1, len(names) + 1):
            if i == len(names) or names[i] != names[start]:
                if names[start]:
                    lines.append(f"{bag},{start / fps:.9f},{(i - 1) / fps:.9f},{names[start]}")
                start = i
    path.write_text("\n".join(lines) + "\n")
    return path


def load(path) -> dict:
    with np.load(path) as npz:
        return {key: npz[key] for key in npz.files}


def node_windows(messages, stride: int = 10):
    """What the recognizer node's core builds from the live messages (converted by the ROS
    adapter, as the node does) and answers with the model, after every ``stride`` accepted
    frames: (end stamp, group id) -> window."""
    from ista_ros.ros.messages import skeletons_from, stamp_ns

    values = read_yaml(MODEL_CONFIG)
    config = model_config_from(values, MODEL_CONFIG)
    recognizer = LiveRecognizer(meta_from_yaml(values, config), config.input_shape, None,
                                Settings(window_seconds=2.5, min_frames=45))
    windows, accepted = {}, 0
    for msg in messages:
        event, _ = recognizer.push(stamp_ns(msg.header.stamp), skeletons_from(msg))
        if event not in (FrameEvent.DUPLICATE, FrameEvent.OUT_OF_ORDER):
            accepted += 1
            if accepted % stride == 0:
                windows.update({(w.stamps[-1], w.group_id): w for w in recognizer.windows() or [] if not w.reason})
    return recognizer, windows


@pytest.fixture(scope="module")
def bags(tmp_path_factory):
    root = tmp_path_factory.mktemp("bags")
    made = {name: demo_bag(root / name, seed, 4, T0 + seed * 100 * 10**9)
            for name, seed in (("monday", 1), ("tuesday", 2), ("wednesday", 3))}
    return root, made


def test_every_training_window_is_the_window_the_node_builds(bags, tmp_path):
    root, made = bags
    assert ista_train(["prepare", "bags", "--bags", str(root / "monday"), "--labels-topic", "demo/truth",
                       "--model-config", MODEL_CONFIG, "--out", str(tmp_path), "--val-fraction", "0", *NODE]) == 0
    data = load(tmp_path / "train.npz")
    counts = json.loads((tmp_path / "dataset.json").read_text())["bags"]["monday"]
    recognizer, windows = node_windows(made["monday"][0])
    assert len(data["label"]) > 10 and counts["windows"] == len(windows)
    for sample, stamp, start, ids in zip(data["data"], data["stamp"], data["window_start"], data["entity_ids"]):
        window = windows[int(stamp), "+".join(sorted(ids))]
        frames = len(window.stamps)
        assert start == window.stamps[0] and list(ids) == [i or "" for i in window.entity_ids]
        np.testing.assert_array_equal(sample[:, :frames], window.sample)
        assert not sample[:, frames:].any()  # zero padding after the window
        np.testing.assert_array_equal(model_input(sample, recognizer.meta.preprocessing),
                                      recognizer.model_input(window)[0])
    assert [str(n) for n in data["class_names"]] == read_yaml(MODEL_CONFIG)["class_names"]
    assert (str(data["layout"]), str(data["axes"])) == ("ntu25", "kinect")
    summary = json.loads((tmp_path / "dataset.json").read_text())
    assert summary["recognizer"]["stride_frames"] == 10 and counts["split"] == "train"


def test_a_labels_topic_and_a_labels_csv_label_the_same_windows(bags, tmp_path):
    root, made = bags
    common = ["prepare", "bags", "--bags", str(root / "monday"), str(root / "tuesday"), "--model-config",
              MODEL_CONFIG, "--val-fraction", "0", *NODE]
    csv = labels_csv(tmp_path / "labels.csv", {name: made[name][1] for name in ("monday", "tuesday")})
    for name, labels in (("truth", ["--labels-topic", "demo/truth"]), ("string", ["--labels-topic", "labels"]),
                         ("csv", ["--labels", str(csv)])):
        assert ista_train([*common, *labels, "--out", str(tmp_path / name)]) == 0
    truth, string, table = (load(tmp_path / name / "train.npz") for name in ("truth", "string", "csv"))
    for other in (string, table):
        np.testing.assert_array_equal(other["stamp"], truth["stamp"])
        np.testing.assert_array_equal(other["label"], truth["label"])


def test_recordings_are_split_whole_and_classes_chosen(bags, tmp_path):
    root, _ = bags
    split = tmp_path / "split.csv"
    split.write_text("bag,split\nmonday,train\ntuesday,val\nwednesday,train\n")
    classes = "hug,handshake,none"
    assert ista_train(["prepare", "bags", "--bags", *(str(root / n) for n in ("monday", "tuesday", "wednesday")),
                       "--labels-topic", "demo/truth", "--model-config", MODEL_CONFIG, "--out", str(tmp_path / "ds"),
                       "--split", str(split), "--classes", classes, *NODE]) == 0
    train, val = load(tmp_path / "ds" / "train.npz"), load(tmp_path / "ds" / "val.npz")
    assert set(train["bag"]) == {"monday", "wednesday"} and set(val["bag"]) == {"tuesday"}
    assert [str(n) for n in val["class_names"]] == classes.split(",")
    assert set(train["label"]) | set(val["label"]) <= {0, 1, 2}


def test_a_bag_cut_off_while_recording_gives_its_whole_messages(bags, tmp_path):
    root, made = bags
    cut = tmp_path / "cut"
    shutil.copytree(root / "monday", cut)
    (cut / "metadata.yaml").unlink()
    mcap = next(cut.glob("*.mcap"))
    mcap.write_bytes(mcap.read_bytes()[:mcap.stat().st_size * 2 // 3])
    assert ista_train(["prepare", "bags", "--bags", str(cut), "--labels-topic", "demo/truth", "--model-config",
                       MODEL_CONFIG, "--out", str(tmp_path / "ds"), "--val-fraction", "0", *NODE]) == 0
    whole = load(tmp_path / "ds" / "train.npz")
    assert 0 < len(whole["label"])
    assert whole["stamp"].max() < max(m.header.stamp.sec for m in made["monday"][0]) * 10**9


@pytest.mark.parametrize("change, message", [
    (["--labels-topic", "nothing_here"], "has no messages on the labels topic"),
    (["--labels-topic", "skeletons"], "skeletons holds ista_ros/msg/SkeletonArray, not std_msgs/msg/String"),
    (["--set", "stride=10"], "give KEY=VALUE with a key among"),
    (["--val-fraction", "0.5"], "cannot be split by recording into train and val"),
    (["--bags", "no_such_bag"], "bag no_such_bag does not exist"),
])
def test_mistakes_are_one_sentence(bags, tmp_path, capsys, change, message):
    root, _ = bags
    args = {"--bags": [str(root / "monday")], "--labels-topic": ["demo/truth"], "--model-config": [MODEL_CONFIG],
            "--out": [str(tmp_path)], "--val-fraction": ["0"]}
    args[change[0]] = change[1:]
    argv = ["prepare", "bags", *(x for key, values in args.items() for x in (key, *values))]
    assert ista_train(argv) == 2
    err = capsys.readouterr().err
    assert message in err.strip().splitlines()[-1] and "Traceback" not in err, err  # after the progress bars


def test_the_node_parameters_are_the_nodes():
    """The defaults the dataset assumes are the recognizer node's, and its parameter file is read."""
    from ista_ros.nodes.recognizer import RecognizerParameters

    assert NODE_DEFAULTS == {key: getattr(RecognizerParameters(), key) for key in NODE_DEFAULTS}
    replay = Replay.from_parameters("config/recognize.yaml", ["window_seconds=2.5", "stride_frames=10"])
    assert replay.settings == Settings(window_seconds=2.5) and replay.stride_frames == 10


def test_a_replayed_skeleton_keeps_its_joint_confidence_as_the_node_does():
    from ista_ros.ros.messages import skeleton_array, skeleton_message, skeletons_from
    from ista_train.prepare.bags import skeleton_inputs

    joints = np.arange(75, dtype=np.float32).reshape(25, 3) / 100
    msg = skeleton_array([skeleton_message("a", "person", "ntu25", joints, np.linspace(0, 1, 25)),
                          skeleton_message("b", "person", "ntu25", joints)])
    replayed, live = skeleton_inputs(msg), skeletons_from(msg)
    np.testing.assert_allclose(replayed[0].confidence, np.linspace(0, 1, 25), atol=1e-6)
    np.testing.assert_array_equal(replayed[0].confidence, live[0].confidence)
    assert replayed[1].confidence is None and live[1].confidence is None
