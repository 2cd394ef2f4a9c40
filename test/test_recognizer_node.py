"""The recognizer, player and recorder nodes as real processes over real DDS."""
import os
from pathlib import Path

import numpy as np
import pytest

from recognizer_support import sequence, tiny_checkpoint

rclpy = pytest.importorskip("rclpy")
from ista_ros.msg import InteractionAction, SkeletonArray  # noqa: E402
from ista_ros.nodes.player import sequence_frames  # noqa: E402
from ista_ros.nodes.recorder import read_bag, write_bag  # noqa: E402
from ista_ros.ros.messages import stamp_ns  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
FRAME_NS = 33_333_333


@pytest.fixture(scope="module")
def weights(tmp_path_factory):
    return tiny_checkpoint(tmp_path_factory)


@pytest.fixture(scope="module")
def two_scenes(tmp_path_factory):
    """A .npy file: 3 s of the persons approaching, then 3 s of waving."""
    rng = np.random.default_rng(7)
    path = tmp_path_factory.mktemp("seq") / "approach_then_wave.npy"
    np.save(path, np.concatenate([sequence(0, 90, rng), sequence(1, 90, rng)], axis=1))
    return path


def start_node(spawn, module, *params):
    args = ["-m", module, "--ros-args"]
    for param in params:
        args += ["-p", param]
    return spawn(*args, env={"PYTHONPATH": f"{ROOT}{os.pathsep}{os.environ.get('PYTHONPATH', '')}"})


def start_recognizer(spawn, weights, *params, backend="torch"):
    """backend torch unless a test is about ONNX: auto would time both at every start."""
    child = start_node(spawn, "ista_ros.nodes.recognizer", f"weights:={weights}", "input_topic:=rt_skeletons",
                       "output_topic:=rt_action", "window_seconds:=1.5", "stride_frames:=3", f"backend:={backend}",
                       *params)
    assert child.wait_for_output("ready", 60), child.output()
    return child


def listen(ros, topic="rt_action"):
    received = []
    sub = ros.node.create_subscription(InteractionAction, topic, received.append, 100)
    return received, sub


def test_actions_follow_the_scene_with_stamps_and_ids(ros, spawn, weights, two_scenes):
    start_recognizer(spawn, weights)
    actions, _ = listen(ros)
    frames = []
    ros.node.create_subscription(SkeletonArray, "rt_skeletons", lambda m: frames.append(stamp_ns(m.header.stamp)), 300)
    player = start_node(spawn, "ista_ros.nodes.player", f"file:={two_scenes}", "topic:=rt_skeletons",
                        "ids:=[anna, ben]", "subscribers:=2")
    assert ros.spin_until(lambda: not player.running() and len(frames) == 180, 60), player.output()
    ros.spin_for(1.0)
    assert len(actions) > 10, player.output()
    labels = [a.label for a in actions]
    assert labels[0] == "approach" and labels[-1] == "wave"
    for action in actions:
        assert stamp_ns(action.header.stamp) in frames and stamp_ns(action.window_start) in frames
        assert stamp_ns(action.window_start) < stamp_ns(action.header.stamp)
        assert list(action.entity_ids) == ["anna", "ben"] and not action.padded
        assert list(action.class_names) == ["approach", "wave"] and len(action.scores) == 2
    assert player.stop()[0] == 0


def publish_frames(ros, pub, frames, start_ns):
    for i, (_, msg) in enumerate(frames):
        t = start_ns + i * FRAME_NS
        msg.header.stamp.sec, msg.header.stamp.nanosec = divmod(t, 1_000_000_000)
        pub.publish(msg)
        ros.spin_for(0.005)


@pytest.fixture(scope="module")
def demo_onnx(tmp_path_factory):
    """The shipped demo model exported to ONNX, as `ista-train export --onnx` writes it."""
    pytest.importorskip("onnxscript")
    from ista_ros.core.checkpoint import load_checkpoint
    from ista_ros.core.onnx_backend import export_model

    loaded = load_checkpoint(ROOT / "ista_ros/demo/model/demo_small.pt")
    path = tmp_path_factory.mktemp("onnx") / "demo_small.onnx"
    path.write_bytes(export_model(loaded.model, loaded.meta))
    return path


