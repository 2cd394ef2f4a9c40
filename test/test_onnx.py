"""ONNX export and the ONNX Runtime backend: every model configuration exports and gives
the torch (and official) logits; an .onnx file carries its checkpoint's metadata and runs
through `ista-ros predict` alone; the engine's backend choice and its log lines."""
import json
import logging
import subprocess
import sys
from pathlib import Path

import numpy as np
import onnxruntime
import pytest
import torch

from ista_ros.core import engine as engine_module
from ista_ros.core import onnx_backend
from ista_ros.core.checkpoint import CheckpointError, load_checkpoint, meta_from_yaml
from ista_ros.core.config import read_yaml
from ista_ros.core.engine import InferenceEngine, InputError, load_weights
from ista_ros.core.model import ISTANet, ModelConfig
from ista_ros.core.onnx_backend import OPSET, OnnxModel, OnnxRunner, export_model, load_onnx
from reference.make_official_reference import CASES, WEIGHT_SEED, seeded_input
from reference.randomize import randomize_state_dict

ROOT = Path(__file__).resolve().parents[1]
CONFIGS = sorted((ROOT / "config" / "model").glob("*.yaml"))


def architectures(configs: list[Path]) -> list[Path]:
    """One configuration per network: configurations whose model_args differ only in
    num_classes (Assembly101 action/noun/verb, SBU clean/noisy) export the same graph but
    for the head's width, so the one with the most classes stands for them."""
    chosen: dict[str, tuple[int, Path]] = {}
    for config in configs:
        args = dict(read_yaml(config)["model_args"])
        classes = args.pop("num_classes")
        key = repr(sorted(args.items()))
        if key not in chosen or classes > chosen[key][0]:
            chosen[key] = (classes, config)
    return sorted(config for _, config in chosen.values())


ARCHITECTURES = architectures(CONFIGS)
REFERENCE = np.load(ROOT / "test" / "reference" / "official_reference.npz")
DEMO_WEIGHTS = ROOT / "ista_ros" / "demo" / "model" / "demo_small.pt"
TOLERANCE = 1e-4  # relative, fp32


def relative_error(got, expected) -> float:
    return float(np.abs(got - expected).max() / np.abs(expected).max())


def run(module, *args) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", module, *map(str, args)], capture_output=True, text=True,
                          cwd=ROOT, timeout=300)


def random_model(cfg: ModelConfig) -> ISTANet:
    model = ISTANet(cfg).eval()
    model.load_state_dict(randomize_state_dict(model.state_dict(), WEIGHT_SEED))
    return model


@pytest.fixture(scope="module")
def demo_onnx(tmp_path_factory):
    """The shipped demo checkpoint exported by `ista-train export --onnx` as a user runs it."""
    path = tmp_path_factory.mktemp("onnx") / "demo_small.onnx"
    done = run("ista_train", "export", "--weights", DEMO_WEIGHTS, "--onnx", path)
    assert done.returncode == 0, done.stderr
    assert "ONNX opset" in done.stdout
    return path


@pytest.mark.parametrize("config", ARCHITECTURES, ids=[path.stem for path in ARCHITECTURES])
def test_every_architecture_exports_and_reproduces_the_torch_logits(config):
    """Random weights; where the official code's logits are recorded, those too."""
    values = read_yaml(config)
    cfg = ModelConfig.from_dict(values["model_args"])
    model = random_model(cfg)
    loaded_model = OnnxModel(export_model(model, meta_from_yaml(values, cfg)), cfg)
    x = seeded_input(cfg.to_dict())  # batch 2
    with torch.no_grad():
        expected = model(x).numpy()
    got = OnnxRunner(loaded_model, torch.device("cpu"), 1)(x.numpy())
    assert relative_error(got, expected) <= TOLERANCE
    if f"logits_{config.stem}" in REFERENCE:
        assert np.abs(got - REFERENCE[f"logits_{config.stem}"]).max() <= TOLERANCE


