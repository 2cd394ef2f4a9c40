"""Recognizer node: tracked skeletons (ista_ros/SkeletonArray) in, recognised interactions
(ista_ros/InteractionAction) out.

The subscription callback only validates and buffers the frame (ista_ros.core.recognition);
a worker thread takes the newest window whenever ``stride_frames`` new frames have
arrived (at most ``max_rate_hz`` times a second), runs the model and publishes. Windows
that go by while the model runs are skipped, never queued: the published action is always
about the newest frames. Every action carries the capture stamps of its window, the ids of
the entities in the model's slots and the class names.

Parameters (see config/recognize.yaml for defaults and meaning): weights, model_config,
device, precision, cuda_graph, cpu_threads, input_topic, output_topic, reliability, qos_depth,
window_frames, window_seconds, min_frames, stride_frames, max_rate_hz, smoothing,
confidence_threshold, entity_rule, forget_after, max_entities, diagnostics_period.
"""
from __future__ import annotations

import sys
import threading
import time
from collections import defaultdict

import numpy as np
import torch
from builtin_interfaces.msg import Time
from rcl_interfaces.msg import ParameterDescriptor
from rclpy.node import Node
from rclpy.qos import QoSProfile, ReliabilityPolicy

from ista_ros.core.buffer import FrameEvent
from ista_ros.core.checkpoint import load_checkpoint
from ista_ros.core.engine import InferenceEngine
from ista_ros.core.recognition import LiveRecognizer, Recognition, Settings, Skeleton
from ista_ros.msg import InteractionAction, SkeletonArray
from ista_ros.nodes.spin import run_node

WARN_PERIOD_S = 5.0
STAGES = ("callback", "window", "inference", "publish")

try:  # the diagnostics wheel is optional: without it the periodic log line remains
    from diagnostic_msgs.msg import DiagnosticArray, DiagnosticStatus, KeyValue
except ImportError:  # pragma: no cover - depends on the installation
    DiagnosticArray = None


def declare(node: Node, name: str, default):
    """Declare a parameter that takes any type (an int where a float is expected, from a
    YAML file or the command line, must not be an error) and return its value."""
    return node.declare_parameter(name, default, ParameterDescriptor(dynamic_typing=True)).value


def stamp_ns(stamp) -> int:
    return stamp.sec * 1_000_000_000 + stamp.nanosec


