"""Prediction over a dataset (sharded across processes under torchrun) and the metrics
of a classification: top-1, top-5, mean per-class accuracy, confusion matrix, and the
expected calibration error before and after the checkpoint's temperature
(ista_train.calibration)."""
from __future__ import annotations

import numpy as np
import torch
import torch.distributed as dist
from torch.utils.data import DataLoader, Subset
from tqdm import tqdm


@torch.no_grad()
def predict(model: torch.nn.Module, dataset, batch_size: int, device: torch.device, amp: str | None = None,
            num_workers: int = 0, progress: bool = True) -> np.ndarray:
    """(N, classes) float32 logits in the dataset's order. Under torch.distributed each
    process predicts a contiguous share and the shares are gathered on every process."""
    rank, world = (dist.get_rank(), dist.get_world_size()) if dist.is_initialized() else (0, 1)
    bounds = np.linspace(0, len(dataset), world + 1).astype(int)
    share = Subset(dataset, range(bounds[rank], bounds[rank + 1]))
    loader = DataLoader(share, batch_size=batch_size, shuffle=False, num_workers=num_workers)
    model.eval()
    outputs = []
    for x, _, _ in tqdm(loader, desc="eval", leave=False, disable=not progress or rank != 0):
        with torch.autocast(device.type, dtype=torch.bfloat16, enabled=amp == "bf16"):
            outputs.append(model(x.to(device, non_blocking=True)).float().cpu())
    logits = torch.cat(outputs).numpy() if outputs else np.zeros((0, 0), np.float32)
    if world > 1:
        shares = [None] * world
        dist.all_gather_object(shares, logits)
        logits = np.concatenate([s for s in shares if len(s)])
    return logits.astype(np.float32)


def confusion_matrix(predicted: np.ndarray, labels: np.ndarray, num_classes: int) -> np.ndarray:
    """(true, predicted) counts."""
    return np.bincount(labels * num_classes + predicted, minlength=num_classes ** 2).reshape(num_classes, -1)


def classification_metrics(logits: np.ndarray, labels: np.ndarray) -> dict:
    """Accuracies in percent; mean per-class over the classes present in labels."""
    num_classes = logits.shape[1]
    k = min(5, num_classes)
    top_k = np.argsort(-logits, axis=1)[:, :k]
    hits = top_k == labels[:, None]
    cm = confusion_matrix(top_k[:, 0], labels, num_classes)
    present = cm.sum(axis=1) > 0
    per_class = np.diag(cm)[present] / cm.sum(axis=1)[present]
    return {"top1": float(100 * hits[:, 0].mean()), "top5": float(100 * hits.any(axis=1).mean()),
            "mean_class": float(100 * per_class.mean()), "samples": int(len(labels))}


def plot_confusion(cm: np.ndarray, class_names: list[str], path, title: str = "") -> None:
    """Row-normalised confusion matrix as a PNG."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    k = len(class_names)
    norm = cm / np.maximum(cm.sum(axis=1, keepdims=True), 1)
    size = min(4 + 0.3 * k, 40)
    fig, ax = plt.subplots(figsize=(size, size))
    ax.imshow(norm, cmap="Blues", vmin=0, vmax=1)
    if k <= 60:
        ax.set_xticks(range(k), class_names, rotation=90, fontsize=7)
        ax.set_yticks(range(k), class_names, fontsize=7)
    ax.set_xlabel("predicted")
    ax.set_ylabel("true")
    ax.set_title(title)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


def checkpoint_and_test_set(recipe, weights, data=None):
    """(recipe, loaded checkpoint, test dataset) of ``eval`` and ``calibrate``. A checkpoint
    of the project's format states its model configuration and classes, and they win over
    the recipe's: a fine-tuned one has its data's classes, not its recipe's model_config's.
    An official state dict takes the recipe's. A test set that names its classes must name
    the checkpoint's (ista_ros.errors.UserError otherwise)."""
    from dataclasses import replace

    from ista_ros.core.checkpoint import load_checkpoint
    from ista_train.calibration import is_own_format
    from ista_train.data import build_dataset

    if is_own_format(weights):
        loaded = load_checkpoint(weights)
        differ = [f"{key} {ours!r} (recipe: {theirs!r})" for key, ours in vars(loaded.config).items()
                  if (theirs := getattr(recipe.model_args, key, ours)) != ours]
        if differ:  # never silently: a recipe's model_args (or an override of them) is not what runs
            print(f"{weights}: its own model configuration is used: {', '.join(differ)}")
        recipe = replace(recipe, model_args=loaded.config, class_names=None)  # names: checked below
    else:
        loaded = load_checkpoint(weights, model_config=recipe.model_args)
    dataset = build_dataset(recipe, train=False, data_path=data)
    check_same_classes(dataset.split.class_names, loaded.meta.class_names, weights,
                       data or recipe.test_feeder_args.get("data_path"))
    return recipe, loaded, dataset


