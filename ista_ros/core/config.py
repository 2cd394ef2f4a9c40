"""Model configuration files: the project's config/model/*.yaml and official ISTA-Net run
YAMLs (their ``model_args`` block) are both accepted as they are."""
from __future__ import annotations

from pathlib import Path

import yaml

from ista_ros.core.model import ModelConfig
from ista_ros.errors import ConfigError  # defined there: light modules raise it too


def read_yaml(path) -> dict:
    path = Path(path)
    if not path.is_file():
        raise ConfigError(f"configuration file {path} does not exist.")
    try:
        values = yaml.safe_load(path.read_text())
    except yaml.YAMLError as err:
        raise ConfigError(f"configuration file {path} is not valid YAML: {err}") from None
    if not isinstance(values, dict):
        raise ConfigError(f"configuration file {path} must hold a mapping of keys to values.")
    return values


def model_config_from(values: dict, source) -> ModelConfig:
    """The ModelConfig in a parsed YAML: its ``model_args`` block."""
    if "model_args" not in values:
        raise ConfigError(f"{source} has no 'model_args' block (the ISTA-Net hyper-parameters).")
    try:
        return ModelConfig.from_dict(values["model_args"])
    except (TypeError, ValueError) as err:
        raise ConfigError(f"model_args in {source}: {err}") from None


def load_model_config(path) -> ModelConfig:
    return model_config_from(read_yaml(path), path)