def test_an_onnx_file_is_all_the_node_needs(ros, spawn, demo_onnx):
    """weights:=model.onnx and nothing else about the model: ONNX Runtime recognises the
    demo model's classes from live frames."""
    from ista_ros.core.engine import load_weights

    node = start_recognizer(spawn, demo_onnx, "input_axes:=kinect", backend="auto")
    assert "(onnxruntime, fp32); ready" in node.output()
    actions, _ = listen(ros)
    pub = ros.node.create_publisher(SkeletonArray, "rt_skeletons", 100)
    assert ros.spin_until(lambda: pub.get_subscription_count() > 0, 30)
    publish_frames(ros, pub, sequence_frames(sequence(0, 60, np.random.default_rng(5)), ids=["a", "b"]), 10**12)
    assert ros.spin_until(lambda: len(actions) > 3, 20), node.output()
    class_names = load_weights(demo_onnx).meta.class_names
    assert list(actions[-1].class_names) == class_names and len(actions[-1].scores) == len(class_names)
    assert list(actions[-1].entity_ids) == ["a", "b"] and np.isfinite(actions[-1].scores).all()


def test_bad_input_is_reported_once_and_the_node_goes_on(ros, spawn, weights):
    node = start_recognizer(spawn, weights)
    actions, _ = listen(ros)
    pub = ros.node.create_publisher(SkeletonArray, "rt_skeletons", 100)
    assert ros.spin_until(lambda: pub.get_subscription_count() > 0, 30)
    rng = np.random.default_rng(0)
    good = sequence(0, 40, rng)
    bad = {
        "joints": sequence_frames(good[:, :, :20], ids=["a", "b"]),
        "nan": sequence_frames(np.where(np.arange(25)[:, None] == 3, np.nan, good), ids=["a", "b"]),
        "inf": sequence_frames(np.full_like(good, np.inf), ids=["a", "b"]),
        "layout": sequence_frames(good, ids=["a", "b"], layout="kinect99"),
        "crowd": sequence_frames(np.repeat(good, 30, axis=3), ids=[f"p{i}" for i in range(60)]),
    }
    empty = sequence_frames(good, ids=["a", "b"])
    for _, msg in empty:
        msg.skeletons[0].joints = []
    start = 10**12
    for frames in [*bad.values(), empty]:
        publish_frames(ros, pub, frames, start)
        start += 10**11
    ros.spin_for(0.5)
    actions.clear()
    publish_frames(ros, pub, sequence_frames(good, ids=["a", "b"]), 100)  # stamps jump back: a new timeline
    publish_frames(ros, pub, sequence_frames(good, ids=["a", "b"])[-3:], 100 + 37 * FRAME_NS)  # late, duplicate
    assert ros.spin_until(lambda: any(a.label == "approach" and list(a.entity_ids) == ["a", "b"]
                                      for a in actions), 20), node.output()
    assert node.running()
    out = node.output()
    for text in ("(..., 25, C)", "NaN or infinite", "unknown joint layout 'kinect99'", "more than max_entities=16",
                 "it has no joints", "jumped back", "frame dropped: its stamp"):
        assert text in out, text
    assert out.count("NaN or infinite") <= 2  # rate limited: nan and inf frames warn once each at most
    assert out.count("more than max_entities") == 1


def test_flickering_ids_a_lone_person_and_diagnostics(ros, spawn, weights):
    from diagnostic_msgs.msg import DiagnosticArray

    node = start_recognizer(spawn, weights, "diagnostics_period:=1.0")
    actions, _ = listen(ros)
    diagnostics = []
    ros.node.create_subscription(DiagnosticArray, "/diagnostics", diagnostics.append, 10)
    pub = ros.node.create_publisher(SkeletonArray, "rt_skeletons", 100)
    assert ros.spin_until(lambda: pub.get_subscription_count() > 0, 30)
    seq = sequence(1, 45, np.random.default_rng(3))
    ids = np.array([["a", "b"] if t % 2 else ["a2", "b"] for t in range(45)])  # the tracker renames a
    publish_frames(ros, pub, sequence_frames(seq, ids=ids), 10**12)
    assert ros.spin_until(lambda: len(actions) > 0, 20), node.output()
    assert actions[-1].label == "wave" and actions[-1].entity_ids[1] == "b"
    actions.clear()
    publish_frames(ros, pub, sequence_frames(seq[..., :1], ids=["solo"]), 2 * 10**12)
    assert ros.spin_until(lambda: len(actions) > 0, 20), node.output()
    assert list(actions[-1].entity_ids) == ["solo", ""] and actions[-1].padded
    assert actions[-1].num_entities_observed == 1
    assert (actions[-1].class_id, actions[-1].label, actions[-1].reason) == (-1, "none", "too_few_entities")

    def measured():
        values = [{kv.key: kv.value for kv in status.values} for a in diagnostics for status in a.status]
        return next((v for v in values if "inference latency p50/max (ms)" in v), None)
    assert ros.spin_until(lambda: measured() is not None, 10), node.output()
    assert {"frames rate (Hz)", "window latency p50/max (ms)", "publish latency p50/max (ms)",
            "groups per stride mean/max", "no_interaction (count)"} <= set(measured())
    assert "inference latency p50/max" in node.output()  # the periodic log line


