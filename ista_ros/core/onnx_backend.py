"""ONNX: an ISTA-Net exported with its checkpoint's metadata inside, run by ONNX Runtime.

An exported file is as self-describing as a checkpoint: the model configuration, class
names, layout, entity kinds, axes, preprocessing and provenance are JSON values in its
``metadata_props``, beside the exporter and the opset that wrote it (any ONNX tool shows
them). Exporting needs ``onnx`` and ``onnxscript`` (torch's dynamo exporter); running
needs only ``onnxruntime``. Both are imported lazily: torch-only installations never
load them.
"""
from __future__ import annotations

import contextlib
import copy
import hashlib
import importlib.util
import json
import logging
import os
import warnings
from dataclasses import dataclass, fields
from pathlib import Path

import numpy as np
import torch

from ista_ros.core.checkpoint import CheckpointError, CheckpointMeta, LoadedCheckpoint
from ista_ros.core.files import atomic_write_bytes
from ista_ros.core.model import ISTANet, ModelConfig
from ista_ros.errors import ConfigError

log = logging.getLogger("ista_ros.engine")
FORMAT = "ista_ros.onnx"
VERSION = 1
OPSET = 18  # ONNX Runtime >= 1.14 runs it
INPUT_NAME, OUTPUT_NAME = "skeletons", "logits"
CACHE_ENV = "ISTA_ROS_CACHE_DIR"  # replaces ~/.cache/ista_ros
# Tried in this order on a CUDA device; the CPU provider always comes last.
GPU_PROVIDERS = ("TensorrtExecutionProvider", "CUDAExecutionProvider")


@dataclass
class OnnxModel:
    """An exported ISTA-Net, which the engine runs in place of an ISTANet (same ``cfg``)."""
    data: bytes
    cfg: ModelConfig


def exporter_available() -> bool:
    return all(importlib.util.find_spec(name) is not None for name in ("onnx", "onnxscript"))


def runtime_available() -> bool:
    return importlib.util.find_spec("onnxruntime") is not None


def export_model(model: ISTANet, meta: CheckpointMeta | None = None) -> bytes:
    """The model as an ONNX file: input ``skeletons`` (N, C, T, J, E) float32 with a dynamic
    batch axis, output ``logits`` (N, num_classes), the metadata inside."""
    if not exporter_available():
        raise ConfigError("exporting to ONNX needs the onnx and onnxscript packages "
                          "(pip install onnx==1.22.0 onnxscript==0.7.2).")
    cfg = model.cfg
    # A batch of 2: the exporter would take a batch of 1 for a constant.
    example = torch.zeros(2, *cfg.input_shape)
    with _quiet_exporter():
        program = torch.onnx.export(copy.deepcopy(model).cpu().eval(), (example,), dynamo=True,
                                    opset_version=OPSET, verbose=False,
                                    input_names=[INPUT_NAME], output_names=[OUTPUT_NAME],
                                    dynamic_shapes=({0: torch.export.Dim("batch")},))
    proto = program.model_proto
    for key, value in metadata(cfg, meta).items():
        entry = proto.metadata_props.add()
        entry.key, entry.value = key, value
    return proto.SerializeToString()


def cached_export(model: ISTANet, meta: CheckpointMeta | None, checkpoint) -> bytes:
    """export_model, done once per checkpoint file: kept in the cache directory
    (``cache_dir()``) under a digest of the file, the model configuration and the exporter,
    so that a node's later starts skip the export (seconds to tens of seconds on a CPU)."""
    path = cache_dir() / f"{export_key(checkpoint, model.cfg)}.onnx"
    if path.is_file():
        return path.read_bytes()
    data = export_model(model, meta)
    try:
        atomic_write_bytes(path, data)
    except OSError as err:
        log.info(f"the ONNX export cache {path.parent} is not writable ({err.strerror}): "
                 "every start exports the model again.")
    return data


def cache_dir() -> Path:
    root = os.environ.get(CACHE_ENV) or Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "ista_ros"
    return Path(root) / "onnx"


def export_key(checkpoint, cfg: ModelConfig) -> str:
    """sha256 of the checkpoint file's bytes and of what else decides the exported graph
    (an official checkpoint's configuration is given beside it; a newer torch or opset
    exports differently)."""
    digest = hashlib.sha256()
    with open(checkpoint, "rb") as file:
        for block in iter(lambda: file.read(1 << 20), b""):
            digest.update(block)
    digest.update(json.dumps([cfg.to_dict(), torch.__version__, OPSET, VERSION], sort_keys=True).encode())
    return digest.hexdigest()


