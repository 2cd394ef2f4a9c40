"""`ista-ros render`: bags written like `ista-ros record` writes them become videos whose
frames are counted and whose colours are checked; bad bags and missing topics get one
sentence."""
from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from ista_ros.synthetic import interactions
from ista_ros.viz.colours import UNGROUPED, ColourBook, lighter
from ista_ros.viz.frame import BACKGROUND
from ista_ros.viz.scene import Camera, GroupLabel, poses_from_frame
from ista_ros.viz.timeline import STALE_S, TimedLabels, paired
from test_viz_video import read_mp4

FPS = 30
FRAMES = 45  # 1.5 s
FIRST_ACTION = 20  # frame of the first recognition
START_NS = 1_700_000_000 * 10**9
IDS = ("person_a", "person_b")
CAMERA = Camera.with_fov(640, 480, 70.0)  # --size 640x480 --fov 70


def stamp(frame: int) -> int:
    return START_NS + round(frame * 1e9 / FPS)


def pair_sequence() -> np.ndarray:
    sample = interactions.generate(0, np.random.default_rng(0), num_frames=FRAMES, variation=interactions.EXACT)
    return sample  # (3, T, 25, 2), Kinect axes


def write_test_bag(path, topics=("skeletons", "actions"), latency_ms: float = 40.0) -> None:
    """Skeletons at 30 Hz in the optical frame; from FIRST_ACTION on, every 10 frames, a
    recognition of the pair (an array on 'actions', a single action on 'action')."""
    from ista_ros.msg import InteractionAction, InteractionActionArray
    from ista_ros.nodes.player import sequence_frames
    from ista_ros.nodes.recorder import write_bag
    from ista_ros.ros.messages import ros_time

    frames = sequence_frames(pair_sequence(), FPS, ids=list(IDS), frame_id="camera_optical_frame",
                             axes=interactions.AXES)
    items = []
    for k, (_, skeletons) in enumerate(frames):
        skeletons.header.stamp = ros_time(stamp(k))
        if "skeletons" in topics:
            items.append(("skeletons", skeletons, stamp(k) + 5_000_000))
        if k >= FIRST_ACTION and (k - FIRST_ACTION) % 10 == 0:
            action = InteractionAction(header=skeletons.header, label="handshake", class_id=0, confidence=0.9,
                                       entity_ids=list(IDS), group_id="+".join(IDS))
            arrival = stamp(k) + round(latency_ms * 1e6)
            if "actions" in topics:
                items.append(("actions", InteractionActionArray(header=skeletons.header, actions=[action]), arrival))
            if "action" in topics:
                items.append(("action", action, arrival))
    write_bag(path, sorted(items, key=lambda item: item[2]))


def render(*args: str) -> int:
    from ista_ros.cli import main

    return main(["render", *args])


def nearest_colours(image: np.ndarray, frame: int, colours: dict) -> dict:
    """For each named colour, the share of the pair's projected joints whose pixel in
    ``image`` is nearer that colour's joint tint than the others' (a lossy video)."""
    poses = poses_from_frame(pair_sequence()[:, frame], IDS, axes=interactions.AXES)
    pixels = np.rint(CAMERA.project(np.concatenate([p.joints for p in poses]))[0]).astype(int)
    values = image[pixels[:, 1], pixels[:, 0]].astype(int)
    tints = np.array([lighter(c) for c in colours.values()])
    nearest = np.argmin(np.abs(values[:, None] - tints[None]).sum(axis=-1), axis=1)
    return {name: float(np.mean(nearest == i)) for i, name in enumerate(colours)}


@pytest.fixture(scope="module")
def bag(tmp_path_factory):
    path = tmp_path_factory.mktemp("bags") / "run"
    write_test_bag(path)
    return path