def test_a_publisher_that_dies_and_comes_back(ros, spawn, weights, tmp_path):
    """A bag played twice: the second run's stamps go back in time; the node starts over."""
    bag = tmp_path / "scene"
    frames = sequence_frames(sequence(1, 60, np.random.default_rng(4)), ids=["a", "b"])
    for i, (_, msg) in enumerate(frames):
        msg.header.stamp.sec, msg.header.stamp.nanosec = divmod(10**12 + i * FRAME_NS, 1_000_000_000)
    write_bag(bag, [("rt_skeletons", msg, 10**12 + i * FRAME_NS) for i, (_, msg) in enumerate(frames)])
    node = start_recognizer(spawn, weights)
    actions, _ = listen(ros)
    for run in range(2):
        actions.clear()
        player = start_node(spawn, "ista_ros.nodes.player", f"file:={bag}", "topic:=rt_skeletons")
        assert ros.spin_until(lambda: not player.running(), 30), player.output()
        assert player.stop()[0] == 0
        assert ros.spin_until(lambda: len(actions) > 3, 10), node.output()
        assert actions[-1].label == "wave"
        assert stamp_ns(actions[-1].header.stamp) == 10**12 + 59 * FRAME_NS  # the bag's capture stamps
    assert "jumped back" in node.output()


def test_recorder_writes_what_the_player_plays(ros, spawn, two_scenes, tmp_path):
    bag = tmp_path / "recorded"
    recorder = start_node(spawn, "ista_ros.nodes.recorder", f"bag:={bag}", "topics:=[rc_skeletons]")
    assert recorder.wait_for_output("recording", 30), recorder.output()
    player = start_node(spawn, "ista_ros.nodes.player", f"file:={two_scenes}", "topic:=rc_skeletons",
                        "rate:=4.0", "ids:=[p1, p2]")
    assert ros.spin_until(lambda: not player.running(), 60), player.output()
    code, out = recorder.stop()
    assert code == 0 and "recorded" in out, out + player.output()
    messages = [msg for _, msg in read_bag(bag, "ista_ros/msg/SkeletonArray")]
    assert len(messages) >= 170  # what was published before the recorder subscribed is lost
    assert [s.id for s in messages[-1].skeletons] == ["p1", "p2"] and len(messages[-1].skeletons[0].joints) == 25


@pytest.mark.parametrize("params, message", [
    (["weights:=/nonexistent/model.pt"], "does not exist"),
    ([], "set the parameter 'weights'"),
])
def test_missing_weights_fail_clearly(spawn, params, message):
    child = start_node(spawn, "ista_ros.nodes.recognizer", *params)
    child.process.wait(60)
    code, out = child.stop()
    assert code == 2 and message in out and "Traceback" not in out, out


def test_weights_of_another_model_fail_clearly(spawn, weights, tmp_path):
    import torch
    bare = tmp_path / "bare.pt"
    torch.save(torch.load(weights, weights_only=True)["state_dict"], bare)
    child = start_node(spawn, "ista_ros.nodes.recognizer", f"weights:={bare}",
                       f"model_config:={ROOT / 'config/model/sbu.yaml'}")
    child.process.wait(60)
    code, out = child.stop()
    assert code == 2 and "does not fit the model configuration" in out and "Traceback" not in out, out


def test_the_no_interaction_constants_of_the_core_are_the_messages():
    from ista_ros.core import recognition as core

    names = [name for name in dir(type(InteractionAction)) if name.startswith(("NO_INTERACTION", "REASON_"))]
    assert "REASON_TOO_FEW_JOINTS" in names and len(names) == 7  # every constant of the message
    for name in names:
        assert getattr(core, name) == getattr(InteractionAction, name), name


