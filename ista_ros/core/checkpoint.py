"""Checkpoints: the project's self-describing format, and official ISTA-Net state dicts.

The project's format is a plain dict (weights + configuration + metadata) saved with
torch.save and read with ``torch.load(weights_only=True)``: no arbitrary unpickling.
Official checkpoints are bare state dicts (``module.`` prefixed or not) and need the
run's model configuration to say which model they are.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import torch

from ista_ros.core.axes import check_axes
from ista_ros.core.config import ConfigError, model_config_from, read_yaml
from ista_ros.core.files import atomic_write
from ista_ros.core.model import ISTANet, ModelConfig
from ista_ros.core.window import Preprocessing
from ista_ros.errors import UserError

FORMAT = "ista_ros.checkpoint"
VERSION = 1
LAYOUT_BY_JOINTS = {25: "ntu25", 15: "sbu15", 21: "hand21"}


class CheckpointError(UserError, ValueError):
    """A checkpoint that cannot be used; the message says why in one sentence."""


@dataclass
class CheckpointMeta:
    class_names: list[str]
    layout: str  # joint layout of every entity, e.g. "ntu25"
    preprocessing: Preprocessing
    entity_kinds: list[str] = field(default_factory=lambda: ["person", "person"])
    provenance: dict = field(default_factory=dict)
    axes: str = "optical"  # coordinate axes of the training data (ista_ros.core.axes)

    def __post_init__(self):
        check_axes(self.axes)

    def to_dict(self) -> dict:
        return {
            "class_names": list(self.class_names),
            "layout": self.layout,
            "preprocessing": self.preprocessing.to_dict(),
            "entity_kinds": list(self.entity_kinds),
            "provenance": dict(self.provenance),
            "axes": self.axes,
        }

    @classmethod
    def from_dict(cls, values: dict) -> CheckpointMeta:
        values = dict(values)
        values["preprocessing"] = Preprocessing.from_dict(values["preprocessing"])
        return cls(**values)

    @classmethod
    def defaults(cls, cfg: ModelConfig) -> CheckpointMeta:
        """What can be said of a model from its configuration alone."""
        return cls(
            class_names=[f"class_{i}" for i in range(cfg.num_classes)],
            layout=LAYOUT_BY_JOINTS.get(cfg.num_joints, f"joints{cfg.num_joints}"),
            preprocessing=Preprocessing(num_frames=cfg.num_frames),
            entity_kinds=["entity"] * cfg.num_persons,
        )


@dataclass
class LoadedCheckpoint:
    model: ISTANet
    config: ModelConfig
    meta: CheckpointMeta


def save_checkpoint(path, model: ISTANet, meta: CheckpointMeta) -> None:
    """Write atomically: a crash mid-write never leaves a truncated checkpoint behind."""
    if len(meta.class_names) != model.cfg.num_classes:
        raise CheckpointError(
            f"{len(meta.class_names)} class names given for a model of {model.cfg.num_classes} classes."
        )
    payload = {
        "format": FORMAT,
        "version": VERSION,
        "model_config": model.cfg.to_dict(),
        "meta": meta.to_dict(),
        "state_dict": {k: v.detach().cpu() for k, v in model.state_dict().items()},
    }
    atomic_write(path, lambda tmp: torch.save(payload, tmp))


def load_checkpoint(path, model_config=None, map_location="cpu") -> LoadedCheckpoint:
    """Load the project's checkpoints, or official state dicts given ``model_config``
    (a ModelConfig, or the path of a config/model YAML or an official run YAML).

    Returns the model in eval mode. Refuses, with CheckpointError, anything that does
    not fit its configuration."""
    path = Path(path)
    payload = _read(path, map_location)
    given_cfg, given_meta = _resolve_config(model_config)
    if payload.get("format") == FORMAT:
        cfg = ModelConfig.from_dict(payload["model_config"])
        if given_cfg is not None and given_cfg != cfg:
            raise CheckpointError(f"checkpoint {path} was trained with a different model configuration: "
                                  f"{_config_difference(cfg, given_cfg)}.")
        meta = CheckpointMeta.from_dict(payload["meta"])
        state = payload["state_dict"]
    else:
        if given_cfg is None:
            raise CheckpointError(f"{path} is a bare state dict (an official ISTA-Net checkpoint?): "
                                  "give its model configuration (--model-config, the run's YAML).")
        cfg, meta = given_cfg, given_meta or CheckpointMeta.defaults(given_cfg)
        state = {k.split("module.")[-1]: v for k, v in payload.items()}
    model = ISTANet(cfg)
    _check_fits(state, model, path)
    model.load_state_dict(state)
    return LoadedCheckpoint(model.eval(), cfg, meta)


def _read(path: Path, map_location) -> dict:
    if not path.is_file():
        raise CheckpointError(f"checkpoint {path} does not exist.")
    try:
        payload = torch.load(path, map_location=map_location, weights_only=True)
    except Exception as err:  # torch raises many types for foreign or corrupt files
        reason = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
        raise CheckpointError(f"{path} is not a readable checkpoint ({reason}).") from None
    if not isinstance(payload, dict) or not payload:
        raise CheckpointError(f"{path} does not hold a checkpoint (expected a dict of weights).")
    return payload


def _resolve_config(model_config) -> tuple[ModelConfig | None, CheckpointMeta | None]:
    if model_config is None or isinstance(model_config, ModelConfig):
        return model_config, None
    values = read_yaml(model_config)
    cfg = model_config_from(values, model_config)
    return cfg, meta_from_yaml(values, cfg)


def meta_from_yaml(values: dict, cfg: ModelConfig) -> CheckpointMeta:
    """Deployment metadata from a config/model YAML (class_names, layout, preprocessing,
    entity_kinds, axes) or from an official run YAML (its test_feeder_args)."""
    meta = CheckpointMeta.defaults(cfg)
    if "class_names" in values:
        meta.class_names = [str(name) for name in values["class_names"]]
        if len(meta.class_names) != cfg.num_classes:
            raise ConfigError(f"{len(meta.class_names)} class_names for num_classes {cfg.num_classes}.")
    meta.layout = values.get("layout", meta.layout)
    meta.entity_kinds = values.get("entity_kinds", meta.entity_kinds)
    meta.axes = check_axes(values.get("axes", meta.axes))
    if "preprocessing" in values:
        meta.preprocessing = Preprocessing.from_dict(values["preprocessing"])
    elif "test_feeder_args" in values:
        test_args = values["test_feeder_args"]
        meta.preprocessing = Preprocessing(num_frames=test_args.get("window_size", cfg.num_frames),
                                           p_interval=test_args.get("p_interval", [0.95]))
    return meta


def _check_fits(state: dict, model: ISTANet, path: Path) -> None:
    expected = model.state_dict()
    missing = sorted(set(expected) - set(state))
    unexpected = sorted(set(state) - set(expected))
    if missing or unexpected:
        parts = []
        if missing:
            parts.append(f"{len(missing)} weights missing (first: {missing[0]})")
        if unexpected:
            parts.append(f"{len(unexpected)} unexpected (first: {unexpected[0]})")
        raise CheckpointError(f"checkpoint {path} does not fit the model configuration: {'; '.join(parts)} "
                              "- is the number of blocks or use_pes different?")
    for key, value in expected.items():
        if not isinstance(state[key], torch.Tensor) or state[key].shape != value.shape:
            got = tuple(state[key].shape) if isinstance(state[key], torch.Tensor) else type(state[key]).__name__
            raise CheckpointError(f"checkpoint {path} does not fit the model configuration: {key} is {got} "
                                  f"in the checkpoint but {tuple(value.shape)} for the configuration"
                                  f"{_shape_hint(key)}.")


def _shape_hint(key: str) -> str:
    hints = {
        "fc.": "num_classes or the last block's channels",
        ".M": "the number of tokens: num_frames, num_joints, num_persons or window_size",
        ".pes.pe": "the number of tokens or window_size",
        "embed.0.weight": "num_channels or the first block's channels",
        "to_qkvs": "num_heads or qkv_dim",
        "alpha": "num_heads",
        "TA.0.weight": "kernel_size (temporal)",
        "proj.0.weight": "kernel_size (token) or num_heads",
    }
    for fragment, hint in hints.items():
        if fragment in key:
            return f" (check {hint})"
    return ""


def _config_difference(a: ModelConfig, b: ModelConfig) -> str:
    da, db = a.to_dict(), b.to_dict()
    diffs = [f"{k} is {da[k]} in the checkpoint but {db[k]} in the given configuration"
             for k in da if da[k] != db[k]]
    return "; ".join(diffs)