def check_same_classes(data_names, checkpoint_names, weights, data) -> None:
    """Data and checkpoint must name the same classes in the same order, where both name them."""
    from ista_ros.core.checkpoint import placeholder_class_names
    from ista_train.data import DatasetError

    if data_names is None or checkpoint_names == placeholder_class_names(len(checkpoint_names)):
        return
    if list(data_names) != list(checkpoint_names):
        raise DatasetError(f"{data} names its classes {', '.join(data_names)} but {weights} was trained on "
                           f"{', '.join(checkpoint_names)}: give data of its classes, in that order.")


def evaluate_checkpoint(recipe, weights, data=None, save_scores=None, out=None, batch_size=None,
                        device="auto", amp=None, workers=0, progress=True) -> dict:
    """`ista-train eval`: metrics, confusion-matrix PNG and (optionally) the logits."""
    import json
    from pathlib import Path

    from ista_ros.core.device import resolve_device
    from ista_train.calibration import calibration_report, describe

    recipe, loaded, dataset = checkpoint_and_test_set(recipe, weights, data)
    dev = resolve_device(device)
    logits = predict(loaded.model.to(dev), dataset, batch_size or recipe.test_batch_size, dev, amp, workers,
                     progress)
    if save_scores:
        Path(save_scores).parent.mkdir(parents=True, exist_ok=True)
        np.save(save_scores, logits)
        print(f"scores {logits.shape} -> {save_scores}")
    if dataset.labels is None:
        print(f"{len(logits)} unlabelled samples (a test split without labels): no accuracy to report.")
        return {"samples": len(logits)}
    metrics = classification_metrics(logits, dataset.labels)
    stored = loaded.meta.temperature if loaded.meta.temperature != 1.0 else None  # 1.0: not calibrated
    calibration = calibration_report(logits, dataset.labels, stored)
    metrics.update({k: calibration[k] for k in ("ece_before", "ece_after", "temperature")})
    out_dir = Path(out) if out else Path(weights).parent
    out_dir.mkdir(parents=True, exist_ok=True)
    names = loaded.meta.class_names if len(loaded.meta.class_names) == logits.shape[1] else \
        [str(i) for i in range(logits.shape[1])]
    stem = Path(weights).stem
    plot_confusion(confusion_matrix(logits.argmax(1), dataset.labels, logits.shape[1]), names,
                   out_dir / f"{stem}_confusion.png", f"{stem}: top-1 {metrics['top1']:.2f}%")
    (out_dir / f"{stem}_metrics.json").write_text(json.dumps(metrics, indent=2))
    print(f"{metrics['samples']} samples: top-1 {metrics['top1']:.2f}%, top-5 {metrics['top5']:.2f}%, "
          f"mean per-class {metrics['mean_class']:.2f}%  (confusion matrix: {out_dir / f'{stem}_confusion.png'})")
    print(describe(calibration) + ("" if stored else "; not calibrated: ista-train calibrate stores one"))
    return metrics
