"""Device resolution: what --device asks for, or one sentence saying why not."""
from __future__ import annotations

import pytest
import torch

from ista_ros.core.device import resolve_device
from ista_ros.errors import ConfigError


@pytest.fixture
def gpus(monkeypatch):
    def machine(count: int):
        monkeypatch.setattr(torch.cuda, "is_available", lambda: count > 0)
        monkeypatch.setattr(torch.cuda, "device_count", lambda: count)
    return machine


def test_auto_takes_cuda_when_there_and_the_cpu_otherwise(gpus):
    gpus(0)
    assert resolve_device("auto") == torch.device("cpu")
    assert resolve_device("cpu") == torch.device("cpu")
    gpus(2)
    assert resolve_device("auto") == torch.device("cuda", 0)
    assert resolve_device("auto", cuda_index=1) == torch.device("cuda", 1)  # torchrun's LOCAL_RANK
    assert resolve_device("cuda:1") == torch.device("cuda", 1)
    assert resolve_device("cpu", cuda_index=1) == torch.device("cpu")


@pytest.mark.parametrize("count, device, message", [
    (0, "cuda", "device 'cuda' was asked for but CUDA is not available here; use cpu or auto."),
    (0, "cuda:0", "CUDA is not available here"),
    (1, "cuda:3", "device cuda:3 was asked for but this machine has 1 CUDA device(s); use cuda:0 to cuda:0."),
    (1, "gpu", "device 'gpu' is unknown; use auto, cpu, cuda or cuda:N."),
    (1, "cuda:x", "is unknown"),
])
def test_impossible_requests_are_one_sentence(gpus, count, device, message):
    gpus(count)
    with pytest.raises(ConfigError) as refused:
        resolve_device(device)
    assert message in str(refused.value)
