"""`ista-train export`: a checkpoint of the project's format (what the node loads) from
ours or an official state dict, and optionally a traced TorchScript module."""
from __future__ import annotations

import datetime
from pathlib import Path

import torch

from ista_ros.core.checkpoint import load_checkpoint, save_checkpoint
from ista_ros.core.config import read_yaml

RECIPE_KEYS = ("feeder", "train_feeder_args", "test_feeder_args")


def load_for_export(weights, config=None):
    """(model, meta): a recipe gives the metadata of an official state dict; a model YAML
    (config/model) is handed to load_checkpoint as it is."""
    if config is not None and any(k in read_yaml(config) for k in RECIPE_KEYS):
        from ista_train.recipe import load_recipe

        recipe = load_recipe(config)
        loaded = load_checkpoint(weights, model_config=recipe.model_args)
        fresh = recipe.checkpoint_meta()
        if loaded.meta.class_names[0].startswith("class_"):  # a bare state dict: the recipe knows better
            loaded.meta.class_names, loaded.meta.layout = fresh.class_names, fresh.layout
            loaded.meta.entity_kinds, loaded.meta.preprocessing = fresh.entity_kinds, fresh.preprocessing
        return loaded
    return load_checkpoint(weights, model_config=config)


def run(args) -> None:
    loaded = load_for_export(args.weights, args.config)
    meta = loaded.meta
    meta.provenance = {**meta.provenance, "exported_from": str(Path(args.weights).resolve()),
                       "exported": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds")}
    save_checkpoint(args.out, loaded.model, meta)
    print(f"wrote {args.out}: {loaded.config.num_classes} classes, layout {meta.layout}")
    if args.torchscript:
        cfg = loaded.config
        example = torch.zeros(1, *cfg.input_shape)
        with torch.no_grad():
            traced = torch.jit.trace(loaded.model.eval(), example)
        traced.save(args.torchscript)
        print(f"wrote {args.torchscript} (TorchScript, input (N, {cfg.num_channels}, {cfg.num_frames}, "
              f"{cfg.num_joints}, {cfg.num_persons}))")
