"""The torch device a command or node asked for (``--device auto|cpu|cuda|cuda:N``)."""
from __future__ import annotations

import logging

import torch

from ista_ros.errors import ConfigError

log = logging.getLogger("ista_ros.device")


def resolve_device(device: str = "auto", cuda_index: int | None = None) -> torch.device:
    """``auto``: CUDA when available, else the CPU. A CUDA device that is not there is a
    ConfigError sentence, never a torch traceback at the first tensor moved.
    ``cuda_index`` picks the GPU for a plain ``cuda``/``auto`` (torchrun's LOCAL_RANK)."""
    device = str(device).strip().lower()
    if device == "auto":
        if not torch.cuda.is_available():
            log.info("CUDA is not available: running ISTA-Net on the CPU.")

            return torch.device("cpu")
        device = "cuda"
    if device == "cpu":
        return torch.device("cpu")
    if device != "cuda" and not (device.startswith("cuda:") and device[5:].isdigit()):
        raise ConfigError(f"device '{device}' is unknown; use auto, cpu, cuda or cuda:N.")
    if not torch.cuda.is_available():
        raise ConfigError(f"device '{device}' was asked for but CUDA is not available here; use cpu or auto.")
    index, count = int(device[5:]) if ":" in device else (cuda_index or 0), torch.cuda.device_count()
    if index >= count:
        raise ConfigError(f"device cuda:{index} was asked for but this machine has {count} CUDA device(s); "
                          f"use cuda:0 to cuda:{count - 1}.")
    return torch.device("cuda", index)
