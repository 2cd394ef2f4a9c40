"""Deterministic random weights for comparing ISTA-Net implementations.

Both the reference generator (make_official_reference.py, run against the official code)
and the tests fill a state dict with this function, so the committed reference logits can
be reproduced without committing any weights.
"""
import torch


def randomize_state_dict(state_dict: dict, seed: int) -> dict:
    """Every parameter and BatchNorm statistic drawn from a seeded generator, by sorted key.

    Positional-encoding buffers (``pes.pe``) are fixed by the architecture and kept.
    """
    gen = torch.Generator().manual_seed(seed)
    out = {}
    for key in sorted(state_dict):
        value = state_dict[key]
        if key.endswith("pes.pe") or key.endswith("num_batches_tracked"):
            out[key] = value.clone()
        elif key.endswith("running_var"):
            out[key] = 0.5 + torch.rand(value.shape, generator=gen)
        elif value.dim() > 1 and not key.endswith(".M"):
            fan_in = value[0].numel()
            out[key] = torch.randn(value.shape, generator=gen) / fan_in**0.5
        else:  # biases, BatchNorm affine and statistics, alpha, attention bias M
            out[key] = 0.3 * torch.randn(value.shape, generator=gen) + (1.0 if key.endswith("alpha") else 0.0)
    return out
