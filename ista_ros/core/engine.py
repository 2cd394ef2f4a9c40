"""Inference engine: runs an ISTA-Net on the best device available, in batches, with an
optional reduced precision and CUDA-graph replay on the GPU (the live node's batch-1
latency is dominated by kernel launches, which a graph replays in one go)."""
from __future__ import annotations

import logging

import numpy as np
import torch

from ista_ros.core.device import resolve_device
from ista_ros.core.model import ISTANet
from ista_ros.errors import UserError

log = logging.getLogger("ista_ros.engine")
PRECISIONS = {"fp32": None, "bf16": torch.bfloat16, "fp16": torch.float16}


class InputError(UserError, ValueError):
    """Input that the model cannot take; the message says what is wrong."""


class InferenceEngine:
    def __init__(self, model: ISTANet, device: str = "auto", precision: str = "fp32", cuda_graph: bool = True):
        if precision not in PRECISIONS:
            raise InputError(f"precision '{precision}' is unknown; choose one of {', '.join(PRECISIONS)}.")
        self.device = resolve_device(device)
        if self.device.type == "cpu" and precision == "fp16":
            log.warning("fp16 is not supported on the CPU: using fp32.")
            precision = "fp32"
        self.precision = precision
        self.model = model.eval().to(self.device)
        cfg = model.cfg
        self.sample_shape = (cfg.num_channels, cfg.num_frames, cfg.num_joints, cfg.num_persons)
        self.use_graphs = cuda_graph and self.device.type == "cuda"
        self._graphs: dict[int, tuple[torch.cuda.CUDAGraph, torch.Tensor, torch.Tensor]] = {}

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
        outputs = [self._run(torch.from_numpy(np.ascontiguousarray(x[i:i + batch_size])))
                   for i in range(0, len(x), batch_size)]
        if not outputs:
            return np.zeros((0, self.model.cfg.num_classes), np.float32)
        return np.concatenate(outputs)

    def warm_up(self, batch_size: int = 1) -> None:
        """Pay allocation, autotuning and graph capture before the first real window."""
        self.predict(np.ones((batch_size, *self.sample_shape), np.float32), batch_size)

    def _run(self, batch: torch.Tensor) -> np.ndarray:
        batch = batch.to(self.device, non_blocking=True)
        if self.use_graphs:
            logits = self._replay(batch)
        else:
            logits = self._forward(batch)
        return logits.float().cpu().numpy()

    def _forward(self, batch: torch.Tensor) -> torch.Tensor:
        dtype = PRECISIONS[self.precision]
        with torch.autocast(self.device.type, dtype=dtype, enabled=dtype is not None):
            return self.model(batch)

    def _replay(self, batch: torch.Tensor) -> torch.Tensor:
        n = batch.shape[0]
        if n not in self._graphs:
            self._graphs[n] = self._capture(batch)
        graph, static_in, static_out = self._graphs[n]
        static_in.copy_(batch)
        graph.replay()
        return static_out.clone()

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
