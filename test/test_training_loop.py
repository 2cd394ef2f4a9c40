"""The trainer on the CPU: it learns, resumes exactly after a kill, stops on NaN, and two
DDP processes (gloo) compute what one process computes. Resuming onto another device is
checked with the meta device standing in for a GPU, and on CUDA where there is one."""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import warnings
from pathlib import Path

import numpy as np
import pytest
import torch
import yaml

from ista_ros.core.checkpoint import load_checkpoint
from ista_ros.core.model import ISTANet
from ista_train.recipe import load_recipe
from ista_train.train import (
    STATE_FILE,
    Context,
    GlobalBatchSampler,
    Options,
    learning_rate,
    make_optimizer,
    resume,
    train,
)

REPO = Path(__file__).resolve().parents[1]
CLASSES = ["wave", "nod", "sway", "still"]


def make_task(folder: Path, n_train=96, n_val=48, frames=24, joints=15, seed=0):
    """Learnable: class k moves the entities at frequency k+1 (class 3 stays still), with
    random amplitude, phase, offset, length and noise."""
    rng = np.random.default_rng(seed)
    folder.mkdir(parents=True, exist_ok=True)
    for split, n in (("train", n_train), ("val", n_val)):
        labels = rng.integers(0, len(CLASSES), n)
        data = np.zeros((n, 3, frames, joints, 2), np.float32)
        for i, k in enumerate(labels):
            length = rng.integers(frames // 2, frames + 1)
            t = np.linspace(0, 1, length)
            wave = 0.0 * t if k == 3 else np.sin(2 * np.pi * (k + 1) * t + rng.uniform(0, 6.28))
            offset = rng.normal(0, 0.3, (3, 1, joints, 2)) + 1.0
            data[i, :, :length] = offset + rng.uniform(0.5, 1.0) * wave[None, :, None, None] + \
                rng.normal(0, 0.03, (3, length, joints, 2))
        np.savez(folder / f"{split}.npz", data=data, label=labels, class_names=np.array(CLASSES))


def write_recipe(tmp_path: Path, data: Path, **changes) -> Path:
    recipe = {
        "seed": 3, "work_dir": str(tmp_path / "run"), "feeder": "native", "layout": "sbu15",
        "model_args": {"window_size": [8, 1, 2], "num_frames": 16, "num_joints": 15, "num_persons": 2,
                       "num_channels": 3, "num_classes": 4, "num_heads": 2, "kernel_size": [3, 3],
                       "config": [[16, 16, 4], [16, 16, 4]]},
        "train_feeder_args": {"data_path": str(data), "split": "train", "window_size": 16,
                              "p_interval": [0.5, 1], "random_rot": True, "entity_rearrangement": True},
        "test_feeder_args": {"data_path": str(data), "split": "val", "window_size": 16, "p_interval": [0.95]},
        "optimizer": "AdamW", "base_lr": 0.01, "weight_decay": 0.0004, "step": [12], "warm_up_epoch": 1,
        "loss": "LabelSmoothingCrossEntropy", "loss_args": {"smoothing": 0.1, "temperature": 1.0},
        "batch_size": 16, "test_batch_size": 48, "num_epoch": 15, "eval_interval": 1, "num_worker": 0,
    }
    recipe.update(changes)
    tmp_path.mkdir(parents=True, exist_ok=True)
    path = tmp_path / "recipe.yaml"
    path.write_text(yaml.safe_dump(recipe))
    return path


@pytest.fixture(scope="module")
def task(tmp_path_factory):
    folder = tmp_path_factory.mktemp("task")
    make_task(folder)
    return folder


def cli(*args, env_extra=None, **kwargs):
    env = dict(os.environ, OMP_NUM_THREADS="1", **(env_extra or {}))
    return subprocess.run([sys.executable, "-m", "ista_train", *args], capture_output=True, text=True,
                          env=env, cwd=REPO, timeout=600, **kwargs)


def params(path):
    model = load_checkpoint(path).model
    return {k: v for k, v in model.named_parameters()}


@pytest.fixture
def one_thread():
    """One torch thread: on a busy 2-core machine, several threads are many times slower."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def test_training_learns_a_synthetic_task(tmp_path, task, one_thread):
    summary = train(load_recipe(write_recipe(tmp_path, task)), Options(progress=False))
    assert summary["best"]["top1"] >= 90.0, summary
    loaded = load_checkpoint(tmp_path / "run" / "best.pt")
    assert loaded.meta.class_names == CLASSES and loaded.meta.layout == "sbu15"
    assert loaded.meta.provenance["metrics"]["top1"] == summary["best"]["top1"]
    rows = (tmp_path / "run" / "metrics.csv").read_text().splitlines()
    assert len(rows) == 1 + 15 and rows[0].startswith("epoch,lr,train_loss")
    assert any((tmp_path / "run" / "tensorboard").iterdir())


def test_learning_rate_is_the_official_schedule():
    recipe = load_recipe(REPO / "config" / "train" / "ntu26_xsub.yaml")
    lrs = [learning_rate(recipe, e) for e in range(110)]
    assert lrs[0] == pytest.approx(0.02) and lrs[4] == pytest.approx(0.1)
    assert lrs[34] == pytest.approx(0.1) and lrs[35] == pytest.approx(0.01)
    assert lrs[60] == pytest.approx(1e-3) and lrs[95] == pytest.approx(1e-5)


def test_slots_of_a_global_batch_do_not_depend_on_the_split():
    """2 processes x 1 micro-batch hold the same samples as 1 process x 2 micro-batches."""
    ddp = [list(GlobalBatchSampler(50, 8, 2, rank, 1, seed=5)) for rank in (0, 1)]
    accum = list(GlobalBatchSampler(50, 8, 1, 0, 2, seed=5))
    assert [b for pair in zip(*ddp) for b in pair] == accum
    assert sorted(i for b in accum for i in b) == sorted(set(i for b in accum for i in b))
    assert len(accum) == 50 // 8 * 2


def test_kill_and_resume_equals_an_uninterrupted_run(tmp_path, task):
    epochs = 8
    whole = cli("train", "--config", str(write_recipe(tmp_path / "a", task, num_epoch=epochs)), "--no-progress")
    assert whole.returncode == 0, whole.stderr

    recipe = write_recipe(tmp_path / "b", task, num_epoch=epochs)
    state = tmp_path / "b" / "run" / "train_state.pt"
    env = dict(os.environ, OMP_NUM_THREADS="1")
    proc = subprocess.Popen([sys.executable, "-m", "ista_train", "train", "--config", str(recipe), "--no-progress"],
                            cwd=REPO, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.time() + 300
    while time.time() < deadline and proc.poll() is None:
        if state.exists() and torch.load(state, weights_only=True)["epoch"] >= 3:
            proc.send_signal(signal.SIGKILL)
            break
        time.sleep(0.05)
    assert proc.wait() == -signal.SIGKILL, "the run ended before it could be killed"
    resumed = cli("train", "--config", str(recipe), "--resume", "--no-progress")
    assert resumed.returncode == 0, resumed.stderr
    assert "resumed from" in resumed.stdout

    a, b = params(tmp_path / "a" / "run" / "last.pt"), params(tmp_path / "b" / "run" / "last.pt")
    for key in a:
        torch.testing.assert_close(a[key], b[key], rtol=0, atol=0, msg=key)
    rows_a = (tmp_path / "a" / "run" / "metrics.csv").read_text().splitlines()
    rows_b = (tmp_path / "b" / "run" / "metrics.csv").read_text().splitlines()
    assert [r.split(",")[:7] for r in rows_a] == [r.split(",")[:7] for r in rows_b]


CUDA = pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")


@pytest.mark.parametrize("device", ["meta", pytest.param("cuda", marks=CUDA)])
def test_resume_restores_the_rng_state_onto_any_training_device(tmp_path, task, one_thread, device):
    """torch takes RNG states only as CPU tensors: a train_state.pt loaded onto the training
    device raised TypeError on a GPU. The meta device stands in for one on a CPU-only machine."""
    recipe = load_recipe(write_recipe(tmp_path, task, num_epoch=1))
    train(recipe, Options(device="cpu", progress=False))
    saved = torch.load(tmp_path / "run" / STATE_FILE, weights_only=True)["rng"][0]["cpu"]
    model = ISTANet(recipe.model_args).to(device)
    torch.manual_seed(12345)  # anything but the saved state
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # copying weights into meta parameters is a no-op, said with a warning
        epoch, _ = resume(tmp_path / "run" / STATE_FILE, model, make_optimizer(recipe, model), recipe,
                          Context(rank=0, world=1, device=torch.device(device)))
    assert epoch == 1
    assert torch.equal(torch.get_rng_state(), saved)


@CUDA
def test_kill_free_resume_on_cuda_continues_the_run(tmp_path, task):
    """On a GPU: one epoch, then --resume to the second equals two epochs in one go (the
    CUDA RNG state included; cuDNN is deterministic, scatter-adds may differ in the last bits)."""
    whole = train(load_recipe(write_recipe(tmp_path / "a", task, num_epoch=2)), Options(device="cuda", progress=False))
    train(load_recipe(write_recipe(tmp_path / "b", task, num_epoch=1)), Options(device="cuda", progress=False))
    resumed = train(load_recipe(write_recipe(tmp_path / "b", task, num_epoch=2)),
                    Options(device="cuda", resume=True, progress=False))
    assert resumed["last"]["epoch"] == whole["last"]["epoch"] == 2
    a, b = params(tmp_path / "a" / "run" / "last.pt"), params(tmp_path / "b" / "run" / "last.pt")
    for key in a:
        torch.testing.assert_close(a[key], b[key], rtol=1e-4, atol=1e-5, msg=key)


def test_nan_loss_stops_with_a_clear_message(tmp_path):
    """A learning rate that blows the weights up (the data pipeline refuses NaN samples itself)."""
    make_task(tmp_path / "data", n_train=32, n_val=8)
    recipe = write_recipe(tmp_path, tmp_path / "data", num_epoch=2, base_lr=1e30)
    result = cli("train", "--config", str(recipe), "--no-progress")
    assert result.returncode == 2, result.stderr
    assert "loss became nan" in result.stderr and "Traceback" not in result.stderr


def test_two_ddp_processes_match_one_process(tmp_path, task):
    """torchrun, 2 CPU processes (gloo), per-process batch 8 == 1 process, grad_accum 2."""
    single = cli("train", "--config", str(write_recipe(tmp_path / "one", task, num_epoch=2, grad_accum=2)),
                 "--no-progress")
    assert single.returncode == 0, single.stderr
    recipe = write_recipe(tmp_path / "two", task, num_epoch=2)
    env = dict(os.environ, OMP_NUM_THREADS="1")
    ddp = subprocess.run([sys.executable, "-m", "torch.distributed.run", "--nproc_per_node", "2",
                          "--master_port", str(29500 + os.getpid() % 1000), "-m", "ista_train", "train",
                          "--config", str(recipe), "--no-progress", "--device", "cpu"],
                         capture_output=True, text=True, cwd=REPO, env=env, timeout=600)
    assert ddp.returncode == 0, ddp.stderr[-3000:]
    assert "2 process(es)" in ddp.stdout
    one, two = params(tmp_path / "one" / "run" / "last.pt"), params(tmp_path / "two" / "run" / "last.pt")
    for key in one:
        torch.testing.assert_close(one[key], two[key], rtol=1e-4, atol=1e-5, msg=key)
