"""Training recipes: the project's config/train/*.yaml and the official ISTA-Net run YAMLs,
read unchanged. Both use the official keys (feeder, train/test_feeder_args, model_args,
optimizer, base_lr, step, ...); ours add a few (class_names, layout, folds, ...).

``key=value`` overrides (dotted keys reach into mappings) are applied before validation,
with the value parsed as YAML: ``base_lr=0.01``, ``train_feeder_args.fold=2``.
"""
from __future__ import annotations

import copy
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path

import yaml

from ista_ros.core.checkpoint import DATASETS, OFFICIAL_FEEDERS, CheckpointMeta, placeholder_class_names
from ista_ros.core.config import ConfigError, read_yaml
from ista_ros.core.model import ModelConfig
from ista_ros.core.window import Preprocessing

DATASET_KINDS = ("ntu", "sbu", "h2o", "asb", "native")
# Keys of official YAMLs that mean nothing here (devices, logging, run mode).
IGNORED_KEYS = {"run_mode", "device", "cuda_visible_device", "model", "save_score", "save_epoch",
                "print_log", "show_topk", "weights", "ignore_weights", "start_epoch", "config", "phase"}


@dataclass
class Recipe:
    model_args: ModelConfig
    feeder: str = "native"
    train_feeder_args: dict = field(default_factory=dict)
    test_feeder_args: dict = field(default_factory=dict)
    test_labelled: bool = True  # False for the official Feeder_Test sets (CodaLab test split)
    seed: int = 1
    work_dir: str = "runs/default"
    optimizer: str = "SGD"
    base_lr: float = 0.1
    lr_decay_rate: float = 0.1
    step: list = field(default_factory=lambda: [60, 80])
    warm_up_epoch: int = 5
    nesterov: bool = False
    weight_decay: float = 0.0005
    optimizer_betas: list = field(default_factory=lambda: [0.9, 0.999])
    loss: str = "CrossEntropy"
    loss_args: dict = field(default_factory=dict)
    batch_size: int = 256
    test_batch_size: int = 256
    num_epoch: int = 80
    eval_interval: int = 2
    num_worker: int = 4
    grad_accum: int = 1  # micro-batches per step: BatchNorm sees batch_size / (GPUs * grad_accum)
    folds: list | None = None  # SBU: run these folds one after the other, report the mean
    class_names: list | None = None
    layout: str | None = None
    entity_kinds: list | None = None
    centre_joint: int | None = None  # test-time centring (see ista_ros.core.window)
    axes: str | None = None  # coordinate axes of the data (see ista_ros.core.axes)
    source: str = ""  # the file it came from

    @property
    def num_classes(self) -> int:
        return self.model_args.num_classes

    def preprocessing(self) -> Preprocessing:
        """The test-time pipeline: the core function with the test feeder's settings."""
        args = self.test_feeder_args
        return Preprocessing(num_frames=int(args.get("window_size", self.model_args.num_frames)),
                             p_interval=tuple(args.get("p_interval", [0.95])),
                             centre_joint=self.centre_joint)

    def checkpoint_meta(self, class_names=None, provenance=None, layout=None) -> CheckpointMeta:
        """Deployment metadata: the recipe's settings first, then the dataset's (the split's
        names and layout, the official dataset's contract); what none says stays unknown."""
        contract = DATASETS.get(self.feeder)
        return CheckpointMeta(
            class_names=list(self.class_names or class_names or placeholder_class_names(self.num_classes)),
            layout=self.layout or layout or (contract.layout if contract else None),
            preprocessing=self.preprocessing(),
            entity_kinds=self.entity_kinds or (list(contract.entity_kinds) if contract else None),
            provenance=dict(provenance or {}),
            axes=self.axes or (contract.axes if contract else None))

    def to_dict(self) -> dict:
        values = asdict(self)
        values["model_args"] = self.model_args.to_dict()
        return values


