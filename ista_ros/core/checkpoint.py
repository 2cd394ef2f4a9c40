"""Checkpoints: the project's self-describing format, and official ISTA-Net state dicts.

The project's format is a plain dict (weights + configuration + metadata) saved with
torch.save and read with ``torch.load(weights_only=True)``: no arbitrary unpickling.
Official checkpoints are bare state dicts (``module.`` prefixed or not) and need the
run's model configuration to say which model they are.

A checkpoint's data contract (joint layout, entity kinds, coordinate axes, class names) is
known, never guessed from a shape: the project's checkpoints and config/model YAMLs state
it; an official run YAML's is its feeder's dataset's (DATASETS). What nothing states stays
None, and the live recognizer refuses it with a sentence saying what to give.

Untrusted files are checked before anything large is built: types and keys of every
block, the metadata against the configuration, and the configuration against the stored
tensors' shapes (computed on the "meta" device, without allocating).
"""
from __future__ import annotations

from dataclasses import dataclass, field, fields
from pathlib import Path

import torch

from ista_ros.core.axes import check_axes
from ista_ros.core.config import ConfigError, model_config_from, read_yaml
from ista_ros.core.entities import KINDS
from ista_ros.core.files import atomic_write
from ista_ros.core.layouts import ALIASES, LAYOUTS, get_layout
from ista_ros.core.model import ISTANet, ModelConfig
from ista_ros.core.window import Preprocessing
from ista_ros.errors import UserError

FORMAT = "ista_ros.checkpoint"
VERSION = 1


class CheckpointError(UserError, ValueError):
    """A checkpoint that cannot be used; the message says why in one sentence."""


@dataclass(frozen=True)
class DataContract:
    """What a dataset's samples are; ``axes`` None: no convention of ista_ros.core.axes."""
    layout: str
    entity_kinds: tuple[str, ...]  # in entity (slot) order
    axes: str | None


# The samples the official feeders deliver (read from the official preparation scripts,
# feeders and graphs; ista_train.prepare writes the same), so the contract of every model
# trained on them.
DATASETS = {
    "ntu": DataContract("ntu25", ("person", "person"), "kinect"),  # Kinect v2 camera space
    # The SBU feeder maps normalised image values to x' = 1280 - 2560 x (to the camera's
    # left), y' = 960 - 1920 y (up), z' = depth: Kinect axes (in millimetres).
    "sbu": DataContract("sbu15", ("person", "person"), "kinect"),
    "h2o": DataContract("h2o_hand21", ("left_hand", "right_hand", "object"), "optical"),  # egocentric camera
    # Assembly101 poses are in the world frame of its camera rig, which no convention names.
    "asb": DataContract("asb_hand21", ("left_hand", "right_hand"), None),
}
# Official feeder classes -> dataset; "Feeder_Test" reads the unlabelled test sets.
OFFICIAL_FEEDERS = {
    "feeders.feeder_ntu.Feeder": "ntu",
    "feeders.feeder_sbu.Feeder": "sbu",
    "feeders.feeder_h2o.Feeder": "h2o",
    "feeders.feeder_h2o.Feeder_Test": "h2o",
    "feeders.feeder_asb.Feeder": "asb",
    "feeders.feeder_asb.Feeder_Test": "asb",
}


def placeholder_class_names(num_classes: int) -> list[str]:
    """Names of classes nothing names (the dataset's annotation files were not given)."""
    return [f"class_{i}" for i in range(num_classes)]