def ros_time(ns: int) -> Time:
    return Time(sec=ns // 1_000_000_000, nanosec=ns % 1_000_000_000)


def skeletons_from(msg: SkeletonArray) -> list[Skeleton]:
    return [Skeleton(s.id, s.kind, s.layout, np.array([(p.x, p.y, p.z) for p in s.joints], np.float32).reshape(-1, 3))
            for s in msg.skeletons]


def action_message(result: Recognition, frame_id: str) -> InteractionAction:
    msg = InteractionAction(label=result.label, class_id=result.class_id, confidence=float(result.confidence),
                            scores=result.scores.tolist(), class_names=result.class_names,
                            entity_ids=result.entity_ids, num_entities_observed=result.num_observed,
                            padded=result.padded)
    msg.header.stamp = ros_time(result.stamp)
    msg.header.frame_id = frame_id
    msg.window_start = ros_time(result.window_start)
    return msg


class StageStats:
    """Latencies per stage and event counts since the last report."""

    def __init__(self):
        self._lock = threading.Lock()
        self.reset()

    def reset(self):
        self.times = defaultdict(list)
        self.counts = defaultdict(int)
        self.since = time.monotonic()

    def add(self, stage: str, seconds: float):
        with self._lock:
            self.times[stage].append(seconds)

    def count(self, event: str, n: int = 1):
        with self._lock:
            self.counts[event] += n

    def take(self) -> tuple[dict, dict, float]:
        """(latencies, counts, elapsed seconds), and start a new period."""
        with self._lock:
            times, counts, elapsed = self.times, self.counts, time.monotonic() - self.since
            self.reset()
        return times, counts, elapsed


class RecognizerNode(Node):
    def __init__(self, node_name: str = "recognizer", **kwargs):
        super().__init__(node_name, **kwargs)
        self._wake = threading.Condition()  # before anything can fail: destroy_node needs it
        self._running = True
        self._worker = None
        p = lambda name, default: declare(self, name, default)  # noqa: E731
        weights = p("weights", "")
        if not weights:
            raise ValueError("no checkpoint given: set the parameter 'weights' to a checkpoint file.")
        loaded = load_checkpoint(weights, p("model_config", "") or None)
        self.engine = InferenceEngine(loaded.model, device=p("device", "auto"), precision=p("precision", "fp32"),
                                      cuda_graph=p("cuda_graph", True))
        threads = p("cpu_threads", 1)
        if self.engine.device.type == "cpu" and threads > 0:
            torch.set_num_threads(threads)  # on a busy CPU, 1 thread is several times faster (BENCHMARKS.md)
        cfg = loaded.config
        settings = Settings(window_frames=p("window_frames", 0), window_seconds=p("window_seconds", 3.0),
                            min_frames=p("min_frames", 8), entity_rule=p("entity_rule", "closest"),
                            smoothing=p("smoothing", 0.0), forget_after=p("forget_after", 1.0),
                            max_entities=p("max_entities", 16))
        self.recognizer = LiveRecognizer(loaded.meta, (cfg.num_channels, cfg.num_frames, cfg.num_joints,
                                                       cfg.num_persons), self.engine.predict, settings,
                                          input_axes=p("input_axes", "optical"))
        self.stride = max(1, p("stride_frames", 3))
        rate = p("max_rate_hz", 0.0)
        self.min_period = 1.0 / rate if rate > 0 else 0.0
        self.threshold = p("confidence_threshold", 0.0)
        self.engine.warm_up()

        reliability = p("reliability", "reliable")
        if reliability not in ("reliable", "best_effort"):
            raise ValueError(f"reliability must be 'reliable' or 'best_effort', not {reliability!r}.")
        qos = QoSProfile(depth=p("qos_depth", 10), reliability=ReliabilityPolicy.RELIABLE if reliability == "reliable"
                         else ReliabilityPolicy.BEST_EFFORT)
        self.publisher = self.create_publisher(InteractionAction, p("output_topic", "action"), 10)
        self.create_subscription(SkeletonArray, p("input_topic", "skeletons"), self._on_skeletons, qos)
        self.diagnostics = (self.create_publisher(DiagnosticArray, "/diagnostics", 10)
                            if DiagnosticArray is not None else None)
        self.create_timer(p("diagnostics_period", 5.0), self._report)

        self.stats = StageStats()
        self._last_warning: dict[str, float] = {}
        self._frame_id = ""
        self._new_frames = 0
        self._worker = threading.Thread(target=self._work, name="recognizer", daemon=True)
        self._worker.start()
        self.get_logger().info(
            f"recognising {len(loaded.meta.class_names)} classes ({', '.join(loaded.meta.class_names[:4])}"
            f"{', ...' if len(loaded.meta.class_names) > 4 else ''}) of {cfg.num_persons} {loaded.meta.layout} "
            f"entities on {self.engine.device} ({self.engine.precision}); ready")

    # ------------------------------------------------------------------ intake
    def _on_skeletons(self, msg: SkeletonArray) -> None:
        start = time.perf_counter()
        event, problems = self.recognizer.push(stamp_ns(msg.header.stamp), skeletons_from(msg))
        for problem in problems:
            self._warn(problem.key, problem.message)
        self.stats.count("frames")
        if event in (FrameEvent.DUPLICATE, FrameEvent.OUT_OF_ORDER):
            self.stats.count("frames_dropped")
            self._warn(event.value, f"frame dropped: its stamp is {'the same as' if event is FrameEvent.DUPLICATE else 'older than'} "
                                    "the newest frame's (a second publisher on the topic, or frames out of order).")
        elif event in (FrameEvent.RESTARTED, FrameEvent.RESUMED):
            self._warn(event.value, "skeleton stamps jumped " + ("back: the source restarted" if event is FrameEvent.RESTARTED
                                    else "forward: the source was gone") + "; starting a new window.")
        if event not in (FrameEvent.DUPLICATE, FrameEvent.OUT_OF_ORDER):
            with self._wake:
                self._frame_id = msg.header.frame_id
                self._new_frames += 1
                if self._new_frames >= self.stride:
                    self._wake.notify()
        self.stats.add("callback", time.perf_counter() - start)

    def _warn(self, key: str, message: str) -> None:
        """One message per kind of problem per WARN_PERIOD_S, however many frames have it."""
        self.stats.count("problems")
        now = time.monotonic()
        if now - self._last_warning.get(key, -WARN_PERIOD_S) >= WARN_PERIOD_S:
            self._last_warning[key] = now
            self.get_logger().warning(message)

    # ------------------------------------------------------------------ worker
    def _work(self) -> None:
        last = 0.0
        while True:
            with self._wake:
                self._wake.wait_for(lambda: self._new_frames >= self.stride or not self._running)
                if not self._running:
                    return
            pause = last + self.min_period - time.monotonic()
            if pause > 0:
                time.sleep(pause)
            with self._wake:  # frames that came meanwhile are in the window taken now
                self._new_frames, frame_id = 0, self._frame_id
            last = time.monotonic()
            try:
                self._recognise(frame_id)
            except Exception as err:  # a bad window must not stop the node
                if not self.context.ok():
                    return  # Ctrl-C shut the context down under this thread
                self._warn("inference", f"window skipped: {err}")

    def _recognise(self, frame_id: str) -> None:
        t0 = time.perf_counter()
        window = self.recognizer.window()
        if window is None:
            return
        x = self.recognizer.model_input(window)
        t1 = time.perf_counter()
        result = self.recognizer.classify(window, x)
        t2 = time.perf_counter()
        if result.confidence >= self.threshold:
            self.publisher.publish(action_message(result, frame_id))
            self.stats.count("actions")
        else:
            self.stats.count("below_threshold")
        t3 = time.perf_counter()
        self.stats.add("window", t1 - t0)
        self.stats.add("inference", t2 - t1)
        self.stats.add("publish", t3 - t2)
        self.stats.add("age", self.get_clock().now().nanoseconds / 1e9 - result.stamp / 1e9)

    # ------------------------------------------------------------------ diagnostics
    def _report(self) -> None:
        times, counts, elapsed = self.stats.take()
        values = {f"{event} rate (Hz)": f"{counts[event] / elapsed:.1f}" for event in ("frames", "actions")}
        values.update({f"{event} (count)": str(counts[event])
                       for event in ("frames_dropped", "below_threshold", "problems")})
        for stage in (*STAGES, "age"):
            if times[stage]:
                ms = np.array(times[stage]) * 1e3
                values[f"{stage} latency p50/max (ms)"] = f"{np.median(ms):.2f}/{ms.max():.2f}"
        self.get_logger().info(", ".join(f"{k}: {v}" for k, v in values.items()))
        if self.diagnostics is not None:
            level = DiagnosticStatus.WARN if counts["problems"] else DiagnosticStatus.OK
            status = DiagnosticStatus(level=level, name=f"{self.get_name()}: recognizer", hardware_id=str(self.engine.device),
                                      message="bad input frames" if counts["problems"] else "ok",
                                      values=[KeyValue(key=k, value=v) for k, v in values.items()])
            array = DiagnosticArray(status=[status])
            array.header.stamp = self.get_clock().now().to_msg()
            self.diagnostics.publish(array)

    def destroy_node(self):
        with self._wake:
            self._running = False
            self._wake.notify()
        if self._worker is not None:
            self._worker.join(timeout=5.0)
        return super().destroy_node()


def main(args=None) -> int:
    return run_node(RecognizerNode, "recognizer", args)


if __name__ == "__main__":
    sys.exit(main())
