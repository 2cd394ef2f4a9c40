"""`ista-train` recipes, eval, submit and export on small files in the official formats,
with the official YAML files unchanged and official-style (bare, "module."-prefixed)
state dicts."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
import yaml

from ista_ros.core.checkpoint import load_checkpoint
from ista_ros.core.model import ISTANet
from ista_ros.core.window import Preprocessing, model_input
from ista_ros.demo.ship import SHIPPED_WEIGHTS
from ista_train.cli import main as ista_train_main
from ista_train.recipe import load_recipe
from ista_train.submit import fuse_asb
from reference.make_official_reference import CONFIGS as OFFICIAL

REPO = Path(__file__).resolve().parents[1]
OFFICIAL_YAMLS = sorted(OFFICIAL.glob("*/*.yaml")) if OFFICIAL.is_dir() else []
OURS = {"ntu26_xsub": "ntu/ntu26_xsub_joint", "ntu26_xset": "ntu/ntu26_xset_joint",
        "sbu_clean": "sbu/sbu_clean_joint", "sbu_noisy": "sbu/sbu_noisy_joint", "h2o": "h2o/h2o",
        "asb_action": "asb/asb_action", "asb_verb": "asb/asb_verb", "asb_noun": "asb/asb_noun"}
HYPER = ["optimizer", "base_lr", "lr_decay_rate", "step", "warm_up_epoch", "weight_decay", "loss", "loss_args",
         "batch_size", "test_batch_size", "num_epoch", "seed", "feeder"]
FEEDER_KEYS = ["window_size", "p_interval", "random_rot", "entity_rearrangement", "split", "fold"]


def ista_train(*args, cwd=REPO):
    env = dict(os.environ, OMP_NUM_THREADS="1")
    return subprocess.run([sys.executable, "-m", "ista_train", *args], capture_output=True, text=True, cwd=cwd,
                          env=env, timeout=600)


@pytest.mark.skipif(not OFFICIAL_YAMLS, reason="official configs not available")
@pytest.mark.parametrize("path", OFFICIAL_YAMLS, ids=lambda p: p.stem)
def test_official_yamls_load_unchanged(path):
    recipe = load_recipe(path)
    assert recipe.model_args.num_classes in (26, 8, 36, 1380, 24, 90)
    assert recipe.test_labelled == ("get_test_results" not in path.stem)


@pytest.mark.skipif(not OFFICIAL_YAMLS, reason="official configs not available")
@pytest.mark.parametrize("ours,official", OURS.items())
def test_our_recipes_have_the_official_hyper_parameters(ours, official):
    mine, theirs = load_recipe(REPO / "config/train" / f"{ours}.yaml"), load_recipe(OFFICIAL / f"{official}.yaml")
    for key in HYPER:
        assert getattr(mine, key) == getattr(theirs, key), key
    assert mine.model_args == theirs.model_args
    if mine.optimizer == "SGD":
        assert mine.nesterov == theirs.nesterov
    else:
        assert mine.optimizer_betas == theirs.optimizer_betas
    for args in ("train_feeder_args", "test_feeder_args"):
        for key in FEEDER_KEYS:
            assert getattr(mine, args).get(key) == getattr(theirs, args).get(key), (args, key)


def test_overrides_reach_nested_keys():
    recipe = load_recipe(REPO / "config/train/sbu_clean.yaml",
                         {"base_lr": 0.01, "train_feeder_args.fold": 3, "folds": [1]})
    assert recipe.base_lr == 0.01 and recipe.train_feeder_args["fold"] == 3 and recipe.folds == [1]


def ntu_npz(path, n=3, t=60):
    rng = np.random.default_rng(0)
    x = np.cumsum(rng.normal(0, 0.02, (n, t, 150)), axis=1).astype(np.float32)
    x[0, 40:] = 0  # a shorter sequence, zero-padded
    labels = np.array([49, 110, 119][:n])
    onehot = np.eye(120, dtype=np.float32)[labels]
    np.savez(path, x_train=x, y_train=onehot, x_test=x, y_test=onehot)
    return x


@pytest.mark.skipif(not OFFICIAL_YAMLS, reason="official configs not available")
def test_eval_with_an_official_checkpoint_and_yaml(tmp_path):
    x = ntu_npz(tmp_path / "ntu.npz")
    official_yaml = OFFICIAL / "ntu/ntu26_xsub_joint.yaml"
    torch.manual_seed(0)
    model = ISTANet(load_recipe(official_yaml).model_args).eval()
    torch.save({f"module.{k}": v for k, v in model.state_dict().items()}, tmp_path / "official.pt")

    result = ista_train("eval", "--config", str(official_yaml), "--weights", str(tmp_path / "official.pt"),
                        "--data", str(tmp_path / "ntu.npz"), "--save-scores", str(tmp_path / "scores.npy"),
                        "--out", str(tmp_path / "out"), "--no-progress", "--device", "cpu")
    assert result.returncode == 0, result.stderr
    assert "top-1" in result.stdout
    scores = np.load(tmp_path / "scores.npy")
    assert scores.dtype == np.float32 and scores.shape == (3, 26)
    samples = x.reshape(3, -1, 2, 25, 3).transpose(0, 4, 1, 3, 2)
    pre = Preprocessing(num_frames=120, p_interval=(0.95,))
    with torch.no_grad():
        expected = model(torch.from_numpy(np.stack([model_input(s, pre) for s in samples]))).numpy()
    np.testing.assert_allclose(scores, expected, rtol=1e-4, atol=1e-4)
    assert (tmp_path / "out" / "official_confusion.png").stat().st_size > 1000
    metrics = json.loads((tmp_path / "out" / "official_metrics.json").read_text())
    assert metrics["samples"] == 3


def test_user_errors_are_one_sentence(tmp_path):
    result = ista_train("eval", "--config", str(tmp_path / "missing.yaml"), "--weights", "w.pt")
    assert result.returncode == 2 and "missing.yaml" in result.stderr and "Traceback" not in result.stderr
    bad = tmp_path / "bad.yaml"
    bad.write_text(yaml.safe_dump({"model_args": {"num_classes": 2}, "feeder": "nope"}))
    result = ista_train("train", "--config", str(bad))
    assert result.returncode == 2 and "Traceback" not in result.stderr


def test_eval_refuses_data_whose_classes_are_not_the_checkpoints(tmp_path, capsys):
    from ista_ros.synthetic import interactions

    data, labels = interactions.generate_windows(1, np.random.default_rng(0), none_weight=1)
    names = list(interactions.CLASS_NAMES)
    names[:2] = names[1::-1]  # the same classes, two in another order
    np.savez(tmp_path / "val.npz", data=data, label=labels, class_names=np.array(names))
    capsys.readouterr()
    for command in ("eval", "calibrate"):
        assert ista_train_main([command, "--config", "config/train/demo_interactions.yaml", "--weights",
                                str(SHIPPED_WEIGHTS), "--data", str(tmp_path), "--device", "cpu",
                                "--no-progress"]) == 2
        err = capsys.readouterr().err.strip()
        assert "Traceback" not in err and len(err.splitlines()) == 1, err
        assert "hug, handshake, push" in err and "handshake, hug, push" in err, err


def small_h2o_recipe(tmp_path, data):
    recipe = yaml.safe_load((REPO / "config/train/h2o.yaml").read_text())
    recipe.pop("model_config")
    recipe.update(model_args={"window_size": [8, 1, 3], "num_frames": 16, "num_joints": 21, "num_persons": 3,
                              "num_channels": 3, "num_classes": 36, "num_heads": 1, "kernel_size": [3, 3],
                              "config": [[8, 8, 4]]}, layout="hand21")
    for key in ("train_feeder_args", "test_feeder_args"):
        recipe[key].update(data_path=str(data), window_size=16)
    path = tmp_path / "h2o_small.yaml"
    path.write_text(yaml.safe_dump(recipe))
    return path


def test_submit_h2o_and_asb_formats(tmp_path):
    rng = np.random.default_rng(1)
    (tmp_path / "h2o" / "test").mkdir(parents=True)
    torch.save(torch.from_numpy(rng.normal(size=(5, 3, 30, 21, 3)).astype(np.float32)),
               tmp_path / "h2o" / "test" / "data.pth")
    recipe = small_h2o_recipe(tmp_path, tmp_path / "h2o")
    cfg = load_recipe(recipe)
    torch.manual_seed(0)
    model = ISTANet(cfg.model_args)
    torch.save(model.state_dict(), tmp_path / "h2o.pt")
    result = ista_train("submit", "h2o", "--config", str(recipe), "--weights", str(tmp_path / "h2o.pt"),
                        "--out", str(tmp_path / "action_labels.json"), "--no-progress")
    assert result.returncode == 0, result.stderr
    labels = json.loads((tmp_path / "action_labels.json").read_text())
    assert list(labels)[0] == "modality" and sorted(labels)[:-1] == ["1", "2", "3", "4", "5"]
    assert all(1 <= v <= 36 for k, v in labels.items() if k != "modality")

    action = {"task": "recognition", "results": {"0": {"action": [0.5, 0.5]}, "1": {"action": [1.0, 0.0]}}}
    verb = {"task": "recognition", "results": {"0": {"verb": [0.1, 0.9]}, "1": {"verb": [0.2, 0.8]}}}
    noun = {"task": "recognition", "results": {"0": {"object": [1.0]}, "1": {"object": [0.0]}}}
    fused = fuse_asb(action, verb, noun)
    assert fused["results"]["1"] == {"action": [1.0, 0.0], "verb": [0.2, 0.8], "object": [0.0]}


def test_submit_asb_writes_softmax_scores(tmp_path):
    rng = np.random.default_rng(2)
    np.save(tmp_path / "test.npy", rng.normal(size=(4, 3, 20, 21, 2)).astype(np.float32))
    recipe = yaml.safe_load((OFFICIAL / "asb/asb_verb_get_test_results.yaml").read_text()) if OFFICIAL_YAMLS \
        else pytest.skip("official configs not available")
    recipe["model_args"].update(config=[[8, 8, 4]], num_heads=1, window_size=[10, 1, 2], num_frames=20)
    recipe["test_feeder_args"].update(window_size=20)
    path = tmp_path / "asb.yaml"
    path.write_text(yaml.safe_dump(recipe))
    torch.save(ISTANet(load_recipe(path).model_args).state_dict(), tmp_path / "verb.pt")
    result = ista_train("submit", "asb", "--config", str(path), "--weights", str(tmp_path / "verb.pt"),
                        "--data", str(tmp_path / "test.npy"), "--out", str(tmp_path / "preds.json"), "--no-progress")
    assert result.returncode == 0, result.stderr
    preds = json.loads((tmp_path / "preds.json").read_text())
    assert preds["task"] == "recognition" and sorted(preds["results"]) == ["0", "1", "2", "3"]
    scores = np.array([preds["results"][k]["verb"] for k in "0123"])
    assert scores.shape == (4, 24)
    np.testing.assert_allclose(scores.sum(1), 1, rtol=1e-5)


def test_export_converts_an_official_state_dict(tmp_path):
    official_yaml = REPO / "config/train/sbu_clean.yaml"
    model = ISTANet(load_recipe(official_yaml).model_args)
    torch.save(model.state_dict(), tmp_path / "sbu.pt")
    result = ista_train("export", "--weights", str(tmp_path / "sbu.pt"), "--config", str(official_yaml),
                        "--out", str(tmp_path / "deploy.pt"), "--torchscript", str(tmp_path / "sbu.ts"))
    assert result.returncode == 0, result.stderr
    loaded = load_checkpoint(tmp_path / "deploy.pt")
    assert loaded.meta.class_names[0] == "approaching" and loaded.meta.layout == "sbu15"
    scripted = torch.jit.load(str(tmp_path / "sbu.ts"))
    x = torch.randn(2, 3, 40, 15, 2)
    torch.testing.assert_close(scripted(x), loaded.model(x))
