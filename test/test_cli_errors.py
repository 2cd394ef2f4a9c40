"""One error policy for `ista-ros` and `ista-train`: a user error is one sentence on stderr
and exit status 2; a bug keeps its traceback (exit status 1); Ctrl-C is 130."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

from ista_ros import cli as ista_ros_cli
from ista_ros.core.checkpoint import CheckpointError, CheckpointMeta, save_checkpoint
from ista_ros.core.engine import InputError
from ista_ros.core.layouts import LayoutError
from ista_ros.core.model import ISTANet, ModelConfig
from ista_ros.core.recognition import SkeletonError
from ista_ros.core.window import Preprocessing
from ista_ros.errors import ConfigError, UserError, run_reporting_user_errors
from ista_ros.keypoints.bundles import BundleError
from ista_ros.keypoints.images import ImageError
from ista_train import cli as ista_train_cli
from ista_train.data import DatasetError
from ista_train.prepare import PrepareError
from ista_train.train import TrainingError

REPO = Path(__file__).resolve().parents[1]
PREDICT = ["predict", "--weights", "w.pt", "--input", "x.npy", "--output", "y.npy"]
# `<module>.<function> = a bug`, then the CLI's main(): an exception no user can cause
BUG = {
    "ista-ros": ("import ista_ros.commands.predict as command; command.run = lambda args: {}['missing key']; "
                 "from ista_ros.cli import main", PREDICT),
    "ista-train": ("import ista_train.cli as command; command.run_viz = lambda args: {}['missing key']; "
                   "from ista_train.cli import main", ["viz", "--config", "r.yaml", "--out", "out"]),
}


def run_python(code: str, tmp_path) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=tmp_path, timeout=120)


@pytest.mark.parametrize("error", [ConfigError, CheckpointError, InputError, LayoutError, SkeletonError, BundleError,
                                   ImageError, DatasetError, PrepareError, TrainingError])
def test_every_user_error_derives_from_the_one_base(error):
    assert issubclass(error, UserError)


@pytest.mark.parametrize("error", [ConfigError, CheckpointError, InputError, LayoutError, DatasetError])
def test_user_errors_that_were_value_errors_still_are(error):
    assert issubclass(error, ValueError)  # callers and tests that catch ValueError keep working


def test_user_error_is_one_line_and_exit_2_in_ista_ros(tmp_path):
    argv = ["predict", "--weights", "w.pt", "--input", "absent.npy", "--output", "y.npy"]
    done = run_python(f"import sys; from ista_ros.cli import main; sys.exit(main({argv!r}))", tmp_path)
    assert done.returncode == 2, done.stderr
    assert done.stderr.splitlines() == ["ista-ros predict: error: input file absent.npy does not exist."]


def test_user_error_is_one_line_and_exit_2_in_ista_train(tmp_path):
    done = run_python("import sys; from ista_train.cli import main; "
                      "sys.exit(main(['eval', '--config', 'missing.yaml', '--weights', 'w.pt']))", tmp_path)
    assert done.returncode == 2, done.stderr
    assert done.stderr.splitlines() == ["ista-train eval: error: configuration file missing.yaml does not exist."]


@pytest.mark.parametrize("prog", BUG)
def test_a_bug_keeps_its_traceback_and_exit_1(prog, tmp_path):
    setup, argv = BUG[prog]
    done = run_python(f"import sys; {setup}; sys.exit(main({argv!r}))", tmp_path)
    assert done.returncode == 1
    assert "Traceback (most recent call last)" in done.stderr and "KeyError: 'missing key'" in done.stderr


@pytest.mark.parametrize("main, argv, prog", [
    (ista_ros_cli.main, PREDICT, "ista-ros predict"),
    (ista_train_cli.main, ["train", "--config", str(REPO / "config/train/ntu26_xsub.yaml")], "ista-train train"),
])
def test_cuda_asked_for_without_cuda_is_one_sentence(main, argv, prog, monkeypatch, capsys, tmp_path):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    monkeypatch.chdir(tmp_path)
    if main is ista_ros_cli.main:  # a real checkpoint and input: the device is the only problem
        cfg = ModelConfig(num_classes=2, num_joints=3, num_frames=8, num_persons=2, window_size=(4, 1, 2),
                          config=[[8, 8, 4]])
        save_checkpoint("w.pt", ISTANet(cfg), CheckpointMeta(["a", "b"], "joints3", Preprocessing(8)))
        np.save("x.npy", np.zeros((1, 3, 8, 3, 2), np.float32))
    assert main([*argv, "--device", "cuda"]) == 2
    err = capsys.readouterr().err
    assert err.splitlines() == [f"{prog}: error: device 'cuda' was asked for but CUDA is not available here; "
                                "use cpu or auto."]


def test_policy_exit_statuses(capsys):
    def interrupted():
        raise KeyboardInterrupt

    def refused():
        raise ConfigError("--batch-size must be at least 1.")

    assert run_reporting_user_errors("tool", lambda: None) == 0
    assert run_reporting_user_errors("tool", lambda: 3) == 3
    assert run_reporting_user_errors("tool", interrupted) == 130
    assert run_reporting_user_errors("tool cmd", refused) == 2
    assert capsys.readouterr().err == "tool cmd: error: --batch-size must be at least 1.\n"
    with pytest.raises(ZeroDivisionError):
        run_reporting_user_errors("tool", lambda: 1 / 0)