def metadata(cfg: ModelConfig, meta: CheckpointMeta | None) -> dict[str, str]:
    """metadata_props: one JSON value per key."""
    import onnx
    import onnxscript

    values = {"format": FORMAT, "version": VERSION, "model_config": cfg.to_dict(),
              "exporter": {"name": "torch.onnx.export (dynamo)", "torch": torch.__version__,
                           "onnxscript": onnxscript.__version__, "onnx": onnx.__version__},
              "opset": OPSET}
    if meta is not None:
        values.update(meta.to_dict())
    return {key: json.dumps(value) for key, value in values.items()}


@contextlib.contextmanager
def _quiet_exporter():
    """The exporter and its optimiser log every pass (and every torchvision operator they
    cannot register, none of which is used): keep the user's console to warnings."""
    loggers = [logging.getLogger(name) for name in ("torch.onnx", "onnxscript", "onnx_ir")]
    levels = [logger.level for logger in loggers]
    for logger in loggers:
        logger.setLevel(logging.ERROR)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", FutureWarning)  # torch's own pytree deprecation, inside the exporter
            yield
    finally:
        for logger, level in zip(loggers, levels):
            logger.setLevel(level)


def load_onnx(path, model_config=None) -> LoadedCheckpoint:
    """An exported .onnx file as a LoadedCheckpoint whose ``model`` is an OnnxModel.
    ``model_config`` (a ModelConfig or a YAML path), when given, must be the one inside."""
    path = Path(path)
    if not path.is_file():
        raise CheckpointError(f"model {path} does not exist.")
    data = path.read_bytes()
    values = read_metadata(data, path)
    cfg = ModelConfig.from_dict(values["model_config"])
    if model_config is not None:
        from ista_ros.core.config import load_model_config

        given = model_config if isinstance(model_config, ModelConfig) else load_model_config(model_config)
        if given != cfg:
            raise CheckpointError(f"{path} was exported with a different model configuration than "
                                  f"{model_config}; an .onnx file carries its own: leave the configuration out.")
    meta_keys = {f.name for f in fields(CheckpointMeta)}
    meta = CheckpointMeta.from_dict({key: value for key, value in values.items() if key in meta_keys})
    return LoadedCheckpoint(OnnxModel(data, cfg), cfg, meta)


def read_metadata(data: bytes, source) -> dict:
    """The decoded metadata_props of an exported model (read by ONNX Runtime, without
    optimising the graph)."""
    ort = import_runtime()
    options = ort.SessionOptions()
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_DISABLE_ALL
    try:
        session = ort.InferenceSession(data, options, providers=["CPUExecutionProvider"])
    except Exception as err:  # ONNX Runtime raises its own types for foreign or corrupt files
        reason = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
        raise CheckpointError(f"{source} is not a readable ONNX model ({reason}).") from None
    raw = session.get_modelmeta().custom_metadata_map
    if raw.get("format") != json.dumps(FORMAT):
        raise CheckpointError(f"{source} is an ONNX model without ista_ros metadata: "
                              "export it with `ista-train export --onnx`.")
    return {key: json.loads(value) for key, value in raw.items()}


def import_runtime():
    try:
        import onnxruntime
    except ImportError:
        raise ConfigError("running .onnx models needs onnxruntime (pip install onnxruntime==1.32.0).") from None
    return onnxruntime


class OnnxRunner:
    """An ONNX Runtime session on one device: (N, C, T, J, E) float32 -> (N, classes) logits.
    On a CUDA device it takes the TensorRT or CUDA provider when ONNX Runtime has one;
    without, it says so in one log line and runs on the CPU (``self.device``)."""

    def __init__(self, model: OnnxModel, device: torch.device, threads: int):
        ort = import_runtime()
        options = ort.SessionOptions()
        options.intra_op_num_threads = threads
        options.inter_op_num_threads = 1
        self.session = ort.InferenceSession(model.data, options, providers=providers_for(device, ort))
        on_gpu = any(name in GPU_PROVIDERS for name in self.session.get_providers())
        if device.type == "cuda" and not on_gpu:
            log.info("ONNX Runtime has no usable CUDA or TensorRT execution provider here "
                     "(onnxruntime-gpu is not installed, or CUDA/TensorRT libraries are missing): "
                     "running the ONNX model on the CPU.")
        self.device = device if on_gpu else torch.device("cpu")

    def __call__(self, x: np.ndarray) -> np.ndarray:
        return self.session.run([OUTPUT_NAME], {INPUT_NAME: x})[0]


def providers_for(device: torch.device, ort) -> list:
    if device.type != "cuda":
        return ["CPUExecutionProvider"]
    available = ort.get_available_providers()
    gpu = [(name, {"device_id": device.index or 0}) for name in GPU_PROVIDERS if name in available]
    return [*gpu, "CPUExecutionProvider"]
