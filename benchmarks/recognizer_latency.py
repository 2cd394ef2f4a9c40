"""Per-stage latency of the recognizer node's path, in one process on real messages.

Stages, as the node runs them: callback (SkeletonArray -> validated, layout-mapped,
buffered), window (entity choice + gathering + model_input, the training pipeline's
function), inference (InferenceEngine + softmax + smoothing), publish (InteractionAction
built and published by a real rclpy publisher with a subscriber in the process).
The model has random weights: latency does not depend on what it learnt.

    .venv/bin/python benchmarks/recognizer_latency.py [--iters 50] [--device cpu]
"""
from __future__ import annotations

import argparse
import os
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
CONFIGS = ["config/model/demo_small.yaml", "config/model/sbu.yaml", "config/model/ntu26.yaml"]


def stream(num_frames: int, num_entities: int, rng) -> np.ndarray:
    """(3, T, 25, E) plausible-size ntu25 bodies drifting about."""
    base = rng.normal(0, 0.3, (3, 1, 25, num_entities)) + np.arange(num_entities) * 1.0
    drift = np.cumsum(rng.normal(0, 0.01, (3, num_frames, 25, num_entities)), axis=1)
    return (base + drift).astype(np.float32)


def measure(config: str, iters: int, device: str, entities: int, node, publisher) -> dict:
    from ista_ros.core.checkpoint import meta_from_yaml
    from ista_ros.core.config import load_model_config, read_yaml
    from ista_ros.core.engine import InferenceEngine
    from ista_ros.core.model import ISTANet
    from ista_ros.core.recognition import LiveRecognizer, Settings
    from ista_ros.nodes.player import sequence_frames
    from ista_ros.nodes.recognizer import action_message, skeletons_from

    cfg = load_model_config(ROOT / config)
    meta = meta_from_yaml(read_yaml(ROOT / config), cfg)  # sbu15 models get the ntu25 stream mapped
    engine = InferenceEngine(ISTANet(cfg), device=device)
    engine.warm_up()
    rec = LiveRecognizer(meta, cfg.input_shape, engine.predict, Settings(window_seconds=3.0))
    rng = np.random.default_rng(0)
    frames = sequence_frames(stream(90 + iters, entities, rng), ids=[f"p{e}" for e in range(entities)])
    times = {stage: [] for stage in ("callback", "window", "inference", "publish")}
    for i, (_, msg) in enumerate(frames):
        msg.header.stamp.sec, msg.header.stamp.nanosec = divmod(i * 33_333_333, 1_000_000_000)
        t0 = time.perf_counter()
        rec.push(i * 33_333_333, skeletons_from(msg))
        t1 = time.perf_counter()
        if i >= 90:  # a full 3 s window, as in steady state
            times["callback"].append(t1 - t0)
            window = rec.window()
            x = rec.model_input(window)
            t2 = time.perf_counter()
            result = rec.classify(window, x)
            t3 = time.perf_counter()
            publisher.publish(action_message(result, "camera"))
            t4 = time.perf_counter()
            times["window"].append(t2 - t1)
            times["inference"].append(t3 - t2)
            times["publish"].append(t4 - t3)
    return {stage: np.array(v) * 1e3 for stage, v in times.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--iters", type=int, default=50, help="windows per configuration (ntu26: a fifth)")
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--entities", type=int, default=2, help="skeletons per frame (default 2)")
    parser.add_argument("--threads", type=int, default=0, help="torch CPU threads (default: torch's choice)")
    parser.add_argument("--configs", nargs="+", default=CONFIGS)
    args = parser.parse_args()
    if args.threads:
        import torch
        torch.set_num_threads(args.threads)
    os.environ.setdefault("ROS_AUTOMATIC_DISCOVERY_RANGE", "LOCALHOST")
    import rclpy

    from ista_ros.msg import InteractionAction

    rclpy.init()
    node = rclpy.create_node("recognizer_latency")
    publisher = node.create_publisher(InteractionAction, "benchmark_action", 10)
    node.create_subscription(InteractionAction, "benchmark_action", lambda _: None, 10)
    print(f"torch threads: {__import__('torch').get_num_threads()}")
    print("| model config | entities | stage | p50 ms | p90 ms | max ms |\n|---|---|---|---|---|---|")
    try:
        for config in args.configs:
            iters = max(3, args.iters // 5) if "ntu26" in config else args.iters
            times = measure(config, iters, args.device, args.entities, node, publisher)
            total = sum(times.values())
            for stage, ms in [*times.items(), ("total", total)]:
                print(f"| {Path(config).stem} | {args.entities} | {stage} | {np.median(ms):.2f} | "
                      f"{np.percentile(ms, 90):.2f} | {ms.max():.2f} |", flush=True)
    finally:
        node.destroy_node()
        rclpy.try_shutdown()


if __name__ == "__main__":
    main()
