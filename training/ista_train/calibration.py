"""Calibrated confidence: one temperature T per checkpoint, probabilities softmax(logits / T).

A network trained with cross-entropy is usually over-confident on inputs unlike its training
data; dividing its logits by one number fitted on held-out data (temperature scaling, Guo et
al. 2017) keeps every prediction (the arg-max does not move) and makes the top probability
mean what it says. T is fitted by minimising the negative log-likelihood of the validation
set; the negative log-likelihood is convex in 1/T, so a golden-section search on log T
finds its minimum. The expected calibration error (ECE) measures the gap that is left: the
windows are put in 15 equal-width bins of their top probability, and the bins' |accuracy -
mean confidence| are averaged, weighted by their share of the windows.

``ista-train train`` fits T on the validation set of best.pt at the end of a run;
``ista-train calibrate`` does it for any checkpoint of the project's format (rewritten in
place, atomically); ``ista-train eval`` reports the ECE before and after. The checkpoint
stores T as ``meta.temperature`` (1.0: not calibrated).
"""
from __future__ import annotations

import argparse
import math

import numpy as np

ECE_BINS = 15
LOG_T_RANGE = (math.log(0.05), math.log(20.0))  # temperatures searched
GOLDEN = (math.sqrt(5) - 1) / 2


def softmax(logits: np.ndarray, temperature: float = 1.0) -> np.ndarray:
    """(N, classes) probabilities of softmax(logits / temperature)."""
    z = np.asarray(logits, np.float64) / temperature
    z = z - z.max(axis=1, keepdims=True)
    e = np.exp(z)
    return e / e.sum(axis=1, keepdims=True)


def negative_log_likelihood(logits: np.ndarray, labels: np.ndarray, temperature: float = 1.0) -> float:
    """Mean -log p(true class) under softmax(logits / temperature)."""
    z = np.asarray(logits, np.float64) / temperature
    top = z.max(axis=1)
    log_norm = top + np.log(np.exp(z - top[:, None]).sum(axis=1))
    return float(np.mean(log_norm - z[np.arange(len(labels)), labels]))


def fit_temperature(logits: np.ndarray, labels: np.ndarray, iterations: int = 60) -> float:
    """The temperature (0.05-20) that minimises the negative log-likelihood of the labels."""
    if len(labels) == 0:
        raise ValueError("no samples to fit a temperature on.")
    loss = lambda log_t: negative_log_likelihood(logits, labels, math.exp(log_t))  # noqa: E731
    lo, hi = LOG_T_RANGE
    a, b = hi - GOLDEN * (hi - lo), lo + GOLDEN * (hi - lo)
    fa, fb = loss(a), loss(b)
    for _ in range(iterations):  # the bracket shrinks by 0.618 a step: 60 steps reach 1e-12
        if fa < fb:
            hi, b, fb = b, a, fa
            a = hi - GOLDEN * (hi - lo)
            fa = loss(a)
        else:
            lo, a, fa = a, b, fb
            b = lo + GOLDEN * (hi - lo)
            fb = loss(b)
    return math.exp((lo + hi) / 2)


def expected_calibration_error(logits: np.ndarray, labels: np.ndarray, temperature: float = 1.0,
                               bins: int = ECE_BINS) -> float:
    """ECE in [0, 1] of softmax(logits / temperature): the mean |accuracy - confidence| over
    equal-width bins of the top probability, weighted by the bins' sizes."""
    probabilities = softmax(logits, temperature)
    confidence = probabilities.max(axis=1)
    correct = probabilities.argmax(axis=1) == labels
    which = np.clip(np.ceil(confidence * bins).astype(int) - 1, 0, bins - 1)  # (k/bins, (k+1)/bins]
    gap = 0.0
    for k in np.unique(which):
        members = which == k
        gap += members.sum() * abs(correct[members].mean() - confidence[members].mean())
    return float(gap / max(len(labels), 1))


def calibration_report(logits: np.ndarray, labels: np.ndarray, temperature: float | None = None) -> dict:
    """ECE (percent) and NLL before (T = 1) and after calibration with ``temperature``
    (None: fitted on these logits)."""
    fitted = temperature is None
    temperature = fit_temperature(logits, labels) if fitted else float(temperature)
    return {"temperature": temperature, "fitted_here": fitted,
            "ece_before": 100 * expected_calibration_error(logits, labels),
            "ece_after": 100 * expected_calibration_error(logits, labels, temperature),
            "nll_before": negative_log_likelihood(logits, labels),
            "nll_after": negative_log_likelihood(logits, labels, temperature)}


def describe(report: dict) -> str:
    """One line for a person, e.g. ``ECE 9.1% -> 2.0% with temperature 1.52``."""
    source = " (fitted on these samples)" if report["fitted_here"] else " (the checkpoint's)"
    return (f"calibration: ECE {report['ece_before']:.1f}% -> {report['ece_after']:.1f}% with temperature "
            f"{report['temperature']:.3f}{source}; NLL {report['nll_before']:.3f} -> {report['nll_after']:.3f}")


def calibrate_checkpoint(path, dataset, batch_size: int, device, amp=None, workers: int = 0, progress: bool = True,
                         write: bool = True, model_config=None) -> dict:
    """Fit the temperature of the checkpoint at ``path`` on a labelled ``dataset`` and
    store it in the checkpoint (rewritten atomically when ``write``). Under
    torch.distributed every process must call it (the prediction is shared out); only
    the one with ``write`` writes."""
    import torch.distributed as dist

    from ista_ros.core.checkpoint import load_checkpoint, save_checkpoint
    from ista_train.eval import predict

    if dist.is_initialized():
        dist.barrier()  # the main process has written the checkpoint
    loaded = load_checkpoint(path, model_config=model_config)
    logits = predict(loaded.model.to(device), dataset, batch_size, device, amp, workers, progress)
    report = calibration_report(logits, dataset.labels)
    if write:
        loaded.meta.temperature = report["temperature"]
        save_checkpoint(path, loaded.model.cpu(), loaded.meta)
    return report


def is_own_format(path) -> bool:
    """Whether the file is a checkpoint of the project's format (not an official state dict)."""
    import torch

    from ista_ros.core.checkpoint import FORMAT, CheckpointError

    try:
        payload = torch.load(path, map_location="cpu", weights_only=True)
    except (OSError, RuntimeError) as error:
        raise CheckpointError(f"cannot read checkpoint {path} ({type(error).__name__}).") from None
    return isinstance(payload, dict) and payload.get("format") == FORMAT


def run_calibrate(args: argparse.Namespace) -> dict:
    from ista_ros.core.checkpoint import CheckpointError
    from ista_ros.core.device import resolve_device
    from ista_train.eval import checkpoint_and_test_set
    from ista_train.recipe import load_recipe, parse_overrides

    recipe = load_recipe(args.config, parse_overrides(args.overrides))
    if not is_own_format(args.weights):
        raise CheckpointError(f"{args.weights} is not a checkpoint of the project's format; convert it first "
                              "(ista-train export --weights ... --config ... --out model.pt), then calibrate that.")
    recipe, _, dataset = checkpoint_and_test_set(recipe, args.weights, args.data)  # the checkpoint's classes
    if dataset.labels is None:
        raise CheckpointError(f"the test set of {args.config} has no labels: calibration needs a labelled "
                              "validation set (--data).")
    report = calibrate_checkpoint(args.weights, dataset, args.batch_size or recipe.test_batch_size,
                                  resolve_device(args.device), args.amp, args.workers or 0, not args.no_progress,
                                  model_config=recipe.model_args)
    print(f"{args.weights}: {describe(report)} on {len(dataset)} samples")
    return report
