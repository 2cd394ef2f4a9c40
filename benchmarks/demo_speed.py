"""Speed of the demo model on live-like windows: the recognizer's per-window work
(``window.model_input`` + ``InferenceEngine.predict``, batch 1) on windows cut from a
generated stream, on the CPU.

    .venv/bin/python benchmarks/demo_speed.py [--weights ista_ros/demo/model/demo_small.pt] [--threads 2]

Wall-clock time depends on what else runs on the machine, so the table also gives the
CPU time per window (all threads of this process): 1 / CPU time is a lower bound of the
windows per second that the given number of free cores sustains (it assumes no speed-up
from the second thread). The load average is printed with the machine line.
"""
from __future__ import annotations

import argparse
import os
import platform
import statistics
import time
from datetime import date

import numpy as np
import torch

from ista_ros.core.checkpoint import load_checkpoint
from ista_ros.core.engine import InferenceEngine
from ista_ros.core.window import model_input
from ista_ros.demo.ship import SHIPPED_WEIGHTS
from ista_ros.synthetic import interactions


def live_windows(count: int, frames: int, seed: int = 0) -> list[np.ndarray]:
    """(C, frames, J, E) windows ending at evenly spaced frames of a generated stream."""
    sequence, _ = interactions.generate_stream(list(range(len(interactions.CLASS_NAMES))), np.random.default_rng(seed))
    ends = np.linspace(frames, sequence.shape[1], count).astype(int)
    return [sequence[:, end - frames:end] for end in ends]


def measure(engine: InferenceEngine, windows, preprocessing) -> tuple[list[float], list[float]]:
    """Wall and CPU milliseconds per window."""
    wall, cpu = [], []
    for window in windows:
        w0, c0 = time.perf_counter(), time.process_time()
        engine.predict(model_input(window, preprocessing)[None])
        wall.append((time.perf_counter() - w0) * 1e3)
        cpu.append((time.process_time() - c0) * 1e3)
    return wall, cpu


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--weights", default=str(SHIPPED_WEIGHTS))
    parser.add_argument("--threads", type=int, default=2, help="torch CPU threads (default: %(default)s)")
    parser.add_argument("--windows", type=int, default=60, help="timed windows per variant (default: %(default)s)")
    parser.add_argument("--window-seconds", type=float, default=2.5, help="live window length (default: %(default)s)")
    args = parser.parse_args()

    torch.set_num_threads(args.threads)
    loaded = load_checkpoint(args.weights)
    windows = live_windows(args.windows, int(args.window_seconds * interactions.FPS))
    print(f"machine: {date.today()} | {platform.processor() or 'cpu'} | {args.threads} torch threads | "
          f"load average {os.getloadavg()[0]:.1f} | torch {torch.__version__}")
    print(f"model: {args.weights}: {sum(p.numel() for p in loaded.model.parameters()) / 1e6:.2f} M parameters, "
          f"input {loaded.config.input_shape}, "
          f"windows of {args.window_seconds} s\n")
    print("| precision | wall ms p50 | wall ms p90 | windows/s (wall p50) | CPU ms/window p50 "
          "| windows/s lower bound (1/CPU) |")
    print("|---|---|---|---|---|---|")
    for precision in ("fp32", "bf16"):
        engine = InferenceEngine(loaded.model, device="cpu", precision=precision)
        engine.warm_up()
        measure(engine, windows[:5], loaded.meta.preprocessing)
        wall, cpu = measure(engine, windows, loaded.meta.preprocessing)
        p50, p90, c50 = statistics.median(wall), float(np.percentile(wall, 90)), statistics.median(cpu)
        print(f"| {precision} | {p50:.1f} | {p90:.1f} | {1e3 / p50:.1f} | {c50:.1f} | {1e3 / c50:.1f} |")


if __name__ == "__main__":
    main()
