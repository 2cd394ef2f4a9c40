"""Losses of the official recipes."""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn


class LabelSmoothingCrossEntropy(nn.Module):
    """Cross-entropy of softmax(logits / temperature) against (1 - s) one-hot + s uniform."""

    def __init__(self, smoothing: float = 0.1, temperature: float = 1.0):
        super().__init__()
        self.smoothing = smoothing
        self.temperature = temperature

    def forward(self, logits: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        log_probs = F.log_softmax(logits / self.temperature, dim=-1)
        nll = -log_probs.gather(-1, target.unsqueeze(-1)).squeeze(-1)
        uniform = -log_probs.mean(dim=-1)
        return ((1.0 - self.smoothing) * nll + self.smoothing * uniform).mean()


def make_loss(name: str, args: dict) -> nn.Module:
    if name == "LabelSmoothingCrossEntropy":
        return LabelSmoothingCrossEntropy(float(args.get("smoothing", 0.1)), float(args.get("temperature", 1.0)))
    return nn.CrossEntropyLoss()