def parse_overrides(items) -> dict:
    """['a.b=1', 'c=x'] -> {'a.b': 1, 'c': 'x'} with YAML-typed values."""
    overrides = {}
    for item in items or ():
        key, sep, text = item.partition("=")
        if not sep or not key:
            raise ConfigError(f"override '{item}' is not of the form key=value (e.g. base_lr=0.01).")
        try:
            overrides[key.strip()] = yaml.safe_load(text)
        except yaml.YAMLError:
            raise ConfigError(f"override '{item}': the value is not valid YAML.") from None
    return overrides


def apply_overrides(values: dict, overrides: dict) -> dict:
    values = copy.deepcopy(values)
    for dotted, value in overrides.items():
        *parents, leaf = dotted.split(".")
        node = values
        for part in parents:
            node = node.setdefault(part, {})
            if not isinstance(node, dict):
                raise ConfigError(f"override {dotted}: '{part}' is not a mapping.")
        node[leaf] = value
    return values


def load_recipe(path, overrides: dict | None = None) -> Recipe:
    values = apply_overrides(read_yaml(path), overrides or {})
    return recipe_from_dict(values, str(path))


def recipe_from_dict(values: dict, source: str = "<dict>") -> Recipe:
    values = {k: v for k, v in values.items() if k not in IGNORED_KEYS}
    known = {f.name for f in fields(Recipe)}
    unknown = sorted(set(values) - known - {"model_config"})
    if unknown:
        raise ConfigError(f"{source}: unknown recipe keys {', '.join(unknown)}.")
    if "model_config" in values:
        _adopt_model_config(values, source)
    values["model_args"] = _model_args(values, source)
    feeder = str(values.get("feeder", "native"))
    values["feeder"] = OFFICIAL_FEEDERS.get(feeder, feeder)
    if values["feeder"] not in DATASET_KINDS:
        raise ConfigError(f"{source}: feeder '{feeder}' is not one of {', '.join(DATASET_KINDS)} "
                          "or an official ISTA-Net feeder.")
    if feeder.endswith("Feeder_Test"):
        values["test_labelled"] = False
    values["source"] = source
    recipe = Recipe(**values)
    _check(recipe, source)
    return recipe


def _adopt_model_config(values: dict, source: str) -> None:
    """model_config names a config/model YAML (relative to the recipe): take its
    model_args and deployment metadata, unless the recipe sets them itself."""
    path = Path(values.pop("model_config"))
    if not path.is_absolute():
        path = Path(source).parent / path
    model_yaml = read_yaml(path)
    values["model_args"] = {**(model_yaml.get("model_args") or {}), **(values.get("model_args") or {})}
    for key in ("class_names", "layout", "entity_kinds", "axes"):
        if key in model_yaml:
            values.setdefault(key, model_yaml[key])
    centre = (model_yaml.get("preprocessing") or {}).get("centre_joint")
    values.setdefault("centre_joint", centre)


def _model_args(values: dict, source: str) -> ModelConfig:
    if values.get("model_args") is None:
        raise ConfigError(f"{source} has neither model_args nor model_config.")
    try:
        return ModelConfig.from_dict(values["model_args"])
    except (TypeError, ValueError) as err:
        raise ConfigError(f"model_args in {source}: {err}") from None


def _check(recipe: Recipe, source: str) -> None:
    if recipe.optimizer not in ("SGD", "Adam", "AdamW"):
        raise ConfigError(f"{source}: optimizer must be SGD, Adam or AdamW, not {recipe.optimizer}.")
    if recipe.loss not in ("CrossEntropy", "LabelSmoothingCrossEntropy"):
        raise ConfigError(f"{source}: loss must be CrossEntropy or LabelSmoothingCrossEntropy.")
    if recipe.class_names is not None and len(recipe.class_names) != recipe.num_classes:
        raise ConfigError(f"{source}: {len(recipe.class_names)} class_names for num_classes "
                          f"{recipe.num_classes}.")
    if recipe.batch_size < 1 or recipe.grad_accum < 1 or recipe.batch_size % recipe.grad_accum:
        raise ConfigError(f"{source}: batch_size must be a positive multiple of grad_accum.")
