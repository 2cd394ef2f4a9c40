"""The inference engine on the CPU (CI has no GPU; the CUDA paths run in benchmarks/)."""
import numpy as np
import pytest
import torch

from ista_ros.core.engine import InferenceEngine, InputError
from ista_ros.core.model import ISTANet, ModelConfig
from ista_ros.errors import ConfigError
from reference.make_official_reference import CASES
from reference.randomize import randomize_state_dict


@pytest.fixture(scope="module")
def model():
    model = ISTANet(ModelConfig.from_dict(CASES["padded"])).eval()
    model.load_state_dict(randomize_state_dict(model.state_dict(), 4))
    return model


def test_batched_prediction_equals_one_forward_pass(model):
    x = np.random.default_rng(1).standard_normal((7, 3, 50, 7, 3)).astype(np.float32)
    engine = InferenceEngine(model, device="cpu")
    with torch.no_grad():
        expected = model(torch.from_numpy(x)).numpy()
    np.testing.assert_allclose(engine.predict(x, batch_size=3), expected, atol=1e-5)
    assert engine.predict(x[:0]).shape == (0, 5)


def test_bf16_on_cpu_stays_close_to_fp32(model):
    x = np.random.default_rng(2).standard_normal((4, 3, 50, 7, 3)).astype(np.float32)
    fp32 = InferenceEngine(model, device="cpu").predict(x)
    bf16 = InferenceEngine(model, device="cpu", precision="bf16").predict(x)
    assert np.abs(bf16 - fp32).max() <= 0.05 * np.abs(fp32).max()


def test_auto_device_falls_back_to_cpu_with_one_log_line(model, caplog, monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    with caplog.at_level("INFO", logger="ista_ros.device"):
        engine = InferenceEngine(model, device="auto")
    assert engine.device.type == "cpu"
    assert [r.message for r in caplog.records] == ["CUDA is not available: running ISTA-Net on the CPU."]


def test_unusable_requests_are_refused_clearly(model, monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    with pytest.raises(ConfigError, match="CUDA is not available"):
        InferenceEngine(model, device="cuda")
    with pytest.raises(InputError, match="precision 'int4' is unknown"):
        InferenceEngine(model, device="cpu", precision="int4")
    assert InferenceEngine(model, device="cpu", precision="fp16").precision == "fp32"
    engine = InferenceEngine(model, device="cpu")
    with pytest.raises(InputError, match=r"\(N, 3, 50, 7, 3\)"):
        engine.predict(np.zeros((1, 3, 50, 7, 2), np.float32))
    with pytest.raises(InputError, match="NaN"):
        engine.predict(np.full((1, 3, 50, 7, 3), np.inf, np.float32))
