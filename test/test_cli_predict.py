"""`ista-ros predict` as a user runs it: a real process, real files, exit codes."""
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

from ista_ros.core.checkpoint import CheckpointMeta, save_checkpoint
from ista_ros.core.model import ISTANet, ModelConfig
from ista_ros.core.window import Preprocessing
from reference.make_official_reference import CASES
from reference.randomize import randomize_state_dict

ROOT = Path(__file__).resolve().parents[1]


def predict(*args) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "ista_ros.cli", "predict", *map(str, args)],
                          capture_output=True, text=True, cwd=ROOT, timeout=120)


@pytest.fixture(scope="module")
def model():
    model = ISTANet(ModelConfig.from_dict(CASES["padded"])).eval()
    model.load_state_dict(randomize_state_dict(model.state_dict(), 2))
    return model


def meta() -> CheckpointMeta:
    return CheckpointMeta([f"c{i}" for i in range(5)], "custom7", Preprocessing(50), entity_kinds=["person"] * 3)


@pytest.fixture
def inputs(tmp_path):
    x = np.random.default_rng(0).standard_normal((5, 3, 50, 7, 3)).astype(np.float32)
    np.save(tmp_path / "x.npy", x)
    return x


def test_predict_writes_the_model_logits_in_batches(tmp_path, model, inputs):
    path = tmp_path / "m.pt"
    save_checkpoint(path, model, meta())
    done = predict("--weights", path, "--input", tmp_path / "x.npy", "--output", tmp_path / "y.npy",
                   "--device", "cpu", "--batch-size", 2, "--backend", "torch")
    assert done.returncode == 0, done.stderr
    y = np.load(tmp_path / "y.npy")
    with torch.no_grad():
        expected = model(torch.from_numpy(inputs)).numpy()
    assert y.dtype == np.float32 and y.shape == (5, 5)
    np.testing.assert_allclose(y, expected, atol=1e-5)


def test_predict_runs_official_checkpoints_with_their_run_yaml(tmp_path, model, inputs):
    torch.save({"module." + k: v for k, v in model.state_dict().items()}, tmp_path / "official.pt")
    (tmp_path / "run.yaml").write_text(f"model_args: {CASES['padded']}\n")
    done = predict("--weights", tmp_path / "official.pt", "--model-config", tmp_path / "run.yaml",
                   "--input", tmp_path / "x.npy", "--output", tmp_path / "y.npy", "--backend", "torch")
    assert done.returncode == 0, done.stderr
    with torch.no_grad():
        np.testing.assert_allclose(np.load(tmp_path / "y.npy"), model(torch.from_numpy(inputs)).numpy(), atol=1e-5)


@pytest.mark.parametrize("problem, message", [
    ("shape", "input must be (N, C, T, J, E) = (N, 3, 50, 7, 3)"),
    ("nan", "NaN"),
    ("missing_input", "does not exist"),
    ("missing_weights", "checkpoint"),
])
def test_bad_inputs_give_one_clear_error_and_a_nonzero_exit(tmp_path, model, problem, message):
    save_checkpoint(tmp_path / "m.pt", model, meta())
    x = np.zeros((2, 3, 50, 7, 3), np.float32)
    if problem == "shape":
        x = np.zeros((2, 3, 40, 7, 3), np.float32)
    if problem == "nan":
        x[0, 0, 0, 0, 0] = np.nan
    np.save(tmp_path / "x.npy", x)
    weights = tmp_path / ("absent.pt" if problem == "missing_weights" else "m.pt")
    source = tmp_path / ("absent.npy" if problem == "missing_input" else "x.npy")
    done = predict("--weights", weights, "--input", source, "--output", tmp_path / "y.npy", "--backend", "torch")
    assert done.returncode == 2
    assert message in done.stderr and "Traceback" not in done.stderr
    assert not (tmp_path / "y.npy").exists()
