"""`ista-ros predict`: logits for a batch of skeleton sequences in an .npy file."""
from __future__ import annotations

from pathlib import Path

from ista_ros.errors import ConfigError


def add_parser(subparsers) -> None:
    p = subparsers.add_parser("predict", help="run a checkpoint or an .onnx model on (N, C, T, J, E) inputs (.npy)",
                              description="Write (N, num_classes) float32 logits for (N, C, T, J, E) float32 inputs.")
    p.add_argument("--weights", required=True, help="checkpoint (the project's format or an official state dict) or "
                                                          "an .onnx model from `ista-train export --onnx`")
    p.add_argument("--model-config", help="model YAML; needed only for official checkpoints")
    p.add_argument("--input", required=True, help=".npy file, float32 (N, C, T, J, E)")
    p.add_argument("--output", required=True, help=".npy file to write, float32 (N, num_classes)")
    p.add_argument("--device", default="auto", help="auto (CUDA when present), cpu or cuda[:i] (default: auto)")
    p.add_argument("--batch-size", type=int, default=64, help="samples per forward pass (default: 64)")
    p.add_argument("--precision", default="fp32", choices=["fp32", "bf16", "fp16"], help="torch backend only")
    p.add_argument("--backend", default="auto", choices=["auto", "torch", "onnxruntime"],
                   help="auto: ONNX Runtime for .onnx, torch on the GPU, the faster of the two on the CPU "
                        "(a checkpoint is then exported in memory first, seconds) (default: auto)")
    p.set_defaults(func=run)


def run(args) -> int:
    import numpy as np

    from ista_ros.core.engine import InferenceEngine, load_weights

    if args.batch_size < 1:
        raise ConfigError("--batch-size must be at least 1.")
    x = load_array(Path(args.input))
    loaded = load_weights(args.weights, args.model_config)
    engine = InferenceEngine(loaded.model, device=args.device, precision=args.precision, backend=args.backend)
    logits = engine.predict(x, batch_size=args.batch_size)
    output = Path(args.output)
    output.parent.mkdir(parents=True, exist_ok=True)
    np.save(output, logits)
    print(f"wrote {output}: logits {logits.shape} ({', '.join(loaded.meta.class_names[:3])}, ...) "
          f"with {engine.backend} on {engine.device}")
    return 0


def load_array(path: Path):
    import numpy as np

    if not path.is_file():
        raise ConfigError(f"input file {path} does not exist.")
    try:
        array = np.load(path, allow_pickle=False)
    except ValueError as err:
        raise ConfigError(f"{path} is not a plain .npy array ({err}).") from None
    if not isinstance(array, np.ndarray):
        raise ConfigError(f"{path} holds several arrays (.npz); give one (N, C, T, J, E) .npy array.")
    return array
