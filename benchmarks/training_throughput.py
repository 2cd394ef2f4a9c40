"""Training throughput of the official model configurations: one optimiser step
(forward, label-smoothing loss, backward, SGD) per batch, samples per second.

    python benchmarks/training_throughput.py [--device cuda] [--amp bf16] [--batch 32]
"""
from __future__ import annotations

import argparse
import time
from pathlib import Path

import torch

from ista_ros.core.model import ISTANet
from ista_train.losses import LabelSmoothingCrossEntropy
from ista_train.recipe import load_recipe

REPO = Path(__file__).resolve().parents[1]
RUNS = ["demo_interactions", "sbu_clean", "ntu26_xsub", "h2o"]


def throughput(run: str, batch: int, device: torch.device, amp: bool, steps: int) -> float:
    cfg = load_recipe(REPO / "config" / "train" / f"{run}.yaml").model_args
    model = ISTANet(cfg).to(device).train()
    optimizer = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9, nesterov=True)
    loss_fn = LabelSmoothingCrossEntropy(0.1)
    x = torch.randn(batch, *cfg.input_shape, device=device)
    y = torch.randint(0, cfg.num_classes, (batch,), device=device)

    def step():
        with torch.autocast(device.type, dtype=torch.bfloat16, enabled=amp):
            loss = loss_fn(model(x).float(), y)
        loss.backward()
        optimizer.step()
        optimizer.zero_grad(set_to_none=True)

    step()  # warm-up
    if device.type == "cuda":
        torch.cuda.synchronize()
    start = time.perf_counter()
    for _ in range(steps):
        step()
    if device.type == "cuda":
        torch.cuda.synchronize()
    return batch * steps / (time.perf_counter() - start)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    parser.add_argument("--amp", choices=["bf16"], default=None)
    parser.add_argument("--batch", type=int, default=8)
    parser.add_argument("--steps", type=int, default=3)
    parser.add_argument("--runs", nargs="+", default=RUNS)
    parser.add_argument("--threads", type=int, default=None, help="CPU threads (default: torch's)")
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    device = torch.device(args.device)
    print(f"device {device}, batch {args.batch}, {'bf16 autocast' if args.amp else 'fp32'}, "
          f"{torch.get_num_threads()} CPU threads")
    print("| recipe | samples/s (train step) |")
    print("|---|---|")
    for run in args.runs:
        print(f"| {run} | {throughput(run, args.batch, device, args.amp == 'bf16', args.steps):.1f} |")


if __name__ == "__main__":
    main()
