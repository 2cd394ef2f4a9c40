"""A training run's bookkeeping, kept out of the loop: metrics.csv, TensorBoard scalars,
the console lines, the provenance stored in each checkpoint and the summaries."""
from __future__ import annotations

import csv
import datetime
import json
import subprocess
from pathlib import Path

import numpy as np

from ista_train.recipe import Recipe

CSV_FIELDS = ["epoch", "lr", "train_loss", "train_top1", "test_loss", "test_top1", "test_top5",
              "test_mean_class", "seconds"]


class RunLog:
    """metrics.csv, TensorBoard scalars and one console line per epoch (main process only)."""

    def __init__(self, work_dir: Path, start_epoch: int):
        self.csv_path = work_dir / "metrics.csv"
        rows = []
        if self.csv_path.exists():  # resuming: keep the epochs before the restart
            with open(self.csv_path) as f:
                rows = [r for r in csv.DictReader(f) if int(r["epoch"]) <= start_epoch]
        with open(self.csv_path, "w", newline="") as f:
            writer = csv.DictWriter(f, CSV_FIELDS)
            writer.writeheader()
            writer.writerows(rows)
        self.tb = None
        try:
            from torch.utils.tensorboard import SummaryWriter

            self.tb = SummaryWriter(str(work_dir / "tensorboard"), purge_step=start_epoch + 1)
        except ImportError:
            print("tensorboard is not installed: writing metrics.csv only (pip install tensorboard).")

    def write(self, row: dict) -> None:
        with open(self.csv_path, "a", newline="") as f:
            csv.DictWriter(f, CSV_FIELDS).writerow({k: row.get(k, "") for k in CSV_FIELDS})
        if self.tb:
            for key, value in row.items():
                if key != "epoch" and value not in ("", None):
                    self.tb.add_scalar(key.replace("_", "/", 1), value, row["epoch"])
            self.tb.flush()
        print(format_row(row))

    def close(self, summary: dict) -> None:
        if self.tb:
            self.tb.close()
        print_summary(summary)


def format_row(row: dict) -> str:
    parts = [f"epoch {row['epoch']}", f"lr {row['lr']:.2e}", f"loss {row['train_loss']:.4f}",
             f"train {row['train_top1']:.2f}%"]
    if "test_top1" in row:
        parts += [f"test top1 {row['test_top1']:.2f}%", f"top5 {row['test_top5']:.2f}%"]
    parts.append(f"{row['seconds']:.1f}s")
    return " | ".join(parts)


def print_summary(summary: dict) -> None:
    best, last = summary["best"], summary["last"]
    print(f"done in {summary['minutes']:.1f} min: work dir {summary['work_dir']}")
    if best.get("epoch", -1) > 0:
        print(f"  best  top1 {best['top1']:.2f}% top5 {best['top5']:.2f}% mean-class {best['mean_class']:.2f}% "
              f"(epoch {best['epoch']}) -> best.pt")
    if last:
        print(f"  last  top1 {last['top1']:.2f}% (epoch {last['epoch']}) -> last.pt")


def fold_summary(results: dict) -> dict:
    """SBU: every fold's summary and the mean of their best top-1."""
    return {"folds": results, "mean_best_top1": float(np.mean([r["best"]["top1"] for r in results.values()]))}


def write_fold_summary(summary: dict, work_dir: Path) -> None:
    best = [r["best"]["top1"] for r in summary["folds"].values()]
    print(f"{len(best)} folds: best top1 " + ", ".join(f"{b:.2f}%" for b in best) +
          f"; mean {summary['mean_best_top1']:.2f}%")
    (work_dir / "folds.json").write_text(json.dumps(summary, indent=2))


def provenance(recipe: Recipe, epoch: int, metrics: dict) -> dict:
    """What a checkpoint records about the run that made it."""
    return {"recipe": recipe.source, "recipe_values": recipe.to_dict(), "git_commit": git_commit(),
            "date": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
            "epoch": epoch + 1, "metrics": metrics}


def git_commit() -> str:
    try:
        out = subprocess.run(["git", "rev-parse", "HEAD"], cwd=Path(__file__).parent, capture_output=True,
                             text=True, timeout=5)
        return out.stdout.strip() or "unknown"
    except (OSError, subprocess.SubprocessError):
        return "unknown"
