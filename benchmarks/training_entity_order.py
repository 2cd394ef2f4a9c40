"""Is ISTA-Net invariant to the order of the entities? (Entity rearrangement, an official
training augmentation, can only matter if it is not.)

For each official model configuration: random weights (BatchNorm statistics warmed up on
the inputs, eval mode), a batch of random smooth inputs x and the same batch with the
entity axis reversed; prints the largest logit difference relative to the logits' spread
and how often the predicted class changes.

    python benchmarks/training_entity_order.py
"""
from __future__ import annotations

import argparse
from pathlib import Path

import torch

from ista_ros.core.model import ISTANet
from ista_train.recipe import load_recipe

REPO = Path(__file__).resolve().parents[1]
RUNS = ["ntu26_xsub", "sbu_clean", "sbu_noisy", "h2o", "asb_verb"]


def measure(run: str, batch: int, seed: int) -> dict:
    cfg = load_recipe(REPO / "config" / "train" / f"{run}.yaml").model_args
    torch.manual_seed(seed)
    model = ISTANet(cfg)
    shape = (batch, *cfg.input_shape)
    x = torch.cumsum(torch.randn(shape) * 0.1, dim=2) + torch.randn(batch, cfg.num_channels, 1, 1, cfg.num_persons)
    with torch.no_grad():
        model.train()
        for _ in range(3):  # BatchNorm running statistics of this input distribution
            model(x)
        model.eval()
        a, b = model(x), model(x.flip(-1))
    spread = (a.max(1).values - a.min(1).values).mean()
    return {"run": run, "window": cfg.window_size, "E": cfg.num_persons,
            "max_rel": float((a - b).abs().max() / spread),
            "changed": float((a.argmax(1) != b.argmax(1)).float().mean())}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--batch", type=int, default=8)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    torch.set_num_threads(max(1, torch.get_num_threads()))
    print("| run | window (Tw, Jw, Ew) | E | max logit change / logit spread | predictions changed |")
    print("|---|---|---|---|---|")
    for run in RUNS:
        r = measure(run, args.batch, args.seed)
        print(f"| {r['run']} | {tuple(r['window'])} | {r['E']} | {r['max_rel']:.1e} | {100 * r['changed']:.0f} % |")


if __name__ == "__main__":
    main()
