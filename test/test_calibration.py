"""Temperature scaling: the fit, the expected calibration error, the checkpoint field and
`ista-train calibrate` on a real (small) generated dataset."""
from __future__ import annotations

import argparse

import numpy as np
import pytest
import torch

from ista_ros.core.checkpoint import CheckpointError, CheckpointMeta, load_checkpoint, save_checkpoint
from ista_ros.core.model import ISTANet, ModelConfig
from ista_ros.core.window import Preprocessing
from ista_train.calibration import (
    calibration_report,
    expected_calibration_error,
    fit_temperature,
    negative_log_likelihood,
    run_calibrate,
    softmax,
)
from ista_train.cli import add_calibrate


def over_confident(temperature, n=20000, classes=6, seed=0):
    """Logits whose calibrated temperature is known: labels drawn from softmax(base), the
    logits temperature x base (T > 1: over-confident)."""
    rng = np.random.default_rng(seed)
    base = rng.normal(0, 1.5, (n, classes))
    cumulative = softmax(base).cumsum(axis=1)
    labels = np.minimum((rng.random((n, 1)) > cumulative).sum(axis=1), classes - 1)
    return temperature * base, labels


@pytest.mark.parametrize("true_temperature", [0.5, 1.0, 2.5])
def test_the_fit_recovers_a_known_temperature(true_temperature):
    logits, labels = over_confident(true_temperature)
    assert fit_temperature(logits, labels) == pytest.approx(true_temperature, rel=0.05)


def test_the_fitted_temperature_minimises_the_likelihood_and_keeps_the_predictions():
    logits, labels = over_confident(3.0, n=3000)
    t = fit_temperature(logits, labels)
    best = negative_log_likelihood(logits, labels, t)
    assert best < negative_log_likelihood(logits, labels, 0.9 * t)
    assert best < negative_log_likelihood(logits, labels, 1.1 * t)
    np.testing.assert_array_equal(softmax(logits, t).argmax(1), logits.argmax(1))


def test_calibration_lowers_the_expected_calibration_error():
    logits, labels = over_confident(3.0)
    report = calibration_report(logits, labels)
    assert report["ece_before"] > 10.0  # percent: confident far beyond its accuracy
    assert report["ece_after"] < 1.5
    assert report["nll_after"] < report["nll_before"] and report["fitted_here"]


def test_ece_by_hand():
    # Two windows at confidence 0.9 (one right), two at ~1.0 (both right): bins 14/15 and 15/15.
    logits = np.log(np.array([[0.9, 0.1], [0.9, 0.1], [1.0, 1e-12], [1.0, 1e-12]]))
    labels = np.array([0, 1, 0, 0])
    assert expected_calibration_error(logits, labels) == pytest.approx(0.5 * abs(0.5 - 0.9), abs=1e-6)
    assert expected_calibration_error(logits[2:], labels[2:]) == pytest.approx(0.0, abs=1e-6)


def test_fit_needs_samples():
    with pytest.raises(ValueError, match="no samples"):
        fit_temperature(np.zeros((0, 3)), np.zeros(0, int))


def tiny_model(classes):
    cfg = ModelConfig(num_classes=classes, num_joints=25, num_frames=8, num_persons=2, window_size=(4, 1, 2),
                      num_heads=1, config=[[8, 8, 4]])
    torch.manual_seed(0)
    return ISTANet(cfg).eval()


def test_the_checkpoint_carries_its_temperature(tmp_path):
    model = tiny_model(3)
    meta = CheckpointMeta(["a", "b", "c"], "ntu25", Preprocessing(num_frames=8), temperature=1.7, axes="kinect")
    save_checkpoint(tmp_path / "m.pt", model, meta)
    assert load_checkpoint(tmp_path / "m.pt").meta.temperature == pytest.approx(1.7)
    # A checkpoint written before calibration existed: not calibrated.
    payload = torch.load(tmp_path / "m.pt", weights_only=True)
    del payload["meta"]["temperature"]
    torch.save(payload, tmp_path / "old.pt")
    assert load_checkpoint(tmp_path / "old.pt").meta.temperature == 1.0


def calibrate_args(*argv):
    parser = argparse.ArgumentParser()
    add_calibrate(parser.add_subparsers())
    return parser.parse_args(["calibrate", *argv])


@pytest.fixture(scope="module")
def windows(tmp_path_factory):
    """A small generated validation set in the demo's format (native npz, class none included)."""
    from ista_train.prepare import interactions as preparer

    out = tmp_path_factory.mktemp("interactions")
    parser = argparse.ArgumentParser()
    preparer.add_arguments(parser)
    preparer.prepare(parser.parse_args(["--out", str(out), "--train-per-class", "1", "--val-per-class", "2",
                                        "--windows", "40", "50"]))
    return out


def test_calibrate_command_rewrites_the_checkpoint_with_its_temperature(tmp_path, windows):
    recipe = "config/train/demo_interactions.yaml"
    loaded = load_checkpoint(save_untrained(tmp_path / "model.pt"))
    args = calibrate_args("--config", recipe, "--weights", str(tmp_path / "model.pt"), "--device", "cpu",
                          "--no-progress", f"test_feeder_args.data_path={windows}")
    report = run_calibrate(args)
    calibrated = load_checkpoint(tmp_path / "model.pt")
    assert calibrated.meta.temperature == pytest.approx(report["temperature"]) != 1.0
    assert report["ece_after"] <= report["ece_before"] + 1e-9
    assert calibrated.meta.class_names == loaded.meta.class_names
    for name, tensor in loaded.model.state_dict().items():
        torch.testing.assert_close(calibrated.model.state_dict()[name], tensor)
    assert not list(tmp_path.glob(".*"))  # written atomically: no temporary file left


def save_untrained(path):
    from ista_ros.synthetic import interactions
    from ista_train.recipe import load_recipe

    recipe = load_recipe("config/train/demo_interactions.yaml")
    torch.manual_seed(0)
    model = ISTANet(recipe.model_args)
    save_checkpoint(path, model, recipe.checkpoint_meta(list(interactions.CLASS_NAMES), {}, interactions.LAYOUT))
    return path


def test_calibrate_refuses_an_official_state_dict(tmp_path, windows):
    torch.save(tiny_model(3).state_dict(), tmp_path / "official.pt")
    args = calibrate_args("--config", "config/train/demo_interactions.yaml", "--weights", str(tmp_path / "official.pt"),
                          f"test_feeder_args.data_path={windows}")
    with pytest.raises(CheckpointError, match="not a checkpoint of the project's format"):
        run_calibrate(args)


def test_eval_reports_the_ece_before_and_after_the_checkpoints_temperature(tmp_path, windows, capsys):
    from ista_train.eval import evaluate_checkpoint
    from ista_train.recipe import load_recipe

    recipe = load_recipe("config/train/demo_interactions.yaml")
    weights = save_untrained(tmp_path / "model.pt")
    loaded = load_checkpoint(weights)
    loaded.meta.temperature = 2.0
    save_checkpoint(weights, loaded.model, loaded.meta)
    metrics = evaluate_checkpoint(recipe, weights, data=str(windows), device="cpu", progress=False)
    assert metrics["temperature"] == 2.0 and {"ece_before", "ece_after"} <= set(metrics)
    printed = capsys.readouterr().out
    assert "calibration: ECE" in printed and "temperature 2.000 (the checkpoint's)" in printed
