"""`ista-ros demo`, short: real player, recognizer and listener processes on generated
interactions, to the accuracy line and a clean shutdown; --save draws what was recognised
into a video (checked on its frames and pixels)."""
from __future__ import annotations

import re
import subprocess
import sys

import numpy as np
import pytest
from PIL import Image


def ista_ros(*args, timeout=300):
    return subprocess.run([sys.executable, "-m", "ista_ros.cli", *args], capture_output=True, text=True,
                          timeout=timeout)


@pytest.fixture(scope="module")
def short_demo(tmp_path_factory):
    """One short demo that also saves the scene as recognised (the two tests below read it)."""
    path = tmp_path_factory.mktemp("demo") / "x.gif"
    result = ista_ros("demo", "--num-interactions", "2", "--seed", "3", "--device", "cpu", "--save", str(path))
    assert result.returncode == 0, result.stdout + result.stderr
    return result, path


def test_short_demo_ends_with_accuracy_and_clean_shutdown(short_demo):
    result, path = short_demo
    lines = result.stdout.splitlines()
    assert lines[0].startswith("demo: 2 generated interactions and 1 scene without one (seed 3)")
    windows = [line for line in lines if " recognised " in line]
    assert len(windows) >= 8, result.stdout  # ~10 s of scenes, a window every 10 frames
    assert all("truth" in line and "latency" in line for line in windows)
    summary = re.fullmatch(r"accuracy (\d+\.\d)% \((\d+) of (\d+) windows showing one interaction\); "
                           r"false interactions (\d+\.\d)% \((\d+) of (\d+) windows without one\).*", lines[-3])
    assert summary, result.stdout
    assert int(summary.group(3)) >= 4 and int(summary.group(6)) >= 4
    assert float(summary.group(1)) >= 40.0  # ten classes: chance is 10 %
    assert float(summary.group(4)) <= 60.0  # a scene without one is mostly called none
    frames = len(gif_frames(path)[0])
    assert lines[-2:] == ["demo: every node shut down cleanly", f"demo: wrote {path} ({frames} frames)"]


def test_the_scenes_are_every_interaction_in_turn_with_scenes_without_one_mixed_in():
    from ista_ros.demo.run import scene_order
    from ista_ros.synthetic.interactions import INTERACTIONS, NONE

    for n in (1, 2, 10, 25):
        order = scene_order(np.random.default_rng(n), n)
        shown = order[order != NONE]
        assert len(shown) == n and (order == NONE).sum() == max(1, round(0.3 * n))
        counts = np.bincount(shown, minlength=len(INTERACTIONS))
        assert counts.max() - counts.min() <= 1
    places = {tuple(np.flatnonzero(scene_order(np.random.default_rng(seed), 10) == NONE)) for seed in range(6)}
    assert len(places) > 1


def test_two_pairs_and_a_passer_by_are_two_stable_groups_each_scored():
    result = ista_ros("demo", "--groups", "2", "--passer-by", "--num-interactions", "2", "--seed", "3",
                      "--device", "cpu")
    assert result.returncode == 0, result.stdout + result.stderr
    lines = result.stdout.splitlines()
    windows = [line for line in lines if line.startswith("t=")]
    groups = [re.search(r"group (\S+)", line).group(1) for line in windows]
    assert set(groups) == {"person_0+person_1", "person_2+person_3"}, result.stdout  # the planted pairs, stable
    assert groups.count("person_0+person_1") == groups.count("person_2+person_3") >= 8  # both, every stride
    assert "passer_by" not in result.stdout  # never in a recognised group
    assert lines[-2].startswith("overall accuracy") and lines[-1] == "demo: every node shut down cleanly"
    assert lines[-3] == "0 recognised groups mixed people of two planted groups or a passer-by"
    for line, group in zip(lines[-5:-3], ("person_0+person_1", "person_2+person_3")):
        accuracy = re.fullmatch(rf"group {re.escape(group)}: accuracy (\d+\.\d)% \((\d+) of (\d+) windows .*", line)
        assert accuracy and int(accuracy.group(3)) >= 4 and float(accuracy.group(1)) >= 40.0, result.stdout


def test_the_ground_truth_is_one_action_per_planted_group():
    pytest.importorskip("rclpy")
    from ista_ros.demo.run import ENTITY_IDS, demo_scene, truth_message

    planted = demo_scene(seed=1, num_interactions=3, groups=2, passer_by=True)
    assert planted.entity_ids == ["person_0", "person_1", "person_2", "person_3", "passer_by_0"]
    t = planted.sequence.shape[1] // 3
    labels = [group_labels[t] for _, group_labels in planted.groups]
    msg = truth_message(labels, 5, [ids for ids, _ in planted.groups])
    assert [a.group_id for a in msg.actions] == ["person_0+person_1", "person_2+person_3"]
    assert [a.class_id for a in msg.actions] == labels and msg.actions[0].entity_ids == ["person_0", "person_1"]
    one = truth_message(3, 5)  # the one-pair demo: today's ids and stream
    assert [(a.group_id, a.class_id, list(a.entity_ids)) for a in one.actions] == [
        ("person_a+person_b", 3, list(ENTITY_IDS))]
    assert demo_scene(seed=1, num_interactions=3).entity_ids == list(ENTITY_IDS)


