"""Teach it new interactions, end to end (issue 14, the short version): the demo's
generator plays interactions with their ground truth on demo/truth and `ista-ros record`
records them (real processes), `ista-train prepare bags` makes a dataset of that bag (val)
and two written ones (train), `ista-train train --init` fine-tunes the shipped demo model
on it with a frozen backbone, `ista-train eval` and `calibrate` take its classes from it,
and the recognizer node runs the result on the recording played by `ista-ros play`."""
from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np
import torch
from test_prepare_bags import NODE, demo_bag

from ista_ros.core.checkpoint import load_checkpoint
from ista_ros.demo.ship import SHIPPED_WEIGHTS
from ista_train.cli import main as ista_train
from ista_train.init_weights import file_sha256

ROOT = Path(__file__).resolve().parents[1]
ENV = {"PYTHONPATH": f"{ROOT}{os.pathsep}{os.environ.get('PYTHONPATH', '')}"}


def record_demo(spawn, bag: Path, seed: int, interactions: int) -> None:
    recorder = spawn("-m", "ista_ros.cli", "record", str(bag), "skeletons", "demo/truth", env=ENV)
    assert recorder.wait_for_output("recording", 60), recorder.output()
    player = spawn("-m", "ista_ros.demo.run", "play", "--seed", str(seed), "--num-interactions", str(interactions),
                   env=ENV)
    assert player.process.wait(180) == 0, player.output()
    code, output = recorder.stop()
    assert code == 0 and "recorded" in output, output


def test_recordings_to_a_finetuned_checkpoint_the_node_runs(ros, spawn, tmp_path):
    from ista_ros.msg import InteractionAction

    record_demo(spawn, tmp_path / "recorded", seed=5, interactions=3)
    for seed in (6, 7):
        demo_bag(tmp_path / f"written_{seed}", seed, 5)
    split = tmp_path / "split.csv"
    split.write_text("bag,split\nrecorded,val\nwritten_6,train\nwritten_7,train\n")
    data = tmp_path / "data"
    bags = [str(tmp_path / bag) for bag in ("recorded", "written_6", "written_7")]
    assert ista_train(["prepare", "bags", "--bags", *bags,
                       "--labels-topic", "demo/truth", "--model-config", str(SHIPPED_WEIGHTS), "--out", str(data),
                       "--split", str(split), "--classes", "hug,hand over,none", *NODE]) == 0  # a team's own list
    with np.load(data / "val.npz") as val:
        class_names, recorded_windows = [str(n) for n in val["class_names"]], len(val["label"])
    assert class_names == ["hug", "hand over", "none"] and recorded_windows >= 5

    run = tmp_path / "run"
    assert ista_train(["train", "--config", "config/train/finetune_small.yaml", f"train_feeder_args.data_path={data}",
                       f"test_feeder_args.data_path={data}", f"work_dir={run}", "num_epoch=2", "--init",
                       str(SHIPPED_WEIGHTS), "--freeze-backbone", "--device", "cpu", "--no-progress"]) == 0
    tuned, parent = load_checkpoint(run / "last.pt"), load_checkpoint(SHIPPED_WEIGHTS)
    assert tuned.meta.class_names == class_names and tuned.config.num_classes == len(class_names)
    assert tuned.meta.provenance["parent"]["sha256"] == file_sha256(SHIPPED_WEIGHTS)
    parent_weights = dict(parent.model.named_parameters())
    for name, weight in tuned.model.named_parameters():  # frozen: the backbone is the parent's, the head new
        assert torch.equal(weight, parent_weights[name]) != name.startswith("fc."), name

    # eval and calibrate take the classes from the checkpoint, not from the recipe's model
    assert ista_train(["eval", "--config", "config/train/finetune_small.yaml", "--weights", str(run / "last.pt"),
                       f"test_feeder_args.data_path={data}", "--out", str(tmp_path / "eval"), "--device", "cpu",
                       "--no-progress"]) == 0
    assert json.loads((tmp_path / "eval" / "last_metrics.json").read_text())["samples"] == recorded_windows
    assert ista_train(["calibrate", "--config", "config/train/finetune_small.yaml", "--weights", str(run / "last.pt"),
                       "--data", str(data), "--device", "cpu", "--no-progress"]) == 0
    assert load_checkpoint(run / "last.pt").meta.temperature != 1.0

    actions = []
    ros.node.create_subscription(InteractionAction, "taught_action", actions.append, 100)
    recognizer = spawn("-m", "ista_ros.nodes.recognizer", "--ros-args", "-p", f"weights:={run / 'last.pt'}",
                       "-p", "input_topic:=taught_skeletons", "-p", "output_topic:=taught_action",
                       "-p", "window_seconds:=2.5", "-p", "min_frames:=45", "-p", "stride_frames:=10", env=ENV)
    assert recognizer.wait_for_output("ready", 120), recognizer.output()
    spawn("-m", "ista_ros.cli", "play", str(tmp_path / "recorded"), "--topic", "taught_skeletons", env=ENV)
    assert ros.spin_until(lambda: len(actions) >= 3, 120), recognizer.output()
    assert list(actions[0].class_names) == class_names