def test_onnx_file_carries_the_checkpoint_metadata_and_a_dynamic_batch(demo_onnx):
    checkpoint = load_checkpoint(DEMO_WEIGHTS)
    loaded = load_weights(demo_onnx)
    assert isinstance(loaded.model, OnnxModel) and loaded.config == checkpoint.config
    exported, original = loaded.meta.to_dict(), checkpoint.meta.to_dict()
    assert exported.pop("provenance").items() >= original.pop("provenance").items()
    assert exported == original
    session = onnxruntime.InferenceSession(str(demo_onnx), providers=["CPUExecutionProvider"])
    props = session.get_modelmeta().custom_metadata_map
    assert json.loads(props["opset"]) == OPSET and "dynamo" in json.loads(props["exporter"])["name"]
    assert json.loads(props["class_names"]) == checkpoint.meta.class_names  # each a JSON value
    engine = InferenceEngine(loaded.model, device="cpu", backend="auto")
    x = np.random.default_rng(3).standard_normal((5, *loaded.config.input_shape)).astype(np.float32)
    with torch.no_grad():
        expected = checkpoint.model(torch.from_numpy(x)).numpy()
    for batch in (1, 5):
        assert relative_error(engine.predict(x, batch_size=batch), expected) <= TOLERANCE


def test_predict_runs_an_onnx_file_alone(tmp_path, demo_onnx):
    x = np.random.default_rng(4).standard_normal((3, 3, 32, 25, 2)).astype(np.float32)
    np.save(tmp_path / "x.npy", x)
    done = run("ista_ros.cli", "predict", "--weights", demo_onnx, "--input", tmp_path / "x.npy",
               "--output", tmp_path / "y.npy")
    assert done.returncode == 0, done.stderr
    assert "with onnxruntime on cpu" in done.stdout
    with torch.no_grad():
        expected = load_checkpoint(DEMO_WEIGHTS).model(torch.from_numpy(x)).numpy()
    assert relative_error(np.load(tmp_path / "y.npy"), expected) <= TOLERANCE


def test_official_checkpoint_exported_with_its_run_yaml_gives_the_official_logits(tmp_path):
    model = random_model(ModelConfig.from_dict(CASES["padded"]))
    torch.save({"module." + k: v for k, v in model.state_dict().items()}, tmp_path / "official.pt")
    (tmp_path / "run.yaml").write_text(f"model_args: {CASES['padded']}\n")
    done = run("ista_train", "export", "--weights", tmp_path / "official.pt", "--config", tmp_path / "run.yaml",
               "--onnx", tmp_path / "official.onnx")
    assert done.returncode == 0, done.stderr
    np.save(tmp_path / "x.npy", seeded_input(CASES["padded"]).numpy())
    done = run("ista_ros.cli", "predict", "--weights", tmp_path / "official.onnx", "--input", tmp_path / "x.npy",
               "--output", tmp_path / "y.npy")
    assert done.returncode == 0, done.stderr
    assert np.abs(np.load(tmp_path / "y.npy") - REFERENCE["logits_padded"]).max() <= TOLERANCE


def test_files_that_are_not_exported_models_are_refused_in_one_sentence(tmp_path):
    (tmp_path / "garbage.onnx").write_bytes(b"not a model")
    with pytest.raises(CheckpointError, match="is not a readable ONNX model"):
        load_onnx(tmp_path / "garbage.onnx")
    model = random_model(ModelConfig.from_dict(CASES["padded"]))
    torch.onnx.export(model, (seeded_input(CASES["padded"]),), tmp_path / "bare.onnx", dynamo=True, verbose=False,
                      external_data=False)
    with pytest.raises(CheckpointError, match="without ista_ros metadata"):
        load_onnx(tmp_path / "bare.onnx")
    with pytest.raises(CheckpointError, match="does not exist"):
        load_onnx(tmp_path / "absent.onnx")


def test_export_without_an_output_is_one_sentence(tmp_path):
    done = run("ista_train", "export", "--weights", DEMO_WEIGHTS)
    assert done.returncode == 2 and "give --out" in done.stderr and "Traceback" not in done.stderr


def test_an_onnx_model_does_not_run_with_the_torch_backend(demo_onnx):
    with pytest.raises(InputError, match="runs with ONNX Runtime only"):
        InferenceEngine(load_weights(demo_onnx).model, device="cpu", backend="torch")


