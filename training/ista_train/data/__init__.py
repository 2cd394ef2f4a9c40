"""Datasets: a prepared split plus either the training augmentation or the test-time
pipeline, which is the core's ``model_input`` - the function the live node calls.

Augmentation randomness is a function of (seed, epoch, sample index) only, so it changes
every epoch, does not depend on the number of data-loader workers or GPUs, and a resumed
run sees exactly the augmentation an uninterrupted one would have seen.
"""
from __future__ import annotations

import numpy as np
import torch
from torch.utils.data import Dataset

from ista_ros.core.window import Preprocessing, model_input
from ista_train.data.formats import DatasetError, Split, read_asb, read_h2o, read_native, read_ntu, read_sbu
from ista_train.data.transforms import Augment

__all__ = ["DatasetError", "SkeletonDataset", "Split", "build_dataset", "read_split"]

# Feeder options of the official YAMLs that no official run switches on.
UNSUPPORTED = ("random_choose", "random_shift", "random_move", "normalization", "bone", "vel")


class SkeletonDataset(Dataset):
    """Yields (x (C, T, J, E) float32 tensor, label (-1 when unknown), index)."""

    def __init__(self, split: Split, preprocessing: Preprocessing, augment: Augment | None = None,
                 seed: int = 0):
        self.split = split
        self.preprocessing = preprocessing
        self.augment = augment
        self.seed = seed
        self.epoch = 0

    def set_epoch(self, epoch: int) -> None:
        self.epoch = epoch

    def __len__(self) -> int:
        return len(self.split.data)

    @property
    def labels(self) -> np.ndarray | None:
        return self.split.labels

    def __getitem__(self, index: int):
        sample = np.asarray(self.split.data[index], dtype=np.float32)
        if self.augment is None:
            x = model_input(sample, self.preprocessing)
        else:
            x = self.augment(sample, np.random.default_rng([self.seed, self.epoch, index]))
        label = -1 if self.split.labels is None else int(self.split.labels[index])
        return torch.from_numpy(np.ascontiguousarray(x, dtype=np.float32)), label, index


def read_split(kind: str, args: dict, labelled: bool = True) -> Split:
    """The prepared split named by a feeder's arguments (official keys)."""
    enabled = [k for k in UNSUPPORTED if args.get(k)]
    if enabled:
        raise DatasetError(f"feeder options {', '.join(enabled)} are not supported (no official run uses them).")
    if "data_path" not in args:
        raise DatasetError("the feeder arguments need a data_path.")
    path, split = args["data_path"], args.get("split", "train")
    if kind == "ntu":
        return read_ntu(path, split)
    if kind == "sbu":
        return read_sbu(path, split, int(args.get("fold", 0)))
    if kind == "h2o":
        return read_h2o(path, split, labelled)
    if kind == "asb":
        return read_asb(path, args.get("label_path") if labelled else None)
    if kind == "native":
        return read_native(path, split)
    raise DatasetError(f"unknown dataset kind {kind}.")


def build_dataset(recipe, train: bool, data_path=None) -> SkeletonDataset:
    """The training (augmented) or test (core pipeline) dataset of a recipe.
    ``data_path`` replaces the recipe's (eval --data)."""
    args = dict(recipe.train_feeder_args if train else recipe.test_feeder_args)
    if not args:
        raise DatasetError(f"{recipe.source} has no {'train' if train else 'test'}_feeder_args.")
    if data_path is not None:
        args["data_path"] = str(data_path)
    split = read_split(recipe.feeder, args, labelled=train or recipe.test_labelled)
    _check_shape(split, recipe.model_args, args["data_path"])
    _check_labels(split, recipe, args["data_path"])
    augment = None
    if train:
        p_interval = tuple(args.get("p_interval", (0.5, 1.0)))
        if len(p_interval) != 2:
            raise DatasetError("train_feeder_args.p_interval needs two values (random crop range).")
        augment = Augment(p_interval, int(args.get("window_size", recipe.model_args.num_frames)),
                          bool(args.get("random_rot", False)), bool(args.get("entity_rearrangement", False)),
                          centre_joint=recipe.centre_joint)
    return SkeletonDataset(split, recipe.preprocessing(), augment, recipe.seed)


def _check_shape(split: Split, cfg, path) -> None:
    _, c, _, j, e = split.data.shape
    if (c, j, e) != (cfg.num_channels, cfg.num_joints, cfg.num_persons):
        raise DatasetError(f"{path} holds samples of {c} coordinates, {j} joints and {e} entities, but the "
                           f"model expects {cfg.num_channels}, {cfg.num_joints} and {cfg.num_persons}.")


def _check_labels(split: Split, recipe, path) -> None:
    """Labels must fit the model, and names given by both dataset and recipe must agree
    (the checkpoint's class names are what the live node will announce)."""
    k = recipe.num_classes
    if split.labels is not None and len(split.labels) and not 0 <= split.labels.min() <= split.labels.max() < k:
        raise DatasetError(f"{path} has labels {split.labels.min()}-{split.labels.max()}, outside 0-{k - 1} "
                           f"of the model's num_classes {k}.")
    if split.class_names is not None and recipe.class_names is not None and \
            list(split.class_names) != list(recipe.class_names):
        raise DatasetError(f"{path} names its classes {split.class_names[:3]}..., the recipe "
                           f"{recipe.class_names[:3]}...: make them agree (same names, same order).")