@dataclass
class CheckpointMeta:
    class_names: list[str]
    layout: str | None  # joint layout of every entity, e.g. "ntu25"; None: not known
    preprocessing: Preprocessing
    entity_kinds: list[str] | None = None  # per entity (slot), e.g. ["person", "person"]; None: not known
    provenance: dict = field(default_factory=dict)
    axes: str | None = "optical"  # coordinate axes of the training data (ista_ros.core.axes); None: not known
    temperature: float = 1.0  # calibration (ista_train.calibration): probabilities are softmax(logits / T)

    def __post_init__(self):
        if not isinstance(self.class_names, (list, tuple)) or not self.class_names or \
                not all(isinstance(name, str) for name in self.class_names):
            raise ConfigError("class_names must be a non-empty list of names.")
        self.class_names = list(self.class_names)
        if self.layout is not None and not isinstance(self.layout, str):
            raise ConfigError(f"layout must be the name of a joint layout, not {self.layout!r}.")
        if not isinstance(self.preprocessing, Preprocessing):
            raise ConfigError("preprocessing must be a mapping of preprocessing settings.")
        if self.entity_kinds is not None:
            if not isinstance(self.entity_kinds, (list, tuple)) or \
                    not all(isinstance(kind, str) and kind in KINDS for kind in self.entity_kinds):
                raise ConfigError(f"entity_kinds must list one kind per entity, each one of "
                                  f"{', '.join(k for k in KINDS if k)}; got {self.entity_kinds!r}.")
            self.entity_kinds = list(self.entity_kinds)
        if not isinstance(self.provenance, dict):
            raise ConfigError("provenance must be a mapping.")
        if self.axes is not None:
            check_axes(self.axes)
        if isinstance(self.temperature, bool) or not isinstance(self.temperature, (int, float)) or \
                not self.temperature > 0:
            raise ConfigError(f"temperature must be a positive number, not {self.temperature!r}.")

    def to_dict(self) -> dict:
        return {
            "class_names": list(self.class_names),
            "layout": self.layout,
            "preprocessing": self.preprocessing.to_dict(),
            "entity_kinds": None if self.entity_kinds is None else list(self.entity_kinds),
            "provenance": dict(self.provenance),
            "axes": self.axes,
            "temperature": float(self.temperature),
        }

    @classmethod
    def from_dict(cls, values: dict) -> CheckpointMeta:
        """The saved form; ``axes`` may be absent (checkpoints older than axes: not known)."""
        if not isinstance(values, dict):
            raise ConfigError(f"meta must be a mapping, not {type(values).__name__}.")
        names = [f.name for f in fields(cls)]
        unknown = sorted(set(values) - set(names))
        missing = [k for k in ("class_names", "layout", "preprocessing", "entity_kinds") if k not in values]
        if unknown or missing:
            raise ConfigError(f"meta has {'unknown key ' + repr(unknown[0]) if unknown else 'no ' + repr(missing[0])}"
                              f"; its keys are {', '.join(names)}.")
        values = {"axes": None, **values, "preprocessing": Preprocessing.from_dict(values["preprocessing"])}
        return cls(**values)

    @classmethod
    def unknown(cls, cfg: ModelConfig) -> CheckpointMeta:
        """A bare state dict given only a ModelConfig: nothing is known but the shapes
        (enough to compute logits offline; the live recognizer refuses it)."""
        return cls(placeholder_class_names(cfg.num_classes), None, Preprocessing(num_frames=cfg.num_frames),
                   entity_kinds=None, axes=None)

    def check_fits(self, cfg: ModelConfig) -> None:
        """CheckpointError unless these metadata describe the model ``cfg``."""
        problems = []
        if len(self.class_names) != cfg.num_classes:
            problems.append(f"{len(self.class_names)} class names for {cfg.num_classes} classes")
        if self.entity_kinds is not None and len(self.entity_kinds) != cfg.num_persons:
            problems.append(f"{len(self.entity_kinds)} entity kinds for {cfg.num_persons} entities (num_persons)")
        if self.layout in LAYOUTS or self.layout in ALIASES:
            if get_layout(self.layout).num_joints != cfg.num_joints:
                problems.append(f"layout {self.layout} has {get_layout(self.layout).num_joints} joints, "
                                f"the model {cfg.num_joints}")
        if self.preprocessing.num_frames != cfg.num_frames:
            problems.append(f"preprocessing makes {self.preprocessing.num_frames} frames, the model takes "
                            f"{cfg.num_frames}")
        centre = self.preprocessing.centre_joint
        if centre is not None and centre >= cfg.num_joints:
            problems.append(f"centre_joint {centre} is not one of the model's {cfg.num_joints} joints")
        if problems:
            raise CheckpointError(f"the metadata do not fit the model: {'; '.join(problems)}.")


@dataclass
class LoadedCheckpoint:
    model: ISTANet
    config: ModelConfig
    meta: CheckpointMeta


def save_checkpoint(path, model: ISTANet, meta: CheckpointMeta) -> None:
    """Write atomically: a crash mid-write never leaves a truncated checkpoint behind."""
    meta.check_fits(model.cfg)
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
    given_cfg, given_yaml = _resolve_config(model_config)
    if payload.get("format") == FORMAT:
        cfg, meta, state = _own_format(payload, path)
        if given_cfg is not None and given_cfg != cfg:
            raise CheckpointError(f"checkpoint {path} was trained with a different model configuration: "
                                  f"{_config_difference(cfg, given_cfg)}.")
        _check_fits(state, cfg, path)
    else:
        if given_cfg is None:
            raise CheckpointError(f"{path} is a bare state dict (an official ISTA-Net checkpoint?): "
                                  "give its model configuration (--model-config, the run's YAML).")
        cfg = given_cfg
        state = {k.removeprefix("module.") if isinstance(k, str) else k: v for k, v in payload.items()}
        _check_fits(state, cfg, path)  # first: the metadata's size follows the configuration's
        meta = (meta_from_yaml(given_yaml, cfg, model_config) if given_yaml is not None
                else CheckpointMeta.unknown(cfg))
    model = ISTANet(cfg)
    model.load_state_dict(state)
    return LoadedCheckpoint(model.eval(), cfg, meta)


