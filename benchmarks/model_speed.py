"""ISTA-Net speed: the straightforward eager model against the project's inference engine
(torch, and ONNX Runtime on the exported model).

    .venv/bin/python benchmarks/model_speed.py --config config/model/ntu26.yaml
    .venv/bin/python benchmarks/model_speed.py --config config/model/demo_small.yaml --batch-sizes 1,8
    .venv/bin/python benchmarks/model_speed.py --threads 2 --no-training \
        --config config/model/demo_small.yaml,config/model/sbu.yaml,config/model/ntu26.yaml

First checks that every engine variant agrees with the eager fp32 model (max relative
error of logits, top-1 agreement), then times each: latency (median, p10, p90 after
warm-up; CUDA events on the GPU), throughput, achieved TFLOP/s, peak memory, and
training throughput (forward + backward + SGD step). Prints a Markdown table to paste
into BENCHMARKS.md together with the machine line it prints first.
"""
from __future__ import annotations

import argparse
import platform
import resource
import statistics
import subprocess
import time
from datetime import date

import numpy as np
import torch
from torch.utils.flop_counter import FlopCounterMode

from ista_ros.core.config import load_model_config
from ista_ros.core.device import resolve_device
from ista_ros.core.engine import InferenceEngine
from ista_ros.core.model import ISTANet


def machine_line(device: torch.device) -> str:
    name = torch.cuda.get_device_name(device) if device.type == "cuda" else platform.processor() or "cpu"
    commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True).stdout.strip()
    return (f"{date.today()} | {name} | {torch.get_num_threads()} CPU threads | torch {torch.__version__} "
            f"| commit {commit or 'unknown'}")


def flops_per_sample(model: ISTANet, sample_shape) -> float:
    counter = FlopCounterMode(display=False)
    with counter, torch.no_grad():
        model(torch.zeros(1, *sample_shape))
    return counter.get_total_flops()


def timings_ms(fn, device: torch.device, iters: int, warmup: int = 3) -> list[float]:
    for _ in range(warmup):
        fn()
    times = []
    for _ in range(iters):
        if device.type == "cuda":
            start, end = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
            start.record()
            fn()
            end.record()
            torch.cuda.synchronize()
            times.append(start.elapsed_time(end))
        else:
            t0 = time.perf_counter()
            fn()
            times.append((time.perf_counter() - t0) * 1e3)
    return times


def peak_memory_mib(device: torch.device) -> float:
    if device.type == "cuda":
        return torch.cuda.max_memory_allocated(device) / 2**20
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # process peak RSS


def agreement(reference: np.ndarray, other: np.ndarray) -> str:
    rel = np.abs(other - reference).max() / max(np.abs(reference).max(), 1e-12)
    top1 = (other.argmax(1) == reference.argmax(1)).mean()
    return f"{rel:.1e} / {top1:.0%}"


def variants(model: ISTANet, device: str):
    """name -> engine; the first is the straightforward reference (eager fp32, no graph)."""
    out = {"eager fp32 (reference)": InferenceEngine(model, device, "fp32", cuda_graph=False)}
    if resolve_device(device).type == "cuda":
        out["engine fp32 + CUDA graph"] = InferenceEngine(model, device, "fp32")
        out["engine bf16 + CUDA graph"] = InferenceEngine(model, device, "bf16")
    else:
        out["engine bf16 (autocast)"] = InferenceEngine(model, device, "bf16")
    out["onnxruntime fp32"] = InferenceEngine(model, device, "fp32", backend="onnxruntime")
    return out


def train_throughput(model: ISTANet, device: torch.device, batch: int, precision: str, iters: int) -> float:
    model = model.train().to(device)
    opt = torch.optim.SGD(model.parameters(), lr=1e-3, momentum=0.9, nesterov=True)
    x = torch.randn(batch, *model.cfg.input_shape, device=device)
    y = torch.randint(0, model.cfg.num_classes, (batch,), device=device)
    dtype = torch.bfloat16 if precision == "bf16" else None

    def step():
        with torch.autocast(device.type, dtype=dtype, enabled=dtype is not None):
            loss = torch.nn.functional.cross_entropy(model(x), y)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()

    median = statistics.median(timings_ms(step, device, iters, warmup=2))
    model.eval()
    return batch / median * 1e3


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--config", default="config/model/ntu26.yaml", help="model YAML, or a comma list of them")
    parser.add_argument("--device", default="auto")
    parser.add_argument("--batch-sizes", default=None, help="comma list (default: 1,256 on GPU, 1,8 on CPU)")
    parser.add_argument("--iters", type=int, default=None, help="timed iterations (default: 50 GPU, 5 CPU)")
    parser.add_argument("--train-batch", type=int, default=None, help="training batch (default: 32 GPU, 8 CPU)")
    parser.add_argument("--threads", type=int, default=0, help="CPU threads of every variant (default: torch's)")
    parser.add_argument("--no-training", action="store_true", help="skip the training throughput")
    args = parser.parse_args()
    if args.threads > 0:
        torch.set_num_threads(args.threads)  # ONNX Runtime sessions take torch's count
    device = resolve_device(args.device)
    print(f"machine: {machine_line(device)}")
    for config in args.config.split(","):
        benchmark(config, device, args)


def benchmark(config: str, device: torch.device, args) -> None:
    torch.manual_seed(0)
    cfg = load_model_config(config)
    model = ISTANet(cfg).eval()
    gpu = device.type == "cuda"
    batch_sizes = [int(b) for b in (args.batch_sizes or ("1,256" if gpu else "1,8")).split(",")]
    iters = args.iters or (50 if gpu else 5)
    shape = model.cfg.input_shape
    gflops = flops_per_sample(model, shape) / 1e9

    print(f"\nmodel: {config}: {sum(p.numel() for p in model.parameters()) / 1e6:.2f} M parameters, "
          f"{gflops:.1f} GFLOPs/sample, input {shape}\n")
    print("| variant | batch | rel. err / top-1 vs ref | median ms | p10 ms | p90 ms | samples/s | TFLOP/s "
          "| peak MiB |")
    print("|---|---|---|---|---|---|---|---|---|")
    engines = variants(model, args.device)
    for batch in batch_sizes:
        x = np.random.default_rng(batch).standard_normal((batch, *shape)).astype(np.float32)
        reference = None
        for name, engine in engines.items():
            if gpu:
                torch.cuda.reset_peak_memory_stats(device)
            logits = engine.predict(x, batch_size=batch)
            reference = logits if reference is None else reference
            times = timings_ms(lambda: engine.predict(x, batch_size=batch), device, iters)
            median = statistics.median(times)
            p10, p90 = np.percentile(times, [10, 90])
            rate = batch / median * 1e3
            print(f"| {name} | {batch} | {agreement(reference, logits)} | {median:.2f} | {p10:.2f} | {p90:.2f} "
                  f"| {rate:.1f} | {rate * gflops / 1e3:.3f} | {peak_memory_mib(device):.0f} |")
    if args.no_training:
        return
    train_batch = args.train_batch or (32 if gpu else 8)
    for precision in ("fp32", "bf16"):
        rate = train_throughput(model, device, train_batch, precision, max(3, iters // 5))
        print(f"\ntraining {precision}, batch {train_batch}: {rate:.1f} samples/s")


if __name__ == "__main__":
    main()
