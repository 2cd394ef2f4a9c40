"""The whole offline chain on synthetic raw datasets, on the CPU: prepare -> train a few
steps -> eval -> submit, with the project's recipes (a tiny model by override)."""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch

from ista_ros.core.checkpoint import load_checkpoint
from ista_train.cli import main

REPO = Path(__file__).resolve().parents[1]
TINY = ["model_args.config=[[8,8,4]]", "model_args.num_heads=1", "model_args.num_frames=40",
        "train_feeder_args.window_size=40", "test_feeder_args.window_size=40", "num_epoch=1", "num_worker=0",
        "batch_size=4", "test_batch_size=8"]


@pytest.fixture(autouse=True)
def one_thread():
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def ista_train(*args):
    assert main([str(a) for a in args]) == 0


def train_and_eval(tmp_path, recipe, data_overrides, *extra):
    work = tmp_path / "run"
    recipe = REPO / "config" / "train" / f"{recipe}.yaml"
    ista_train("train", "--config", recipe, "--no-progress", f"work_dir={work}", *TINY, *data_overrides, *extra)
    ista_train("eval", "--config", recipe, "--weights", work / "last.pt", "--save-scores", tmp_path / "scores.npy",
               "--no-progress", *TINY, *data_overrides, *extra)
    assert (work / "last_confusion.png").exists() and (work / "metrics.csv").exists()
    return work, np.load(tmp_path / "scores.npy")


def data(path, *feeders):
    return [f"{f}_feeder_args.data_path={path}" for f in feeders or ("train", "test")]


def test_ntu(tmp_path):
    from synthetic.ntu import make_ntu

    make_ntu(tmp_path / "raw")
    ista_train("prepare", "ntu120", "--raw-dir", tmp_path / "raw", "--out", tmp_path / "ntu", "--workers", "1")
    work, scores = train_and_eval(tmp_path, "ntu26_xsub", data(tmp_path / "ntu" / "NTU120_CSub.npz"),
                                  "model_args.window_size=[10,1,2]")
    assert scores.shape[1] == 26 and scores.dtype == np.float32
    meta = load_checkpoint(work / "best.pt").meta
    assert meta.layout == "ntu25" and meta.class_names[0] == "punch/slap"
    ista_train("viz", "--config", REPO / "config/train/ntu26_xsub.yaml", "--data", tmp_path / "ntu" / "NTU120_CSub.npz",
               "--split", "train", "--out", tmp_path / "viz")
    assert (tmp_path / "viz" / "sample_0.png").stat().st_size > 5000


def test_sbu_folds(tmp_path, capsys):
    from synthetic.sbu import make_sbu

    make_sbu(tmp_path / "raw")
    ista_train("prepare", "sbu", "--root", tmp_path / "raw", "--out", tmp_path / "sbu")
    work = tmp_path / "run"
    ista_train("train", "--config", REPO / "config/train/sbu_clean.yaml", "--no-progress", f"work_dir={work}",
               "folds=[0,3]", "model_args.window_size=[10,5,2]", *TINY, *data(tmp_path / "sbu"))
    assert "2 folds: best top1" in capsys.readouterr().out
    assert (work / "fold0" / "best.pt").exists() and (work / "fold3" / "best.pt").exists()
    folds = json.loads((work / "folds.json").read_text())
    assert sorted(folds["folds"]) == ["0", "3"] and 0 <= folds["mean_best_top1"] <= 100


def test_h2o_with_submission(tmp_path):
    from synthetic.h2o import make_h2o

    make_h2o(tmp_path / "raw")
    ista_train("prepare", "h2o", "--root", tmp_path / "raw", "--out", tmp_path / "h2o")
    work, scores = train_and_eval(tmp_path, "h2o", data(tmp_path / "h2o"), "model_args.window_size=[10,1,3]")
    assert scores.shape == (3, 36)
    ista_train("submit", "h2o", "--config", REPO / "config/train/h2o.yaml", "--weights", work / "best.pt",
               "--data", tmp_path / "h2o", "--out", tmp_path / "action_labels.json", "--no-progress", *TINY,
               "model_args.window_size=[10,1,3]")
    labels = json.loads((tmp_path / "action_labels.json").read_text())
    assert sorted(labels) == ["1", "2", "3", "modality"]
    ista_train("viz", "--config", REPO / "config/train/h2o.yaml", "--data", tmp_path / "h2o", "--index", 0, 2,
               "--gif", "--out", tmp_path / "viz")
    from PIL import Image

    gif = Image.open(tmp_path / "viz" / "sample_2.gif")
    assert gif.n_frames > 5 and gif.size[0] >= 200


def test_asb_three_label_sets_and_fused_submission(tmp_path):
    from synthetic.asb import make_asb

    make_asb(tmp_path / "raw")
    ista_train("prepare", "asb", "--root", tmp_path / "raw", "--out", tmp_path / "asb")
    preds = {}
    for kind, folder in (("action", ""), ("verb", "_verb"), ("noun", "_noun")):
        prepared = tmp_path / "asb" / f"share_contex25_thresh0{folder}"
        overrides = [f"train_feeder_args.data_path={prepared}/train_data_joint_200.npy",
                     f"train_feeder_args.label_path={prepared}/train_label.pkl",
                     f"test_feeder_args.data_path={prepared}/validation_data_joint_200.npy",
                     f"test_feeder_args.label_path={prepared}/validation_label.pkl", "model_args.window_size=[10,1,2]"]
        work = tmp_path / kind
        recipe = REPO / "config/train" / f"asb_{kind}.yaml"
        ista_train("train", "--config", recipe, "--no-progress", f"work_dir={work}", *TINY, *overrides)
        preds[kind] = tmp_path / kind / "preds.json"
        ista_train("submit", "asb", "--config", recipe, "--weights", work / "last.pt", "--kind", kind,
                   "--data", prepared / "test_data_joint_200.npy", "--out", preds[kind], "--no-progress",
                   *TINY, *overrides)
    ista_train("submit", "asb-fuse", "--action", preds["action"], "--verb", preds["verb"], "--noun", preds["noun"],
               "--out", tmp_path / "preds.json")
    fused = json.loads((tmp_path / "preds.json").read_text())
    entry = next(iter(fused["results"].values()))
    assert set(entry) == {"action", "verb", "object"}
    assert len(entry["action"]) == 1380 and len(entry["verb"]) == 24 and len(entry["object"]) == 90
