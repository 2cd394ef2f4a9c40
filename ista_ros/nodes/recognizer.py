"""Recognizer node: tracked skeletons (ista_ros/SkeletonArray) in, recognised interactions
of every group in view out.

The subscription callback only validates and buffers the frame (ista_ros.core.recognition);
a worker thread takes the newest windows whenever ``stride_frames`` new frames have
arrived (at most ``max_rate_hz`` times a second): one window per group of entities
(ista_ros.core.groups), all recognised in one batched model call. Windows that go by while
the model runs are skipped, never queued: what is published is always about the newest
frames. Published every stride:

- ``actions`` (ista_ros/InteractionActionArray): one action per group, best first, each
  with its ``group_id`` and ``entity_ids``; with entities in view but no group, one "no
  interaction" action about the closest of them (reason too_far or too_few_entities);
  a group's answer may be "no interaction" too (reasons low_confidence, none_class,
  too_few_joints: InteractionAction.msg); empty when nobody is in view;
- ``action`` (ista_ros/InteractionAction): the first of them, the single best group, as
  before groups existed (an interaction if any, else the best "no interaction" answer);
- ``action_markers`` (visualization_msgs/MarkerArray, unless ``markers`` is off): each
  group's skeletons and label for RViz / Foxglove, in the skeletons' frame; a DELETEALL
  when the node starts.

"No interaction" is an answer, never silence: class_id -1, label "none" and a reason
(InteractionAction.msg). Every action carries the capture stamps of its window, the ids
of the entities in the model's slots and the class names.

``weights`` is a checkpoint or an exported .onnx file. ``backend`` auto runs an .onnx file
with ONNX Runtime, and a checkpoint on the CPU with whichever of torch and ONNX Runtime was
faster at start-up (one log line gives both timings); the ONNX export this needs is kept in
~/.cache/ista_ros/onnx (``ISTA_ROS_CACHE_DIR``), so only the first start pays for it.

Parameters: the fields of ``RecognizerParameters`` below and of the core's
``ista_ros.core.recognition.Settings`` (window, entities, smoothing); their meaning is in
config/recognize.yaml.
"""
from __future__ import annotations

import contextlib
import logging
import sys
import threading
import time
from collections import defaultdict
from dataclasses import dataclass

import numpy as np
from rclpy.node import Node
from rclpy.qos import QoSProfile, ReliabilityPolicy
from std_msgs.msg import Header
from visualization_msgs.msg import MarkerArray

from ista_ros.core.buffer import FrameEvent
from ista_ros.core.engine import InferenceEngine, load_weights
from ista_ros.core.onnx_backend import cached_export
from ista_ros.core.recognition import LiveRecognizer, Settings
from ista_ros.errors import UserError
from ista_ros.msg import InteractionAction, InteractionActionArray, SkeletonArray
from ista_ros.ros.markers import action_markers, delete_all_markers, labels_from, poses_from
from ista_ros.ros.messages import action_message, ros_time, skeletons_from, stamp_ns
from ista_ros.ros.params import declare_dataclass
from ista_ros.ros.spin import run_node
from ista_ros.ros.worker import NewestWinsWorker

WARN_PERIOD_S = 5.0
MARKERS_TOPIC = "action_markers"
STAGES = ("callback", "window", "inference", "publish")
RELIABILITY = {"reliable": ReliabilityPolicy.RELIABLE, "best_effort": ReliabilityPolicy.BEST_EFFORT}

try:  # the diagnostics wheel is optional: without it the periodic log line remains
    from diagnostic_msgs.msg import DiagnosticArray, DiagnosticStatus, KeyValue
except ImportError:  # pragma: no cover - depends on the installation
    DiagnosticArray = None


@dataclass
class RecognizerParameters:
    """The node's own parameters (the core's Settings are declared beside them)."""
    weights: str = ""
    model_config: str = ""
    device: str = "auto"
    precision: str = "fp32"
    backend: str = "auto"
    cuda_graph: bool = True
    cpu_threads: int = 1
    input_topic: str = "skeletons"
    input_axes: str = "optical"
    output_topic: str = "action"
    actions_topic: str = "actions"
    markers: bool = True
    marker_lifetime: float = 1.0
    reliability: str = "reliable"
    qos_depth: int = 10
    stride_frames: int = 3
    max_rate_hz: float = 0.0
    diagnostics_period: float = 5.0


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


class _RosLogHandler(logging.Handler):
    def __init__(self, ros_logger):
        super().__init__(logging.INFO)
        self.ros_logger = ros_logger

    def emit(self, record: logging.LogRecord) -> None:
        write = self.ros_logger.warning if record.levelno >= logging.WARNING else self.ros_logger.info
        write(record.getMessage())