def two_pairs_and_a_walker(frames: int, rng) -> np.ndarray:
    """(3, T, 25, 5) in optical axes: a waving pair, an approaching pair 20 m to its right,
    and a person walking across 9 m behind both."""
    waving, approaching, walker = sequence(1, frames, rng), sequence(0, frames, rng), sequence(0, frames, rng)
    approaching[0] += 20.0
    walker = walker[..., :1]
    walker[0] += np.linspace(-10.0, 30.0, frames)[:, None, None] - walker[0].mean()
    walker[2] += 9.0
    return np.concatenate([waving, approaching, walker], axis=-1)


GROUP_IDS = ["w1", "w2", "a1", "a2", "walker"]


def test_every_group_on_actions_the_best_on_action_markers_listener_and_echo(ros, spawn, weights):
    """Two pairs and a passer-by through real processes: the actions array, the single best
    action, the RViz markers, the listener's lines and `ista-ros echo` of the array."""
    from visualization_msgs.msg import Marker, MarkerArray

    from ista_ros.msg import InteractionActionArray

    node = start_recognizer(spawn, weights, "actions_topic:=rt_actions", "stride_frames:=5")
    listener = start_node(spawn, "ista_ros.nodes.listener", "topic:=rt_action", "actions_topic:=rt_actions")
    best, _ = listen(ros)
    arrays, markers = [], []
    ros.node.create_subscription(InteractionActionArray, "rt_actions", arrays.append, 100)
    ros.node.create_subscription(MarkerArray, "action_markers", markers.append, 100)
    pub = ros.node.create_publisher(SkeletonArray, "rt_skeletons", 100)
    assert ros.spin_until(lambda: pub.get_subscription_count() > 0, 30)
    frames = sequence_frames(two_pairs_and_a_walker(90, np.random.default_rng(8)), ids=GROUP_IDS,
                             frame_id="camera_optical_frame")
    publish_frames(ros, pub, frames, 10**12)
    assert ros.spin_until(lambda: len(arrays) >= 8 and len(markers) >= 8 and len(best) >= 8, 30), node.output()
    full = [a for a in arrays if len(a.actions) == 2]
    assert len(full) >= 6, [[x.group_id for x in a.actions] for a in arrays]
    for array in full:
        assert {a.group_id for a in array.actions} == {"w1+w2", "a1+a2"}  # stable, the walker in neither
        assert array.header.frame_id == "camera_optical_frame"
        assert array.actions[0].confidence >= array.actions[1].confidence  # best first
        for action in array.actions:
            assert "walker" not in action.entity_ids and sorted(action.entity_ids) == sorted(action.group_id.split("+"))
    last = {a.group_id: a for a in full[-1].actions}
    assert last["w1+w2"].label == "wave" and last["a1+a2"].label == "approach"
    assert best[-1].group_id == full[-1].actions[0].group_id  # `action`: the best group, as before groups

    drawn = [m for m in markers if any(x.type == Marker.TEXT_VIEW_FACING for x in m.markers)][-1]
    texts = [m for m in drawn.markers if m.type == Marker.TEXT_VIEW_FACING]
    lines = [m for m in drawn.markers if m.type == Marker.LINE_LIST]
    assert len(texts) == 2 and len(lines) == 2
    assert {m.header.frame_id for m in drawn.markers} == {"camera_optical_frame"}
    assert any(t.text.startswith("wave") for t in texts) and any(t.text.startswith("approach") for t in texts)
    assert all(len(m.points) > 20 and len(m.points) % 2 == 0 for m in lines)  # the bones of two people
    assert all(m.lifetime.sec == 1 for m in drawn.markers)

    assert listener.wait_for_output("group w1+w2: t=", 10) and "group a1+a2: t=" in listener.output()
    assert "walker" not in listener.output()
    echo = spawn("-m", "ista_ros.cli", "echo", "rt_actions", "--count", "1",
                 env={"PYTHONPATH": f"{ROOT}{os.pathsep}{os.environ.get('PYTHONPATH', '')}"})
    publish_frames(ros, pub, frames, 2 * 10**12)  # keep the array coming while echo discovers the topic
    echo.process.wait(30)
    out = echo.output()
    assert "actions:" in out and "group_id: w1+w2" in out and "group_id: a1+a2" in out, out


def test_markers_can_be_turned_off(ros, spawn, weights):
    start_recognizer(spawn, weights, "markers:=false")
    ros.spin_for(2.0)  # discovery
    assert ros.node.count_publishers("/action_markers") == 0 and ros.node.count_publishers("/rt_action") == 1