def test_missing_weights_is_one_clear_sentence():
    result = ista_ros("demo", "--weights", "/nonexistent/model.pt", timeout=60)
    assert result.returncode == 2
    assert "/nonexistent/model.pt does not exist" in result.stderr and "Traceback" not in result.stderr


def gif_frames(path) -> tuple[list[np.ndarray], list[int]]:
    with Image.open(path) as gif:
        frames, durations = [], []
        for index in range(gif.n_frames):
            gif.seek(index)
            frames.append(np.asarray(gif.convert("RGB")))
            durations.append(gif.info["duration"])
    return frames, durations


def test_save_writes_the_scene_as_recognised_to_a_gif(short_demo):
    from ista_ros.demo.run import demo_scene
    from ista_ros.demo.watch import GIF_FPS, GIF_SIZE
    from ista_ros.synthetic import interactions
    from ista_ros.viz.colours import AGREES, DIFFERS, PALETTE, UNGROUPED
    from ista_ros.viz.scene import Camera, poses_from_frame
    from test_viz_video import count_colour, drawn_in

    result, path = short_demo
    assert "rendering x.gif" in result.stderr  # the progress bar
    frames, durations = gif_frames(path)
    planted = demo_scene(seed=3, num_interactions=2)
    played_s = (planted.sequence.shape[1] - 1) / interactions.FPS  # first to last frame's stamp
    assert abs(len(frames) - (int(played_s * GIF_FPS) + 1)) <= 1  # the stamps jitter by a few ms
    assert sum(durations) == pytest.approx(len(frames) * 1000 / GIF_FPS, abs=10)
    assert frames[0].shape == (GIF_SIZE[1], GIF_SIZE[0], 3)
    assert f"wrote {path} ({len(frames)} frames)" in result.stdout

    poses = [poses_from_frame(planted.sequence[:, t], planted.entity_ids, axes=interactions.AXES)
             for t in range(planted.sequence.shape[1])]
    camera = Camera.fitting(np.concatenate([p.joints for frame in poses for p in frame]), *GIF_SIZE)

    def best_share(k: int, colour) -> float:
        """The person's share of joints and bones in ``colour`` in GIF frame k, at the player's
        frame shown then (within one of the nominal one: stamps jitter)."""
        nominal = round(k * interactions.FPS / GIF_FPS)
        return max(min(drawn_in(frames[k], poses[t][0], colour, camera, tolerance=30))
                   for t in range(max(0, nominal - 1), min(len(poses), nominal + 2)))

    assert best_share(0, UNGROUPED) > 0.8  # nothing recognised yet: in no group, grey
    last = len(frames) - 1
    assert best_share(last, PALETTE[0]) > 0.8  # then in the first group's colour
    assert count_colour(frames[last], PALETTE[0], 30) > count_colour(frames[0], PALETTE[0], 30) + 500
    cue = count_colour(frames[last], AGREES, 30) + count_colour(frames[last], DIFFERS, 30)
    assert cue > 300  # the label's border and its truth line in green or red, and the legend


def test_a_videos_demo_is_saved_as_the_annotated_camera_pictures(tmp_path):
    from sensor_msgs.msg import Image

    from ista_ros.demo.watch import GIF_SIZE, SceneLog
    from ista_ros.ros.messages import ros_time

    colours = [(250, 0, 0), (0, 250, 0), (0, 0, 250)]
    scene = SceneLog()
    for k, colour in enumerate(colours):  # 10 FPS pictures of 320 x 180
        picture = Image(height=180, width=320, encoding="rgb8", step=960,
                        data=np.tile(np.array(colour, np.uint8), 180 * 320).tobytes())
        picture.header.stamp = ros_time(1_000_000_000 + k * 100_000_000)
        scene.add_picture(picture)
    path, frames = scene.render(tmp_path / "video.gif", progress=False)
    shown, _ = gif_frames(path)
    assert frames == len(shown) == 3 and shown[0].shape == (GIF_SIZE[1], GIF_SIZE[0], 3)
    for frame, colour in zip(shown, colours):  # the picture fills the frame (same aspect), JPEG and 256 colours
        assert np.abs(frame[GIF_SIZE[1] // 2, GIF_SIZE[0] // 2].astype(int) - colour).max() < 30


def test_a_video_name_it_cannot_write_is_one_sentence_before_the_demo_runs():
    result = ista_ros("demo", "--save", "demo.avi", timeout=60)
    assert result.returncode == 2
    assert ".mp4 or .gif" in result.stderr and "Traceback" not in result.stderr and "demo:" not in result.stdout
