"""Inference engine: runs an ISTA-Net on the best device available, in batches.

Two backends. torch: an optional reduced precision, and CUDA-graph replay on the GPU (the
live node's batch-1 latency is dominated by kernel launches, which a graph replays in one
go; a batch is padded to the next of ``GRAPH_BATCHES``, whose graphs ``warm_up`` captures,
so that the live node's groups never make it capture one while running). onnxruntime: an
exported model (.onnx, ista_ros.core.onnx_backend), on the CPU or through ONNX Runtime's
TensorRT/CUDA providers. ``auto`` runs an .onnx file with ONNX
Runtime, a checkpoint with torch on the GPU, and on the CPU whichever of the two is
faster for that model, timed at start-up (the export takes seconds; see BENCHMARKS.md; the
recognizer node keeps exports in a cache, onnx_backend.cached_export). When ONNX cannot
be had there (not installed, or the export fails), auto says so in one log line and runs torch.
"""
from __future__ import annotations

import logging
import statistics
import time
from pathlib import Path
from typing import Callable

import numpy as np
import torch

from ista_ros.core.checkpoint import LoadedCheckpoint, load_checkpoint
from ista_ros.core.device import resolve_device
from ista_ros.core.model import ISTANet
from ista_ros.core.onnx_backend import OnnxModel, OnnxRunner, export_model, exporter_available, runtime_available
from ista_ros.errors import UserError

log = logging.getLogger("ista_ros.engine")
PRECISIONS = {"fp32": None, "bf16": torch.bfloat16, "fp16": torch.float16}
BACKENDS = ("auto", "torch", "onnxruntime")
TIMING_RUNS, TIMING_BUDGET_S = 5, 2.0  # auto's start-up comparison, per backend
GRAPH_BATCHES = (1, 2, 4, 8)  # CUDA-graph batch sizes: the recognizer's groups per stride, padded up


class InputError(UserError, ValueError):
    """Input that the model cannot take; the message says what is wrong."""


def load_weights(path, model_config=None) -> LoadedCheckpoint:
    """A checkpoint (the project's or an official one) or an exported .onnx file; an .onnx
    file's ``model`` is an OnnxModel, which only the onnxruntime backend runs."""
    if Path(path).suffix.lower() == ".onnx":
        from ista_ros.core.onnx_backend import load_onnx

        return load_onnx(path, model_config)
    return load_checkpoint(path, model_config)


