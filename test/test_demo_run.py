"""`ista-ros demo`, short: real player, recognizer and listener processes on generated
interactions, to the accuracy line and a clean shutdown."""
from __future__ import annotations

import re
import subprocess
import sys

import pytest


def ista_ros(*args, timeout=300):
    return subprocess.run([sys.executable, "-m", "ista_ros.cli", *args], capture_output=True, text=True,
                          timeout=timeout)


def test_short_demo_ends_with_accuracy_and_clean_shutdown():
    result = ista_ros("demo", "--num-interactions", "2", "--seed", "3", "--device", "cpu")
    assert result.returncode == 0, result.stdout + result.stderr
    lines = result.stdout.splitlines()
    windows = [line for line in lines if " recognised " in line]
    assert len(windows) >= 8, result.stdout  # ~7 s of interactions, a window every 10 frames
    assert all("truth" in line and "latency" in line for line in windows)
    summary = re.fullmatch(r"accuracy (\d+\.\d)% \((\d+) of (\d+) windows .*", lines[-2])
    assert summary, result.stdout
    assert int(summary.group(3)) >= 4
    assert float(summary.group(1)) >= 40.0  # ten classes: chance is 10 %
    assert lines[-1] == "demo: every node shut down cleanly"


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
