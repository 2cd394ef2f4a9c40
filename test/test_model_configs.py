"""Every model configuration in config/model runs (as timm runs every registered model):
forward, backward with finite gradients, and `ista-train export` (the project's checkpoint
format plus TorchScript) giving back the same logits. New YAML files are picked up by the glob."""
from __future__ import annotations

from pathlib import Path

import pytest
import torch
import torch.nn.functional as F

from ista_ros.core.checkpoint import load_checkpoint
from ista_ros.core.config import load_model_config
from ista_ros.core.model import ISTANet
from ista_train.cli import main as ista_train

MODEL_CONFIGS = sorted((Path(__file__).resolve().parents[1] / "config" / "model").glob("*.yaml"))


@pytest.fixture(params=MODEL_CONFIGS, ids=lambda path: path.stem)
def config(request):
    return request.param


def random_model(path: Path) -> tuple[ISTANet, torch.Tensor]:
    """The configuration's model with seeded random weights, and one input window (batch 1:
    the large configurations take about a second per sample on a small CPU)."""
    cfg = load_model_config(path)
    torch.manual_seed(0)
    model = ISTANet(cfg)
    x = torch.randn(1, cfg.num_channels, cfg.num_frames, cfg.num_joints, cfg.num_persons)
    return model, x


def test_forward_and_backward(config):
    model, x = random_model(config)
    logits = model.train()(x)
    assert logits.shape == (1, model.cfg.num_classes) and torch.isfinite(logits).all()
    F.cross_entropy(logits, torch.tensor([0])).backward()
    without_grad = [name for name, p in model.named_parameters() if p.requires_grad and p.grad is None]
    assert not without_grad, f"parameters outside the graph: {without_grad}"
    bad = [name for name, p in model.named_parameters() if p.grad is not None and not torch.isfinite(p.grad).all()]
    assert not bad, f"non-finite gradients: {bad}"


def test_export_round_trip(config, tmp_path):
    """A bare state dict (as the official code saves) -> `ista-train export` with the YAML ->
    the checkpoint and the TorchScript module answer as the model did."""
    model, x = random_model(config)
    model.eval()
    torch.save(model.state_dict(), tmp_path / "bare.pt")
    status = ista_train(["export", "--weights", str(tmp_path / "bare.pt"), "--config", str(config),
                         "--out", str(tmp_path / "model.pt"), "--torchscript", str(tmp_path / "model.ts")])
    assert status == 0
    with torch.no_grad():
        expected = model(x)
        loaded = load_checkpoint(tmp_path / "model.pt")
        assert loaded.config == model.cfg
        assert torch.equal(loaded.model(x), expected)
        scripted = torch.jit.load(str(tmp_path / "model.ts"))
        torch.testing.assert_close(scripted(x), expected)
