"""`ista-train export`: a checkpoint of the project's format (what the node loads) from
ours or an official state dict, an ONNX model with the same metadata inside, and
optionally a traced TorchScript module."""
from __future__ import annotations

import datetime
from pathlib import Path

import numpy as np
import torch

from ista_ros.core.checkpoint import CheckpointError, load_checkpoint, save_checkpoint
from ista_ros.core.config import read_yaml
from ista_ros.errors import ConfigError

RECIPE_KEYS = ("feeder", "train_feeder_args", "test_feeder_args")
ONNX_TOLERANCE = 1e-4  # max |ONNX - torch| / max |torch| of the logits, fp32


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
            loaded.meta.axes = fresh.axes
        return loaded
    return load_checkpoint(weights, model_config=config)


def run(args) -> None:
    if not (args.out or args.onnx):
        raise ConfigError("give --out (a checkpoint), --onnx (an ONNX model) or both.")
    loaded = load_for_export(args.weights, args.config)
    meta = loaded.meta
    meta.provenance = {**meta.provenance, "exported_from": str(Path(args.weights).resolve()),
                       "exported": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds")}
    if args.out:
        save_checkpoint(args.out, loaded.model, meta)
        print(f"wrote {args.out}: {loaded.config.num_classes} classes, layout {meta.layout}")
    if args.onnx:
        write_onnx(args.onnx, loaded.model, meta)
    if args.torchscript:
        cfg = loaded.config
        example = torch.randn(2, *cfg.input_shape, generator=torch.Generator().manual_seed(0))
        model = loaded.model.eval()
        with torch.no_grad():
            # trace's own check re-traces the model (5x the cost of a forward); one comparison
            # of the outputs on a random batch says what matters: the module computes the model
            traced = torch.jit.trace(model, example, check_trace=False)
            if not torch.allclose(traced(example), model(example), rtol=1e-4, atol=1e-5):
                raise CheckpointError("the traced TorchScript module does not reproduce the model's logits.")
        traced.save(args.torchscript)
        print(f"wrote {args.torchscript} (TorchScript, input (N, {cfg.num_channels}, {cfg.num_frames}, "
              f"{cfg.num_joints}, {cfg.num_persons}))")


def write_onnx(path, model, meta) -> None:
    """Export, check that ONNX Runtime gives the torch logits on a random batch, then write."""
    from ista_ros.core.files import atomic_write_bytes
    from ista_ros.core.onnx_backend import OPSET, OnnxModel, OnnxRunner, export_model

    data = export_model(model, meta)
    x = np.random.default_rng(0).standard_normal((3, *model.cfg.input_shape)).astype(np.float32)
    with torch.inference_mode():
        expected = model(torch.from_numpy(x)).numpy()
    got = OnnxRunner(OnnxModel(data, model.cfg), torch.device("cpu"), torch.get_num_threads())(x)
    error = float(np.abs(got - expected).max() / max(np.abs(expected).max(), 1e-12))
    if not error <= ONNX_TOLERANCE:
        raise CheckpointError(f"the ONNX export does not reproduce the torch logits (relative error {error:.1e} "
                              f"> {ONNX_TOLERANCE:.0e}); {path} was not written.")
    atomic_write_bytes(path, data)
    print(f"wrote {path}: ONNX opset {OPSET}, input (N, {', '.join(map(str, model.cfg.input_shape))}), "
          f"logits as torch's within {error:.1e} (relative)")
