"""What the recognizer's ``confidence_threshold`` costs and buys, on labelled windows.

For each threshold, the node's answer on every window (calibrated probabilities, as
``LiveRecognizer`` computes them: softmax(logits / meta.temperature); the top class, or "no
interaction" when it is the checkpoint's ``none`` class or below the threshold): accuracy on
the windows showing an interaction (an interaction answered "no interaction" counts as
missed), the share of those missed, and the false-interaction rate on the windows without
one (label ``none``, when the data have it).

    .venv/bin/python benchmarks/confidence_threshold.py [--weights W] [--val data/interactions/val.npz]
"""
from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

from ista_ros.core.checkpoint import load_checkpoint
from ista_ros.core.recognition import NONE_CLASS
from ista_ros.demo.ship import SHIPPED_WEIGHTS, VALIDATION, validation_logits
from ista_train.calibration import softmax

THRESHOLDS = (0.0, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9)


def calibrated(weights: Path, val: Path) -> tuple[np.ndarray, np.ndarray, list[str]]:
    """(N, K) calibrated probabilities, (N,) labels and the class names."""
    loaded = load_checkpoint(weights)
    logits, labels = validation_logits(loaded, val)
    return softmax(logits, loaded.meta.temperature), labels, loaded.meta.class_names


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--weights", type=Path, default=SHIPPED_WEIGHTS)
    parser.add_argument("--val", type=Path, default=VALIDATION)
    args = parser.parse_args()
    p, labels, names = calibrated(args.weights, args.val)
    none = names.index(NONE_CLASS) if NONE_CLASS in names else -1
    top, confidence = p.argmax(axis=1), p.max(axis=1)
    interaction = labels != none
    print(f"# {args.weights.name} on {args.val}: {interaction.sum()} windows with an interaction, "
          f"{(~interaction).sum()} without")
    print("| confidence_threshold | accuracy on interactions | interactions answered none | false interactions |")
    print("|---|---|---|---|")
    for threshold in THRESHOLDS:
        answered = (top != none) & (confidence >= threshold)
        right = answered & (top == labels)
        false = f"{100 * answered[~interaction].mean():.1f} %" if (~interaction).any() else "-"
        print(f"| {threshold:.1f} | {100 * right[interaction].mean():.1f} % | "
              f"{100 * (~answered[interaction]).mean():.1f} % | {false} |")


if __name__ == "__main__":
    main()
