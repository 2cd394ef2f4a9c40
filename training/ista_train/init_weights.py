"""`ista-train train --init CHECKPOINT`: a run that starts from another checkpoint (fine-tuning).

- The parent is any checkpoint the project loads: its own format, or an official state
  dict with its model configuration (``--init-config``).
- The classes are the training data's: a dataset that names its classes (the project's
  npz, e.g. from ``ista-train prepare bags``) sets the class names and so the size of the
  classifier head, whatever the recipe's model configuration says.
- Every weight whose name and shape match the recipe's model is taken from the parent.
  The classifier head (``fc``) is taken only when the classes are the parent's, in the same
  order: a new class set gets a new, freshly initialised head.
- ``freeze_backbone``: only the head learns (the other parameters do not take gradients;
  BatchNorm statistics still follow the data). For small data.
- The data contract must be the parent's (layout, entity kinds, axes): weights learned on
  other joints or axes would be silently wrong. What the recipe leaves open, the parent gives.
- Every checkpoint of the run records its parent in its provenance (``parent``).
"""
from __future__ import annotations

import hashlib
import zipfile
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
import torch

from ista_ros.core.checkpoint import CheckpointError, LoadedCheckpoint, load_checkpoint
from ista_ros.core.layouts import get_layout
from ista_ros.core.model import ISTANet
from ista_ros.errors import ConfigError
from ista_train.recipe import Recipe

HEAD = "fc."


@dataclass(frozen=True)
class Init:
    weights: str
    model_config: str | None = None  # needed for official state dicts
    freeze_backbone: bool = False


@dataclass
class Parent:
    """The parent checkpoint of a run and the recipe adapted to the data's classes."""
    init: Init
    loaded: LoadedCheckpoint
    recipe: Recipe
    provenance: dict

    def initial_model(self) -> ISTANet:
        """The recipe's model with the parent's matching weights (and frozen backbone)."""
        model = ISTANet(self.recipe.model_args)
        same_classes = list(self.recipe.class_names or []) == list(self.loaded.meta.class_names)
        taken, fresh = take_weights(model, self.loaded.model.state_dict(), same_classes)
        if not [k for k in taken if not k.startswith(HEAD)]:
            raise CheckpointError(f"no weight of {self.init.weights} fits the model of {self.recipe.source} (names "
                                  "and shapes differ): train with the parent's model configuration (model_config).")
        if self.init.freeze_backbone:
            for name, parameter in model.named_parameters():
                parameter.requires_grad = name.startswith(HEAD)
        self.provenance["parent"].update(taken=len(taken), new=fresh)
        print(f"--init {self.init.weights}: {len(taken)} weights taken, new: {', '.join(fresh) or 'none'}"
              f"{'; backbone frozen' if self.init.freeze_backbone else ''}")
        return model


def start_from(init: Init | None, recipe: Recipe) -> tuple[Recipe, Parent | None]:
    """The recipe to train (classes from the data, contract from the parent) and the parent;
    without ``init``, the recipe unchanged and None."""
    if init is None:
        return recipe, None
    loaded = load_checkpoint(init.weights, init.model_config)
    names = data_class_names(recipe) or recipe.class_names
    if names is not None:
        recipe = replace(recipe, class_names=list(names),
                         model_args=replace(recipe.model_args, num_classes=len(names)))
    recipe = with_parent_contract(recipe, loaded)
    parent_provenance = loaded.meta.provenance
    provenance = {"parent": {
        "weights": str(init.weights), "sha256": file_sha256(init.weights), "class_names": loaded.meta.class_names,
        "recipe": parent_provenance.get("recipe"), "git_commit": parent_provenance.get("git_commit"),
        "freeze_backbone": init.freeze_backbone}}
    return recipe, Parent(init, loaded, recipe, provenance)


def data_class_names(recipe: Recipe) -> list[str] | None:
    """The class names the training split of a project npz dataset states (read alone,
    not the samples); None for the official formats, which state none."""
    if recipe.feeder != "native":
        return None
    args = recipe.train_feeder_args
    path = Path(args.get("data_path", "")) / f"{args.get('split', 'train')}.npz"
    try:
        with np.load(path, allow_pickle=False) as npz:
            return [str(n) for n in npz["class_names"]] if "class_names" in npz else None
    except (OSError, ValueError, zipfile.BadZipFile):
        return None  # building the dataset says what is wrong with it


def with_parent_contract(recipe: Recipe, loaded: LoadedCheckpoint) -> Recipe:
    """The recipe with the parent's layout, entity kinds, axes and centring where it sets
    none; ConfigError where it sets other ones."""
    meta = loaded.meta
    parent = {"layout": meta.layout, "entity_kinds": meta.entity_kinds, "axes": meta.axes,
              "centre_joint": meta.preprocessing.centre_joint}
    mine = {"layout": recipe.layout, "entity_kinds": recipe.entity_kinds, "axes": recipe.axes,
            "centre_joint": recipe.centre_joint}
    for key, value in mine.items():
        if value is not None and parent[key] is not None and _canonical(key, value) != _canonical(key, parent[key]):
            raise ConfigError(f"the recipe's {key} is {value!r} but the parent checkpoint's is {parent[key]!r}: its "
                              "weights learned other data; fine-tune with data of the parent's contract.")
    return replace(recipe, **{key: mine[key] if mine[key] is not None else parent[key] for key in mine})


def _canonical(key: str, value):
    return get_layout(value).name if key == "layout" else (list(value) if key == "entity_kinds" else value)


def take_weights(model: torch.nn.Module, parent_state: dict, with_head: bool) -> tuple[list[str], list[str]]:
    """Copy the parent's weights of the same name and shape into ``model`` (the head only
    ``with_head``); the names taken and the names left as initialised."""
    state = model.state_dict()
    taken = [k for k, v in state.items() if k in parent_state and parent_state[k].shape == v.shape
             and (with_head or not k.startswith(HEAD))]
    state.update({k: parent_state[k] for k in taken})
    model.load_state_dict(state)
    return taken, [k for k in state if k not in taken]


def file_sha256(path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()