def test_a_recorded_bag_becomes_a_real_time_video(bag, tmp_path, capsys):
    out = tmp_path / "run.mp4"
    assert render(str(bag), "--out", str(out), "--size", "640x480", "--fov", "70") == 0
    assert f"wrote {out}: {FRAMES} frames" in capsys.readouterr().out
    frames = read_mp4(out)
    assert len(frames) == FRAMES  # one a skeleton frame, at the skeletons' 30 Hz
    colours = {"group": ColourBook().of("+".join(IDS)), "none": UNGROUPED, "background": BACKGROUND}
    before, after = FIRST_ACTION - 5, FIRST_ACTION + 5
    assert nearest_colours(frames[before], before, colours)["none"] > 0.8  # nothing recognised yet: grey
    assert nearest_colours(frames[after], after, colours)["group"] > 0.8  # the pair in its group's colour


def test_a_gif_plays_the_bag_at_15_frames_a_second(bag, tmp_path):
    out = tmp_path / "run.gif"
    assert render(str(bag), "--out", str(out)) == 0
    with Image.open(out) as gif:
        assert gif.size == (800, 450)
        assert gif.n_frames == (FRAMES - 1) // 2 + 1


def test_a_bag_with_single_actions_only_is_rendered_with_them(tmp_path):
    bag = tmp_path / "old"
    write_test_bag(bag, topics=("skeletons", "action"))  # what `ista-ros record` records by default
    out = tmp_path / "old.mp4"
    assert render(str(bag), "--out", str(out), "--size", "640x480", "--fov", "70") == 0
    frames = read_mp4(out)
    colours = {"group": ColourBook().of("+".join(IDS)), "none": UNGROUPED, "background": BACKGROUND}
    assert nearest_colours(frames[-1], FRAMES - 1, colours)["group"] > 0.8


def one_sentence_error(capsys, *args: str) -> str:
    assert render(*args) == 2
    captured = capsys.readouterr()
    lines = captured.err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("ista-ros render: error: "), captured.err
    return lines[0]


def test_bad_bags_and_missing_topics_get_one_sentence(tmp_path, capsys):
    no_actions, no_skeletons = tmp_path / "no_actions", tmp_path / "no_skeletons"
    write_test_bag(no_actions, topics=("skeletons",))
    write_test_bag(no_skeletons, topics=("actions",))
    out = str(tmp_path / "out.mp4")
    assert "holds no actions" in one_sentence_error(capsys, str(no_actions), "--out", out)
    assert "SkeletonArray" in one_sentence_error(capsys, str(no_skeletons), "--out", out)
    assert "--skeletons-topic" not in one_sentence_error(capsys, str(no_actions), "--out", out,
                                                         "--skeletons-topic", "elsewhere")
    assert "does not exist" in one_sentence_error(capsys, str(tmp_path / "missing"), "--out", out)
    (tmp_path / "not_a_bag").mkdir()
    assert "not a readable" in one_sentence_error(capsys, str(tmp_path / "not_a_bag"), "--out", out)
    assert ".mp4 or .gif" in one_sentence_error(capsys, str(no_actions), "--out", str(tmp_path / "out.avi"))
    assert "WIDTHxHEIGHT" in one_sentence_error(capsys, str(no_actions), "--out", out, "--size", "big")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["no_actions", "no_skeletons", "not_a_bag"]


def labels_at(stamp_ns: int, name: str) -> TimedLabels:
    return TimedLabels(stamp_ns, 10.0, [GroupLabel("g", ("a",), name, 0.5)])


def test_each_video_frame_shows_the_newest_skeletons_and_the_newest_labels_before_them():
    ms = 1_000_000
    frames = [(t * ms, [f"skeletons@{t}"]) for t in (0, 100, 200, 300, 3000)]
    labels = [labels_at(50 * ms, "early"), labels_at(200 * ms, "on time"), labels_at(250 * ms, "later")]
    times = [t * ms for t in (0, 99, 100, 250, 2999, 3000)]
    shown = [(s // ms, e[0], lab.groups[0].label if lab else None) for s, e, lab in paired(iter(frames), labels, times)]
    assert shown == [(0, "skeletons@0", None), (0, "skeletons@0", None), (100, "skeletons@100", "early"),
                     (200, "skeletons@200", "on time"), (300, "skeletons@300", "later"),
                     (3000, "skeletons@3000", None)]  # the labels are older than STALE_S by then
    assert 3000 - 250 > STALE_S * 1000
