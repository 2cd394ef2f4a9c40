"""Ship a trained demo checkpoint as ista_ros/demo/model/demo_small.pt, with the commands
that reproduce it in its provenance (next to what the trainer records: recipe, metrics,
git commit, date; the axes come from config/model/demo_small.yaml through the recipe).

    python -m ista_ros.demo.ship runs/demo_interactions/best.pt
"""
from __future__ import annotations

import argparse
from pathlib import Path

from ista_ros.core.checkpoint import load_checkpoint, save_checkpoint

SHIPPED_WEIGHTS = Path(__file__).resolve().parent / "model" / "demo_small.pt"
REPRODUCE = {
    "prepare_command": "ista-train prepare interactions --out data/interactions --train-per-class 150 "
                       "--val-per-class 30 --windows 60 90 --seed 0",
    "train_command": "ista-train train --config config/train/demo_interactions.yaml --device cpu --amp bf16",
    "ship_command": "python -m ista_ros.demo.ship runs/demo_interactions/best.pt",
    "dataset": "live-like windows (60-90 frames) of generated two-person interactions "
               "(ista_ros.synthetic.interactions.generate_windows), 150 train / 30 val per class; metrics are on val",
}


def ship(source: Path, target: Path = SHIPPED_WEIGHTS) -> dict:
    """Copy the checkpoint with the reproducing commands added; its provenance."""
    loaded = load_checkpoint(source)
    loaded.meta.provenance.update(REPRODUCE)
    save_checkpoint(target, loaded.model, loaded.meta)
    return loaded.meta.provenance


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("checkpoint", type=Path, help="best.pt of the demo_interactions run")
    parser.add_argument("--out", type=Path, default=SHIPPED_WEIGHTS)
    args = parser.parse_args(argv)
    provenance = ship(args.checkpoint, args.out)
    metrics = provenance.get("metrics", {})
    print(f"{args.out}: {args.out.stat().st_size / 1e6:.2f} MB, val top1 {metrics.get('top1', float('nan')):.2f}% "
          f"(epoch {provenance.get('epoch')})")


if __name__ == "__main__":
    main()