class InferenceEngine:
    def __init__(self, model: ISTANet | OnnxModel, device: str = "auto", precision: str = "fp32",
                 cuda_graph: bool = True, backend: str = "torch", cpu_threads: int = 0,
                 onnx_export: Callable[[ISTANet], bytes] = export_model):
        """``cpu_threads`` > 0 sets the threads of both backends on the CPU (torch's are
        process-wide); 0 keeps torch's count. ``onnx_export`` turns a torch model into an
        ONNX file when a backend needs one (e.g. a cached export)."""
        if precision not in PRECISIONS:
            raise InputError(f"precision '{precision}' is unknown; choose one of {', '.join(PRECISIONS)}.")
        if backend not in BACKENDS:
            raise InputError(f"backend '{backend}' is unknown; choose one of {', '.join(BACKENDS)}.")
        self.device = resolve_device(device)
        if self.device.type == "cpu" and precision == "fp16":
            log.warning("fp16 is not supported on the CPU: using fp32.")
            precision = "fp32"
        if self.device.type == "cpu" and cpu_threads > 0:
            torch.set_num_threads(cpu_threads)  # on a busy CPU, 1 thread is several times faster (BENCHMARKS.md)
        self.precision = precision
        cfg = model.cfg
        self.sample_shape = cfg.input_shape
        self.num_classes = cfg.num_classes
        self.use_graphs = cuda_graph and self.device.type == "cuda"
        self._graphs: dict[int, tuple[torch.cuda.CUDAGraph, torch.Tensor, torch.Tensor]] = {}
        self.model, self._runner = None, None
        self._export = onnx_export
        self.backend = self._start(model, backend)

    def _start(self, model: ISTANet | OnnxModel, backend: str) -> str:
        """Set up the chosen backend; returns its name."""
        if isinstance(model, OnnxModel):
            if backend == "torch":
                raise InputError("an .onnx model runs with ONNX Runtime only: use backend auto or onnxruntime, "
                                 "or give the .pt checkpoint.")
            return self._start_onnx(model)
        if backend == "onnxruntime":
            return self._start_onnx(OnnxModel(self._export(model), model.cfg))
        self.model = model.eval().to(self.device)
        if backend == "auto" and self.device.type == "cpu":
            return self._faster_on_cpu()
        return "torch"

    def _start_onnx(self, model: OnnxModel) -> str:
        if self.precision != "fp32":
            log.warning(f"ONNX Runtime runs the model in fp32: precision {self.precision} applies to torch only.")
            self.precision = "fp32"
        self._runner = OnnxRunner(model, self.device, torch.get_num_threads())
        self.device = self._runner.device
        self.use_graphs = False
        return "onnxruntime"

    def _faster_on_cpu(self) -> str:
        """auto for a checkpoint on the CPU: export it to ONNX in memory and keep the faster
        backend at batch 1 (the live case), or torch when ONNX is not installed."""
        if self.precision != "fp32":
            return "torch"  # reduced precision was asked for: only torch has it
        if not (exporter_available() and runtime_available()):
            log.info("backend auto: onnx/onnxscript/onnxruntime are not installed: running ISTA-Net with torch.")
            return "torch"
        start = time.perf_counter()
        try:
            runner = OnnxRunner(OnnxModel(self._export(self.model), self.model.cfg), self.device,
                                torch.get_num_threads())
        except Exception as err:  # the exporter raises many types; torch runs the model anyway
            reason = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
            log.warning(f"backend auto: exporting ISTA-Net to ONNX failed ({reason}): running it with torch.")
            return "torch"
        export_s = time.perf_counter() - start
        x = np.ones((1, *self.sample_shape), np.float32)
        with torch.inference_mode():
            torch_ms = median_ms(lambda: self._forward(torch.from_numpy(x)))
        onnx_ms = median_ms(lambda: runner(x))
        chosen = "onnxruntime" if onnx_ms < torch_ms else "torch"
        log.info(f"backend auto: {onnx_ms:.1f} ms with onnxruntime, {torch_ms:.1f} ms with torch per window "
                 f"on the CPU (ONNX model exported or read in {export_s:.1f} s): using {chosen}.")
        if chosen == "onnxruntime":
            self._runner, self.model = runner, None
        return chosen

    def check(self, x: np.ndarray) -> np.ndarray:
        x = np.asarray(x)
        if x.ndim != 5 or x.shape[1:] != self.sample_shape:
            raise InputError(f"input must be (N, C, T, J, E) = (N, {', '.join(map(str, self.sample_shape))}) "
                             f"for this model; got {x.shape}.")
        if not np.all(np.isfinite(x)):
            raise InputError("input contains NaN or infinite values.")
        return x.astype(np.float32, copy=False)

    @torch.inference_mode()
    def predict(self, x: np.ndarray, batch_size: int = 64) -> np.ndarray:
        """(N, C, T, J, E) -> (N, num_classes) float32 logits."""
        x = self.check(x)
        if self.use_graphs:
            batch_size = min(batch_size, GRAPH_BATCHES[-1])
        outputs = [self._run(np.ascontiguousarray(x[i:i + batch_size])) for i in range(0, len(x), batch_size)]
        if not outputs:
            return np.zeros((0, self.num_classes), np.float32)
        return np.concatenate(outputs)

    def warm_up(self, batch_size: int = 1) -> None:
        """Pay allocation, autotuning and graph capture before the first real window (with
        CUDA graphs: the graph of every size in GRAPH_BATCHES)."""
        for size in GRAPH_BATCHES if self.use_graphs else (batch_size,):
            self.predict(np.ones((size, *self.sample_shape), np.float32), size)

    def _run(self, batch: np.ndarray) -> np.ndarray:
        if self._runner is not None:
            return self._runner(batch)
        tensor = torch.from_numpy(batch).to(self.device, non_blocking=True)
        logits = self._replay(tensor) if self.use_graphs else self._forward(tensor)
        return logits.float().cpu().numpy()

    def _forward(self, batch: torch.Tensor) -> torch.Tensor:
        dtype = PRECISIONS[self.precision]
        with torch.autocast(self.device.type, dtype=dtype, enabled=dtype is not None):
            return self.model(batch)

    def _replay(self, batch: torch.Tensor) -> torch.Tensor:
        n = batch.shape[0]
        size = next(s for s in GRAPH_BATCHES if s >= n)  # predict cuts batches at the largest
        if size not in self._graphs:
            self._graphs[size] = self._capture(torch.zeros((size, *batch.shape[1:]), dtype=batch.dtype,
                                                           device=batch.device))
        graph, static_in, static_out = self._graphs[size]
        static_in[:n].copy_(batch)
        static_in[n:].zero_()  # padding rows: their outputs are dropped
        graph.replay()
        return static_out[:n].clone()

    def _capture(self, batch: torch.Tensor):
        static_in = batch.clone()
        side = torch.cuda.Stream()
        side.wait_stream(torch.cuda.current_stream())
        with torch.cuda.stream(side):  # warm-up iterations outside the graph, as CUDA graphs require
            for _ in range(3):
                self._forward(static_in)
        torch.cuda.current_stream().wait_stream(side)
        graph = torch.cuda.CUDAGraph()
        with torch.cuda.graph(graph):
            static_out = self._forward(static_in)
        return graph, static_in, static_out


def median_ms(fn, runs: int = TIMING_RUNS, budget_s: float = TIMING_BUDGET_S) -> float:
    """Median wall time of ``fn`` after one warm-up call; fewer runs when they are slow."""
    fn()
    times = []
    deadline = time.perf_counter() + budget_s
    while len(times) < runs and (not times or time.perf_counter() < deadline):
        start = time.perf_counter()
        fn()
        times.append((time.perf_counter() - start) * 1e3)
    return statistics.median(times)