def _own_format(payload: dict, path: Path) -> tuple[ModelConfig, CheckpointMeta, dict]:
    """The blocks of a project checkpoint, each checked (CheckpointError naming the block)."""
    missing = [k for k in ("version", "model_config", "meta", "state_dict") if k not in payload]
    if missing:
        raise CheckpointError(f"checkpoint {path} is malformed: it has no {missing[0]!r}.")
    if payload["version"] != VERSION:
        raise CheckpointError(f"checkpoint {path} has format version {payload['version']!r}; this ista_ros "
                              f"reads version {VERSION} (update ista_ros or re-export the checkpoint).")
    try:
        if not isinstance(payload["model_config"], dict):
            raise ValueError(f"model_config must be a mapping, not {type(payload['model_config']).__name__}.")
        cfg = ModelConfig.from_dict(payload["model_config"])
    except (TypeError, ValueError) as err:
        raise CheckpointError(f"checkpoint {path} is malformed: {_sentence(err)}") from None
    try:
        meta = CheckpointMeta.from_dict(payload["meta"])
    except (TypeError, ValueError, UserError) as err:
        raise CheckpointError(f"checkpoint {path} is malformed: {_sentence(err)}") from None
    try:
        meta.check_fits(cfg)
    except CheckpointError as err:
        raise CheckpointError(f"checkpoint {path}: {err}") from None
    if not isinstance(payload["state_dict"], dict):
        raise CheckpointError(f"checkpoint {path} is malformed: state_dict is not a mapping of weights.")
    return cfg, meta, payload["state_dict"]


def _sentence(err: Exception) -> str:
    text = str(err).strip().rstrip(".")
    return f"{text}." if text else type(err).__name__ + "."


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


def _resolve_config(model_config) -> tuple[ModelConfig | None, dict | None]:
    """(the given configuration, the YAML it came from if any)."""
    if model_config is None or isinstance(model_config, ModelConfig):
        return model_config, None
    values = read_yaml(model_config)
    return model_config_from(values, model_config), values


def dataset_contract(feeder) -> DataContract | None:
    """The contract of a YAML's ``feeder`` (an official feeder class or a dataset name)."""
    return DATASETS.get(OFFICIAL_FEEDERS.get(feeder, feeder)) if isinstance(feeder, str) else None


def meta_from_yaml(values: dict, cfg: ModelConfig, source="the model configuration") -> CheckpointMeta:
    """Deployment metadata of a YAML: what it states (class_names, layout, entity_kinds,
    axes, preprocessing, as config/model files do), else what its feeder's dataset is (an
    official run YAML), else not known (None; class names: placeholders)."""
    contract = dataset_contract(values.get("feeder"))
    try:
        if "preprocessing" in values:
            preprocessing = Preprocessing.from_dict(values["preprocessing"])
        else:
            test_args = values.get("test_feeder_args") or {}
            preprocessing = Preprocessing(num_frames=test_args.get("window_size", cfg.num_frames),
                                          p_interval=test_args.get("p_interval", [0.95]))
        meta = CheckpointMeta(
            class_names=_names(values.get("class_names")) or placeholder_class_names(cfg.num_classes),
            layout=values.get("layout", contract.layout if contract else None),
            preprocessing=preprocessing,
            entity_kinds=values.get("entity_kinds", list(contract.entity_kinds) if contract else None),
            axes=values.get("axes", contract.axes if contract else None))
        meta.check_fits(cfg)
    except (ConfigError, CheckpointError) as err:
        raise ConfigError(f"{source}: {err}") from None
    return meta


def _expected_shapes(cfg: ModelConfig) -> dict[str, torch.Size]:
    """The state dict shapes of ISTANet(cfg), built on the "meta" device: no memory, so a
    configuration that asks for a huge model costs nothing before it is refused."""
    with torch.device("meta"):
        return {key: value.shape for key, value in ISTANet(cfg).state_dict().items()}


def _names(values) -> list[str] | None:
    """YAML class names as strings (a name like 'yes' or 3 must not become a bool or int)."""
    return [str(name) for name in values] if isinstance(values, list) else values


def _check_fits(state: dict, cfg: ModelConfig, path: Path) -> None:
    if not all(isinstance(key, str) and isinstance(value, torch.Tensor) for key, value in state.items()):
        raise CheckpointError(f"checkpoint {path} is malformed: its weights are not a mapping of names to tensors.")
    if len(cfg.config) > len(state):  # every block has several tensors: cannot fit
        raise CheckpointError(f"checkpoint {path} does not fit the model configuration: {len(cfg.config)} blocks "
                              f"configured but only {len(state)} weights stored - is config (the blocks) right?")
    expected = _expected_shapes(cfg)
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
    for key, shape in expected.items():
        if state[key].shape != shape:
            raise CheckpointError(f"checkpoint {path} does not fit the model configuration: {key} is "
                                  f"{tuple(state[key].shape)} in the checkpoint but {tuple(shape)} for the "
                                  f"configuration{_shape_hint(key)}.")


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
