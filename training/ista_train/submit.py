"""`ista-train submit`: CodaLab test-set files in the formats the official scripts write.

H2O: action_labels.json = {"modality": ..., "<sample index + 1>": <predicted label + 1>, ...}.
Assembly101: preds.json = {"task": "recognition", "results": {"<sample index>": {"<kind>":
[softmax scores]}}} with kind action, verb or object (noun); ``asb-fuse`` merges the three
into one file whose entries hold all three score lists.
"""
from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import numpy as np

from ista_ros.core.config import ConfigError
from ista_ros.core.files import atomic_write

ASB_KINDS = {1380: "action", 24: "verb", 90: "noun"}
ASB_KEYS = {"action": "action", "verb": "verb", "noun": "object"}  # the official JSON keys
H2O_MODALITY = "train: hand+obj, test: hand+obj"


def test_logits(args, recipe) -> np.ndarray:
    """Logits of the unlabelled test split (H2O: split 'test'; Assembly101: --data)."""
    from ista_ros.core.checkpoint import load_checkpoint
    from ista_ros.core.device import resolve_device
    from ista_train.data import build_dataset
    from ista_train.eval import predict

    test_args = dict(recipe.test_feeder_args)
    if recipe.feeder == "h2o":
        test_args["split"] = "test"
    recipe = replace(recipe, test_labelled=False, test_feeder_args=test_args)
    loaded = load_checkpoint(args.weights, model_config=recipe.model_args)
    device = resolve_device(args.device)
    dataset = build_dataset(recipe, train=False, data_path=args.data)
    print(f"predicting {len(dataset)} test samples from {args.data or test_args['data_path']}")
    return predict(loaded.model.to(device), dataset, args.batch_size or recipe.test_batch_size, device, args.amp,
                   args.workers or 0, not args.no_progress)


def h2o_results(logits: np.ndarray) -> dict:
    results = {"modality": H2O_MODALITY}
    results.update({str(i + 1): int(label) + 1 for i, label in enumerate(logits.argmax(1))})
    return results


def asb_results(logits: np.ndarray, kind: str) -> dict:
    import torch

    probs = torch.softmax(torch.from_numpy(logits), dim=1).tolist()  # float32, as officially
    return {"task": "recognition",
            "results": {str(i): {ASB_KEYS[kind]: row} for i, row in enumerate(probs)}}


def fuse_asb(action: dict, verb: dict, noun: dict) -> dict:
    """The action file with each sample's verb and object scores added. Each input entry
    holds one score list, whatever its key."""
    def only(entry: dict, source: str):
        if len(entry) != 1:
            raise ConfigError(f"{source}: each result must hold one score list.")
        return next(iter(entry.values()))

    fused = {"task": action.get("task", "recognition"), "results": {}}
    for key, entry in action["results"].items():
        if key not in verb["results"] or key not in noun["results"]:
            raise ConfigError(f"sample {key} of the action file is missing from the verb or noun file.")
        fused["results"][key] = {"action": only(entry, "action file"),
                                 "verb": only(verb["results"][key], "verb file"),
                                 "object": only(noun["results"][key], "noun file")}
    return fused


def write_json(obj: dict, path) -> None:
    atomic_write(path, lambda tmp: tmp.write_text(json.dumps(obj)))
    print(f"wrote {path}")


def read_json(path) -> dict:
    try:
        value = json.loads(Path(path).read_text())
    except FileNotFoundError:
        raise ConfigError(f"{path} does not exist.") from None
    except json.JSONDecodeError as err:
        raise ConfigError(f"{path} is not valid JSON ({err}).") from None
    if not isinstance(value, dict) or not isinstance(value.get("results"), dict):
        raise ConfigError(f"{path} is not an Assembly101 preds.json (no 'results' mapping).")
    return value


def run(args) -> None:
    if args.target == "asb-fuse":
        write_json(fuse_asb(read_json(args.action), read_json(args.verb), read_json(args.noun)), args.out)
        return
    from ista_train.recipe import load_recipe, parse_overrides

    recipe = load_recipe(args.config, parse_overrides(args.overrides))
    if args.target == "h2o":
        if recipe.feeder != "h2o":
            raise ConfigError(f"{args.config} is not an H2O recipe (feeder {recipe.feeder}).")
        write_json(h2o_results(test_logits(args, recipe)), args.out)
        return
    if recipe.feeder != "asb":
        raise ConfigError(f"{args.config} is not an Assembly101 recipe (feeder {recipe.feeder}).")
    kind = args.kind or ASB_KINDS.get(recipe.num_classes)
    if kind is None:
        raise ConfigError(f"{recipe.num_classes} classes is not action (1380), verb (24) or noun (90): "
                          "say which with --kind.")
    write_json(asb_results(test_logits(args, recipe), kind), args.out)