@contextlib.contextmanager
def engine_log_to(ros_logger):
    """The core's Python log lines (ista_ros.*) go to ``ros_logger`` meanwhile, and only there."""
    core = logging.getLogger("ista_ros")
    handler, saved = _RosLogHandler(ros_logger), (core.level, core.propagate)
    core.addHandler(handler)
    core.setLevel(logging.INFO)
    core.propagate = False
    try:
        yield
    finally:
        core.removeHandler(handler)
        core.setLevel(saved[0])
        core.propagate = saved[1]


class RecognizerNode(Node):
    def __init__(self, node_name: str = "recognizer", **kwargs):
        super().__init__(node_name, **kwargs)
        self.worker = None  # before anything can fail: destroy_node needs it
        params = declare_dataclass(self, RecognizerParameters)
        settings = declare_dataclass(self, Settings)
        if not params.weights:
            raise UserError("no checkpoint given: set the parameter 'weights' to a checkpoint or .onnx file.")
        if params.reliability not in RELIABILITY:
            raise UserError(f"reliability must be 'reliable' or 'best_effort', not {params.reliability!r}.")
        loaded = self._load(params, settings)
        qos = QoSProfile(depth=params.qos_depth, reliability=RELIABILITY[params.reliability])
        self.publisher = self.create_publisher(InteractionAction, params.output_topic, 10)
        self.array_publisher = self.create_publisher(InteractionActionArray, params.actions_topic, 10)
        self.marker_lifetime = params.marker_lifetime
        self.markers = self.create_publisher(MarkerArray, MARKERS_TOPIC, 10) if params.markers else None
        if self.markers is not None:
            self.markers.publish(delete_all_markers())  # markers of an earlier run stay in RViz otherwise
        self.create_subscription(SkeletonArray, params.input_topic, self._on_skeletons, qos)
        self.diagnostics = (self.create_publisher(DiagnosticArray, "/diagnostics", 10)
                            if DiagnosticArray is not None else None)
        self.create_timer(params.diagnostics_period, self._report)
        self.stats = StageStats()
        self._last_warning: dict[str, float] = {}
        self.worker = NewestWinsWorker(self, self._recognise, self._on_worker_error, batch=params.stride_frames,
                                       min_period=1.0 / params.max_rate_hz if params.max_rate_hz > 0 else 0.0)
        names = loaded.meta.class_names
        self.get_logger().info(
            f"recognising {len(names)} classes ({', '.join(names[:4])}{', ...' if len(names) > 4 else ''}) of "
            f"{loaded.config.num_persons} {loaded.meta.layout} entities on {self.engine.device} "
            f"({self.engine.backend}, {self.engine.precision}); ready")
        hint = self.recognizer.closed_set_hint()
        if hint:
            self.get_logger().info(hint)

    def _load(self, params: RecognizerParameters, settings: Settings):
        """The checkpoint (or .onnx file), its inference engine (warmed up) and the live
        recognizer around it. The engine's log lines (the device, the backend auto chose) go
        to the node's log."""
        loaded = load_weights(params.weights, params.model_config or None)
        with engine_log_to(self.get_logger()):
            self.engine = InferenceEngine(
                loaded.model, device=params.device, precision=params.precision, cuda_graph=params.cuda_graph,
                backend=params.backend, cpu_threads=params.cpu_threads,
                onnx_export=lambda model: cached_export(model, loaded.meta, params.weights))
        self.recognizer = LiveRecognizer(loaded.meta, loaded.config.input_shape, self.engine.predict, settings,
                                         input_axes=params.input_axes)
        self.engine.warm_up()
        return loaded

    # ------------------------------------------------------------------ intake
    def _on_skeletons(self, msg: SkeletonArray) -> None:
        start = time.perf_counter()
        event, problems = self.recognizer.push(stamp_ns(msg.header.stamp), skeletons_from(msg))
        for problem in problems:
            self._warn(problem.key, problem.message)
        self.stats.count("frames")
        if event in (FrameEvent.DUPLICATE, FrameEvent.OUT_OF_ORDER):
            self.stats.count("frames_dropped")
            relation = "the same as" if event is FrameEvent.DUPLICATE else "older than"
            self._warn(event.value, f"frame dropped: its stamp is {relation} the newest frame's (a second publisher "
                                    "on the topic, or frames out of order).")
        elif event in (FrameEvent.RESTARTED, FrameEvent.RESUMED):
            jump = "back: the source restarted" if event is FrameEvent.RESTARTED else "forward: the source was gone"
            self._warn(event.value, f"skeleton stamps jumped {jump}; starting a new window.")
        if event not in (FrameEvent.DUPLICATE, FrameEvent.OUT_OF_ORDER):
            self.worker.put(msg)  # the windows are taken from the recognizer's buffers; msg: header and markers
        self.stats.add("callback", time.perf_counter() - start)

    def _warn(self, key: str, message: str) -> None:
        """One message per kind of problem per WARN_PERIOD_S, however many frames have it."""
        self.stats.count("problems")
        now = time.monotonic()
        if now - self._last_warning.get(key, -WARN_PERIOD_S) >= WARN_PERIOD_S:
            self._last_warning[key] = now
            self.get_logger().warning(message)

    # ------------------------------------------------------------------ worker
    def _on_worker_error(self, err: Exception) -> None:
        # a bad window must not stop the node; a WindowError (e.g. NaN scores) names its kind
        self._warn(getattr(err, "key", "inference"), f"window skipped: {err}")

    def _recognise(self, msg: SkeletonArray) -> None:
        t0 = time.perf_counter()
        windows = self.recognizer.windows()
        if windows is None:
            return  # fewer frames than a window needs
        for problem in (p for w in windows for p in w.problems):  # e.g. people upside down: wrong input_axes
            self._warn(problem.key, problem.message)
        x = self.recognizer.model_inputs(windows) if windows else None
        t1 = time.perf_counter()
        results, problems = self.recognizer.recognise(windows, x)
        for problem in problems:  # e.g. NaN scores: that group's window is skipped
            self._warn(problem.key, f"window skipped: {problem.message}")
        t2 = time.perf_counter()
        self._publish(msg, results)
        t3 = time.perf_counter()
        self.stats.add("window", t1 - t0)
        self.stats.add("inference", t2 - t1)
        self.stats.add("publish", t3 - t2)
        self.stats.add("groups", sum(r.grouped for r in results))
        if results:
            self.stats.add("age", self.get_clock().now().nanoseconds / 1e9 - results[0].stamp / 1e9)

    def _publish(self, msg: SkeletonArray, results) -> None:
        """The array of all groups, the best on ``action``, and the markers."""
        newest = max((r.stamp for r in results), default=stamp_ns(msg.header.stamp))  # the windows' newest frame
        array = InteractionActionArray(header=Header(stamp=ros_time(newest), frame_id=msg.header.frame_id),
                                       actions=[action_message(r, msg.header.frame_id) for r in results])
        self.array_publisher.publish(array)
        if results:
            self.publisher.publish(array.actions[0])
            self.stats.count("actions")
            self.stats.count("no_interaction", sum(not r.is_interaction for r in results))
        if self.markers is not None:
            self.markers.publish(action_markers(msg.header, poses_from(msg), labels_from(array), self.marker_lifetime))

    # ------------------------------------------------------------------ diagnostics
    def _report(self) -> None:
        times, counts, elapsed = self.stats.take()
        values = {f"{event} rate (Hz)": f"{counts[event] / elapsed:.1f}" for event in ("frames", "actions")}
        values.update({f"{event} (count)": str(counts[event])
                       for event in ("frames_dropped", "no_interaction", "problems")})
        if times["groups"]:
            values["groups per stride mean/max"] = f"{np.mean(times['groups']):.1f}/{max(times['groups']):.0f}"
        for stage in (*STAGES, "age"):
            if times[stage]:
                ms = np.array(times[stage]) * 1e3
                values[f"{stage} latency p50/max (ms)"] = f"{np.median(ms):.2f}/{ms.max():.2f}"
        self.get_logger().info(", ".join(f"{k}: {v}" for k, v in values.items()))
        if self.diagnostics is not None:
            level = DiagnosticStatus.WARN if counts["problems"] else DiagnosticStatus.OK
            status = DiagnosticStatus(level=level, name=f"{self.get_name()}: recognizer",
                                      hardware_id=str(self.engine.device),
                                      message="bad input frames" if counts["problems"] else "ok",
                                      values=[KeyValue(key=k, value=v) for k, v in values.items()])
            array = DiagnosticArray(status=[status])
            array.header.stamp = self.get_clock().now().to_msg()
            self.diagnostics.publish(array)

    def destroy_node(self):
        if self.worker is not None:
            self.worker.stop()
        return super().destroy_node()


def main(args=None) -> int:
    return run_node(RecognizerNode, "recognizer", args)


if __name__ == "__main__":
    sys.exit(main())
