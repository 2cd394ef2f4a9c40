"""ISTA-Net in the core computes what the official implementation computes."""
import math
from pathlib import Path

import numpy as np
import pytest
import torch

from ista_ros.core.config import load_model_config
from ista_ros.core.model import ISTANet, ModelConfig, PositionalEncoding, tokenize
from reference.make_official_reference import CASES, WEIGHT_SEED, seeded_input
from reference.randomize import randomize_state_dict

ROOT = Path(__file__).resolve().parents[1]
REFERENCE = np.load(Path(__file__).parent / "reference" / "official_reference.npz")
CONFIG_FILES = {"ntu26": "ntu26.yaml", "sbu": "sbu.yaml", "sbu_noisy": "sbu_noisy.yaml", "h2o": "h2o.yaml",
                "asb_action": "asb_action.yaml"}


def model_for(name: str) -> ISTANet:
    if name in CONFIG_FILES:
        cfg = load_model_config(ROOT / "config" / "model" / CONFIG_FILES[name])
    else:
        cfg = ModelConfig.from_dict(CASES[name])
    model = ISTANet(cfg).eval()
    model.load_state_dict(randomize_state_dict(model.state_dict(), WEIGHT_SEED))
    return model


@pytest.mark.parametrize("name", list(CASES))
def test_logits_equal_official_implementation(name):
    model = model_for(name)
    with torch.no_grad():
        logits = model(seeded_input(model.cfg.to_dict())).numpy()
    expected = REFERENCE[f"logits_{name}"]
    assert logits.shape == expected.shape
    assert np.abs(logits - expected).max() <= 1e-4


def test_tokens_are_strided_in_time():
    # T=6 frames, Tw=3: token u holds frames u, u+2, u+4.
    x = torch.arange(6.0).reshape(1, 1, 6, 1, 1)
    tokens = tokenize(x, (3, 1, 1))
    assert tokens.shape == (1, 1, 3, 1, 2)
    assert tokens[0, 0, :, 0, 0].tolist() == [0.0, 2.0, 4.0]
    assert tokens[0, 0, :, 0, 1].tolist() == [1.0, 3.0, 5.0]


def test_tokenize_replicates_the_last_frame_joint_and_entity_when_sizes_do_not_divide():
    x = torch.randn(2, 3, 7, 5, 3)
    tokens = tokenize(x, (4, 2, 2))  # pads T 7->8, J 5->6, E 3->4
    assert tokens.shape == (2, 3, 4, 4, 2 * 3 * 2)
    padded = torch.nn.functional.pad(x, (0, 1, 0, 1, 0, 1), mode="replicate")
    assert torch.equal(padded[:, :, 7], padded[:, :, 6])
    assert torch.equal(torch.sort(tokens.flatten())[0], torch.sort(padded.flatten())[0])


def test_token_count_uses_ceiling_division():
    cfg = ModelConfig.from_dict(CASES["padded"])
    assert cfg.grid == (math.ceil(50 / 16), math.ceil(7 / 2), math.ceil(3 / 2))
    assert ISTANet(cfg)(torch.randn(1, 3, 50, 7, 3)).shape == (1, 5)


def test_positional_encoding_depends_on_the_token_index_only():
    pe = PositionalEncoding(channels=8, window_size=(4, 1, 2), num_tokens=5).pe
    assert pe.shape == (1, 8, 4, 2, 5)
    assert torch.equal(pe[:, :, :1, :1].expand_as(pe), pe)  # same for every window position
    u = torch.arange(5.0)
    assert torch.allclose(pe[0, 0, 0, 0], torch.sin(u))
    assert torch.allclose(pe[0, 1, 0, 0], torch.cos(u))
    assert torch.allclose(pe[0, 2, 0, 0], torch.sin(u * 10000 ** (-2 / 8)))


def test_training_step_gives_finite_gradients_everywhere():
    model = ISTANet(ModelConfig.from_dict(CASES["padded"])).train()
    loss = torch.nn.functional.cross_entropy(model(torch.randn(4, 3, 50, 7, 3)), torch.tensor([0, 1, 2, 3]))
    loss.backward()
    for name, param in model.named_parameters():
        assert param.grad is not None and torch.isfinite(param.grad).all(), name


def test_model_config_rejects_unknown_keys_and_bad_windows():
    with pytest.raises(ValueError, match="unknown model configuration keys: num_layers"):
        ModelConfig.from_dict({**CASES["padded"], "num_layers": 3})
    with pytest.raises(ValueError, match="window_size needs 3 values"):
        ModelConfig.from_dict({**CASES["padded"], "window_size": [20, 1]})


def test_official_run_yaml_is_accepted_as_it_is(tmp_path):
    official = tmp_path / "run.yaml"
    official.write_text("seed: 1\nmodel: model.ISTANet.Model\nmodel_args:\n"
                        "  window_size: [20, 5, 2]\n  num_frames: 40\n  num_joints: 15\n  num_persons: 2\n"
                        "  num_channels: 3\n  num_classes: 8\n  num_heads: 3\n  kernel_size: [5, 5]\n"
                        "  use_pes: True\n  config: [[64, 64, 16], [64, 128, 32]]\n  att_drop: 0.1\n  dropout: 0.1\n")
    cfg = load_model_config(official)
    assert cfg.window_size == (20, 5, 2) and cfg.num_tokens == 2 * 3 * 1
