"""G groups in one batched model call against G single calls (issue #12).

    .venv/bin/python benchmarks/groups_batch.py
    .venv/bin/python benchmarks/groups_batch.py --models demo --groups 1,2,4,8 --iters 20
    .venv/bin/python benchmarks/groups_batch.py --models ntu26 --groups 4 --iters 3 --device cuda

Every stride the recognizer node recognises all groups in view in one call of the inference
engine (ista_ros.core.recognition.LiveRecognizer.recognise). This times that call for G
windows against G calls of one window each, as the node would pay without batching, with
the node's engine settings (torch, fp32, ``--threads`` CPU threads: the node's default
cpu_threads is 1; on the GPU the engine's CUDA graphs, padded to 1/2/4/8). The two are
timed in alternation, so a machine shared with other jobs slows both alike. Models: the
shipped demo checkpoint, and the paper's NTU-26 configuration (random weights: the cost
does not depend on them). Prints the machine line and a Markdown table for BENCHMARKS.md;
before timing, checks that the batched logits equal the single ones.
"""
from __future__ import annotations

import argparse
import os
import statistics
import time
from pathlib import Path

import numpy as np
import torch
from model_speed import machine_line  # next to this script

from ista_ros.core.config import load_model_config
from ista_ros.core.engine import InferenceEngine
from ista_ros.core.model import ISTANet

ROOT = Path(__file__).resolve().parents[1]
MODELS = ("demo", "ntu26")


def load_model(name: str) -> ISTANet:
    if name == "demo":
        from ista_ros.core.checkpoint import load_checkpoint
        from ista_ros.demo.ship import SHIPPED_WEIGHTS

        return load_checkpoint(SHIPPED_WEIGHTS).model
    torch.manual_seed(0)
    return ISTANet(load_model_config(ROOT / "config/model/ntu26.yaml"))


def sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def alternate_ms(batched, singles, device: torch.device, iters: int) -> tuple[list[float], list[float]]:
    """Wall times of ``batched()`` and ``singles()``, run in turn ``iters`` times each."""
    times = ([], [])
    for _ in range(iters):
        for fn, out in ((batched, times[0]), (singles, times[1])):
            sync(device)
            start = time.perf_counter()
            fn()
            sync(device)
            out.append((time.perf_counter() - start) * 1e3)
    return times


def benchmark(name: str, groups: list[int], device: str, iters: int) -> None:
    engine = InferenceEngine(load_model(name), device=device)
    engine.warm_up()
    shape = engine.sample_shape
    x = np.random.default_rng(0).standard_normal((max(groups), *shape)).astype(np.float32)
    together, apart = engine.predict(x), np.concatenate([engine.predict(x[i:i + 1]) for i in range(len(x))])
    error = float(np.abs(together - apart).max() / np.abs(apart).max())
    print(f"\nmodel: {name} (input {shape}); batched vs single logits: max relative difference {error:.1e}\n")
    print("| groups G | one call of G (median ms) | G calls of 1 (median ms) | ratio | ms per group batched |")
    print("|---|---|---|---|---|")
    for g in groups:
        batch = x[:g]
        batched, singles = alternate_ms(lambda: engine.predict(batch),
                                        lambda: [engine.predict(batch[i:i + 1]) for i in range(g)],
                                        engine.device, iters)
        one, many = statistics.median(batched), statistics.median(singles)
        print(f"| {g} | {one:.1f} | {many:.1f} | {one / many:.2f} | {one / g:.1f} |", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--models", default="demo,ntu26", help=f"comma list of {', '.join(MODELS)}")
    parser.add_argument("--groups", default="1,2,4,8", help="comma list of group counts (default: %(default)s)")
    parser.add_argument("--ntu26-groups", default="1,4", help="group counts for ntu26 (slow on a CPU)")
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--threads", type=int, default=1, help="torch CPU threads (the node's default: 1)")
    parser.add_argument("--iters", type=int, default=15, help="timed runs of each (ntu26: a fifth, at least 3)")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    print(f"machine: {machine_line(torch.device(args.device))} | load average {os.getloadavg()[0]:.1f}")
    for name in args.models.split(","):
        slow = name == "ntu26"
        groups = [int(g) for g in (args.ntu26_groups if slow else args.groups).split(",")]
        benchmark(name, groups, args.device, max(3, args.iters // 5) if slow else args.iters)


if __name__ == "__main__":
    main()