@pytest.mark.parametrize("onnx_ms, torch_ms, chosen", [(1.0, 2.0, "onnxruntime"), (3.0, 2.0, "torch")])
def test_auto_keeps_the_backend_that_was_faster_at_start_up(monkeypatch, caplog, onnx_ms, torch_ms, chosen):
    """The start-up timings are fed in (real ones depend on the machine's load)."""
    timings = iter([torch_ms, onnx_ms])  # torch is timed first
    monkeypatch.setattr(engine_module, "median_ms", lambda fn: (fn(), next(timings))[1])
    model = random_model(ModelConfig.from_dict(CASES["padded"]))
    with caplog.at_level(logging.INFO, logger="ista_ros.engine"):
        engine = InferenceEngine(model, device="cpu", backend="auto")
    assert engine.backend == chosen
    (message,) = [r.message for r in caplog.records if r.name == "ista_ros.engine"]
    assert message.startswith(f"backend auto: {onnx_ms:.1f} ms with onnxruntime, {torch_ms:.1f} ms with torch")
    assert message.endswith(f"using {chosen}.")
    x = seeded_input(CASES["padded"]).numpy()
    with torch.no_grad():
        assert relative_error(engine.predict(x), model(torch.from_numpy(x)).numpy()) <= TOLERANCE


def test_auto_without_the_exporter_runs_torch_with_one_log_line(monkeypatch, caplog):
    monkeypatch.setattr(engine_module, "exporter_available", lambda: False)
    with caplog.at_level(logging.INFO, logger="ista_ros.engine"):
        engine = InferenceEngine(random_model(ModelConfig.from_dict(CASES["padded"])), device="cpu", backend="auto")
    assert engine.backend == "torch"
    assert [r.message for r in caplog.records if r.name == "ista_ros.engine"] == [
        "backend auto: onnx/onnxscript/onnxruntime are not installed: running ISTA-Net with torch."]


def test_missing_gpu_execution_provider_is_one_log_line_and_the_cpu(demo_onnx, caplog):
    """This machine's onnxruntime is the CPU build: asking for CUDA falls back."""
    assert "CUDAExecutionProvider" not in onnxruntime.get_available_providers()
    with caplog.at_level(logging.INFO, logger="ista_ros.engine"):
        runner = OnnxRunner(load_weights(demo_onnx).model, torch.device("cuda"), 1)
    assert runner.device.type == "cpu"
    messages = [r.message for r in caplog.records if r.name == "ista_ros.engine"]
    assert len(messages) == 1 and "no usable CUDA or TensorRT execution provider" in messages[0]


def test_an_onnx_file_runs_on_onnxruntime_whatever_torch_would_take(monkeypatch, demo_onnx):
    monkeypatch.setattr(engine_module, "median_ms", lambda fn: pytest.fail("an .onnx file is never timed"))
    for backend in ("auto", "onnxruntime"):
        assert InferenceEngine(load_weights(demo_onnx).model, device="cpu", backend=backend).backend == "onnxruntime"


def test_the_export_is_cached_per_checkpoint_file(monkeypatch, tmp_path):
    """The second start reads the cached file; another checkpoint file is exported anew."""
    monkeypatch.setenv("ISTA_ROS_CACHE_DIR", str(tmp_path / "cache"))
    exports = []
    monkeypatch.setattr(onnx_backend, "export_model", lambda model, meta: exports.append(model) or b"exported")
    model = random_model(ModelConfig.from_dict(CASES["padded"]))
    first, second = tmp_path / "a.pt", tmp_path / "b.pt"
    first.write_bytes(b"checkpoint a")
    second.write_bytes(b"checkpoint b")
    assert [onnx_backend.cached_export(model, None, first) for _ in range(2)] == [b"exported"] * 2
    assert len(exports) == 1
    onnx_backend.cached_export(model, None, second)
    assert len(exports) == 2
    assert len(list((tmp_path / "cache" / "onnx").glob("*.onnx"))) == 2


def test_auto_runs_torch_with_one_log_line_when_the_export_fails(caplog):
    def broken_export(model):
        raise RuntimeError("unsupported operator aten::foo\nmore detail")

    model = random_model(ModelConfig.from_dict(CASES["padded"]))
    with caplog.at_level(logging.INFO, logger="ista_ros.engine"):
        engine = InferenceEngine(model, device="cpu", backend="auto", onnx_export=broken_export)
    assert engine.backend == "torch"
    assert [r.message for r in caplog.records if r.name == "ista_ros.engine"] == [
        "backend auto: exporting ISTA-Net to ONNX failed (unsupported operator aten::foo): running it with torch."]
