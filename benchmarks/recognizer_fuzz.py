"""Fuzz the recognizer node: a real node process, a real rclpy publisher, thousands of bad
messages interleaved with a valid two-person stream (issue #10, "Done when").

Phases, at the stream's 30 FPS in real time: warm-up (valid frames only), fuzz (after every
valid frame ``--per-frame`` bad messages of random classes, until ``--bad`` were sent),
clean (valid frames only, two windows and a second). Measured: the node stays alive; no
published action (``actions`` and ``action``) holds a NaN or infinite score or confidence;
the time (and windows) from the last bad message to the first valid answer and to the first
answer whose whole window is clean; the problems /diagnostics counts against the least the
bad messages must cause (classes the node drops silently by design count 0).

    .venv/bin/python benchmarks/recognizer_fuzz.py [--bad 3000] [--per-frame 6] [--domain 77]
"""
from __future__ import annotations

import argparse
import math
import os
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
WEIGHTS = ROOT / "ista_ros/demo/model/demo_small.pt"
FPS = 30
FRAME_NS = 1_000_000_000 // FPS
WINDOW_S = 3.0
DIAGNOSTICS_PERIOD_S = 1.0
IDS = ("person_a", "person_b")
TOPICS = {"input": "fuzz_skeletons", "action": "fuzz_action", "actions": "fuzz_actions"}
# the least number of problems the node must count per bad message of each class (the
# classes with 0 are dropped or handled silently by design: unknown kinds, hands, flickering
# ids; upside-down people are a per-window problem; a plausible far pair is valid input)
COUNTED = {"huge": 1, "nonfinite": 1, "wrong_joints": 1, "empty_skeleton": 1, "unknown_layout": 1,
           "unknown_kind": 0, "duplicate_ids": 1, "too_many": 1, "flicker_ids": 0, "upside_down": 0,
           "far_plausible": 0, "no_skeletons": 0, "duplicate_stamp": 1, "out_of_order": 1,
           "jump_back": 1, "jump_forward": 1, "zero_stamp": 1}
STAMP_CLASSES = ("duplicate_stamp", "out_of_order", "jump_back", "jump_forward", "zero_stamp")
REORDER_NS, JUMP_NS = 500_000_000, 60_000_000_000  # the node's reorder tolerance; a jump far beyond it


@dataclass
class Outgoing:
    kind: str  # "valid" or a class of COUNTED
    phase: str  # warm, fuzz, clean
    stamp: int
    msg: object


@dataclass
class Received:
    """What the fuzzer's node heard, with the wall time of each message."""
    actions: list = field(default_factory=list)  # (wall, InteractionActionArray)
    action: list = field(default_factory=list)  # (wall, InteractionAction)
    diagnostics: list = field(default_factory=list)  # (wall, level, {key: value})


# --------------------------------------------------------------------------- the stream

def valid_frames(num_frames: int, seed: int):
    """(optical messages, kinect-space (T, E, 25, 3) joints) of the demo's two people."""
    from ista_ros.nodes.player import sequence_frames
    from ista_ros.synthetic import interactions

    rng = np.random.default_rng(seed)
    classes = np.resize(rng.permutation(len(interactions.CLASS_NAMES)), math.ceil(num_frames / FPS / 3) + 2)
    sequence, _ = interactions.generate_stream(classes, rng)
    sequence = sequence[:, :num_frames]
    frames = sequence_frames(sequence, FPS, ids=list(IDS), layout="ntu25", frame_id="camera_optical_frame",
                             axes=interactions.AXES)
    return [msg for _, msg in frames], sequence.transpose(1, 3, 2, 0)


def points_of(skeleton) -> np.ndarray:
    return np.array([(p.x, p.y, p.z) for p in skeleton.joints], dtype=float).reshape(-1, 3)


def bad_skeletons(kind: str, frame, kinect: np.ndarray, rng):
    """The skeletons of one bad message of ``kind``, made from a valid frame."""
    from ista_ros.ros.messages import skeleton_message

    pair = [(s.id, points_of(s)) for s in frame.skeletons]
    if not pair:
        return []

    def person(entity_id, points, kind_="person", layout="ntu25"):
        return skeleton_message(entity_id, kind_, layout, points)

    def corrupt(value):
        (first, points), rest = pair[0], pair[1:]
        points = points.copy()
        points[rng.integers(len(points)), rng.integers(3)] = value
        return [person(first, points)] + [person(i, p) for i, p in rest]

    if kind == "huge":
        return corrupt(rng.choice([1e30, -1e30, 1e25, 1e6, 150.0]))
    if kind == "nonfinite":
        return corrupt(rng.choice([np.nan, np.inf, -np.inf]))
    if kind == "wrong_joints":
        count = int(rng.choice([1, 15, 17, 24, 26, 33]))
        return [person(pair[0][0], np.resize(pair[0][1], (count, 3)))] + [person(i, p) for i, p in pair[1:]]
    if kind == "empty_skeleton":
        return [person(pair[0][0], np.zeros((0, 3)))] + [person(i, p) for i, p in pair[1:]]
    if kind == "unknown_layout":
        return [person(i, p, layout=str(rng.choice(["ntu99", "coco_wholebody", "smpl"]))) for i, p in pair]
    if kind == "unknown_kind":
        return [person(f"thing{j}", p + 0.3, kind_=str(rng.choice(["robot", "dog", "chair"])))
                for j, (_, p) in enumerate(pair)] + [person(i, p) for i, p in pair]
    if kind == "duplicate_ids":
        return [person(i, p) for i, p in pair] + [person(pair[0][0], pair[-1][1])]
    if kind == "too_many":  # hands listed before people, then more people than max_entities
        hands = [person(f"hand{j}", rng.normal(0, 0.05, (21, 3)) + pair[0][1][11], "hand", "hand21")
                 for j in range(20)]
        crowd = [person(f"crowd{j}", pair[-1][1] + [3.0 * (j + 1), 0, 0]) for j in range(16)]
        return hands + [person(i, p) for i, p in pair] + crowd
    if kind == "flicker_ids":
        return [person(f"track{rng.integers(1_000_000)}", p) for _, p in pair]
    if kind == "upside_down":  # Kinect-space joints published as if optical: y down becomes y up
        return [person(i, p) for i, p in zip(IDS, kinect) if p.any()]
    if kind == "far_plausible":
        return [person(i, p + [0.0, 0.0, 90.0]) for i, p in pair]
    if kind == "no_skeletons":
        return []
    return [person(i, p) for i, p in pair]  # the stamp classes: valid content


def bad_stamp(kind: str, newest: int, fresh: int) -> int:
    return {"duplicate_stamp": newest, "out_of_order": newest - REORDER_NS // 3, "jump_back": newest - JUMP_NS,
            "jump_forward": newest + JUMP_NS, "zero_stamp": 0}.get(kind, fresh)


def plan(num_bad: int, per_frame: int, warm_s: float, clean_s: float, seed: int = 0,
         classes=tuple(COUNTED)) -> list[Outgoing]:
    """Every message to publish, in order; valid frames FRAME_NS apart from a realistic epoch."""
    from ista_ros.ros.messages import ros_time, skeleton_array

    rng = np.random.default_rng(seed)
    warm, fuzz, clean = int(warm_s * FPS), math.ceil(num_bad / per_frame), int(clean_s * FPS)
    frames, kinect = valid_frames(warm + fuzz + clean, seed)
    start = time.time_ns()
    newest, out, kinds, sent_bad = None, [], list(classes), 0
    for index, frame in enumerate(frames):
        phase = "warm" if index < warm else "fuzz" if index < warm + fuzz else "clean"
        stamp = start + index * FRAME_NS
        out.append(Outgoing("valid", phase, stamp, frame))
        newest = accepted_newest(newest, stamp)
        bad_here = min(per_frame, num_bad - sent_bad) if phase == "fuzz" else 0
        sent_bad += bad_here
        for k in range(bad_here):
            kind = str(rng.choice(kinds))
            stamp_k = bad_stamp(kind, newest, stamp + (k + 1) * FRAME_NS // (per_frame + 1))
            msg = skeleton_array(bad_skeletons(kind, frame, kinect[index], rng), frame.header)
            msg.header.stamp = ros_time(stamp_k)
            out.append(Outgoing(kind, phase, stamp_k, msg))
            newest = accepted_newest(newest, stamp_k)
    for o in out:
        if o.kind == "valid":
            o.msg.header.stamp = ros_time(o.stamp)
    return out


def accepted_newest(newest: int | None, stamp: int) -> int:
    """The node's newest stamp after ``stamp`` (duplicates and slightly older stamps are dropped)."""
    if newest is None or stamp > newest or newest - stamp > REORDER_NS:
        return stamp
    return newest


# --------------------------------------------------------------------------- the node

def start_node(weights: Path, log_path: Path, smoothing: float) -> subprocess.Popen:
    params = [f"weights:={weights}", "backend:=torch", f"input_topic:={TOPICS['input']}",
              f"output_topic:={TOPICS['action']}", f"actions_topic:={TOPICS['actions']}", "markers:=false",
              f"window_seconds:={WINDOW_S}", f"diagnostics_period:={DIAGNOSTICS_PERIOD_S}",
              f"smoothing:={smoothing}", "qos_depth:=1000"]
    args = [sys.executable, "-m", "ista_ros.nodes.recognizer", "--ros-args"]
    for param in params:
        args += ["-p", param]
    env = {**os.environ, "PYTHONUNBUFFERED": "1", "PYTHONPATH": f"{ROOT}{os.pathsep}{os.environ.get('PYTHONPATH', '')}"}
    with open(log_path, "wb") as log:
        return subprocess.Popen(args, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, env=env)


def wait_for(condition, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.05)
    return True


def listen(node, received: Received) -> None:
    from diagnostic_msgs.msg import DiagnosticArray

    from ista_ros.msg import InteractionAction, InteractionActionArray

    node.create_subscription(InteractionActionArray, TOPICS["actions"],
                             lambda m: received.actions.append((time.monotonic(), m)), 1000)
    node.create_subscription(InteractionAction, TOPICS["action"],
                             lambda m: received.action.append((time.monotonic(), m)), 1000)

    def on_diagnostics(msg):
        for status in msg.status:
            if status.name.endswith(": recognizer"):
                received.diagnostics.append((time.monotonic(), int.from_bytes(status.level, "little")
                                             if isinstance(status.level, bytes) else int(status.level),
                                             {kv.key: kv.value for kv in status.values}))

    node.create_subscription(DiagnosticArray, "/diagnostics", on_diagnostics, 100)


def publish(publisher, messages: list[Outgoing]) -> dict[str, float]:
    """In real time: each valid frame at its time, the bad messages after it at once.
    Returns the wall time each phase began and the last bad message went out."""
    times, t0, frame = {}, time.monotonic(), 0
    for out in messages:
        if out.kind == "valid":
            time.sleep(max(0.0, t0 + frame / FPS - time.monotonic()))
            frame += 1
        times.setdefault(out.phase, time.monotonic())
        publisher.publish(out.msg)
        if out.kind != "valid":
            times["last_bad"] = time.monotonic()
    times["end"] = time.monotonic()
    return times


# --------------------------------------------------------------------------- measuring

def finite(action) -> bool:
    return bool(np.all(np.isfinite(np.asarray(action.scores, dtype=float))) and math.isfinite(action.confidence))


def measure(messages: list[Outgoing], received: Received, times: dict, alive: bool) -> dict:
    from ista_ros.ros.messages import stamp_ns

    bad = [o for o in messages if o.kind != "valid"]
    first_clean = next(o.stamp for o in messages if o.phase == "clean")
    actions = [(w, a) for w, array in received.actions for a in array.actions] + received.action
    answers = [(w, a) for w, a in actions if w > times["last_bad"] and stamp_ns(a.header.stamp) >= first_clean
               and finite(a) and set(a.entity_ids) == set(IDS)]
    first_answer = min((w for w, _ in answers), default=math.inf) - times["last_bad"]
    clean_window = min((w for w, a in answers if stamp_ns(a.window_start) >= first_clean), default=math.inf)
    fuzz_end = times["clean"] + 1.5 * DIAGNOSTICS_PERIOD_S  # reports still counting the fuzz period

    def diagnostics(since, until):
        reports = [(level, v) for w, level, v in received.diagnostics if since <= w < until]
        return (sum(int(v.get("problems (count)", 0)) for _, v in reports),
                sum(float(v.get("frames rate (Hz)", 0)) * DIAGNOSTICS_PERIOD_S for _, v in reports),
                max((level for level, _ in reports), default=-1))

    problems, frames, level = diagnostics(times["fuzz"] - 0.5 * DIAGNOSTICS_PERIOD_S, fuzz_end)
    return {
        "alive": alive, "bad": len(bad), "by_class": Counter(o.kind for o in bad),
        "valid": len(messages) - len(bad), "sent_per_s": len(messages) / (times["end"] - times["warm"]),
        "actions": len(actions), "actions_fuzz": sum(times["fuzz"] <= w < times["clean"] for w, _ in actions),
        "nan_actions": sum(not finite(a) for _, a in actions),
        "first_answer_s": first_answer, "clean_window_s": clean_window - times["last_bad"],
        "problems_fuzz": problems, "problems_expected": sum(COUNTED[o.kind] for o in bad),
        "frames_received_fuzz": frames, "level_fuzz": level,
        "problems_after": diagnostics(fuzz_end + DIAGNOSTICS_PERIOD_S, math.inf)[0],
        "level_last": received.diagnostics[-1][1] if received.diagnostics else -1,
    }


def run(num_bad: int = 3000, per_frame: int = 6, warm_s: float = 4.0, clean_s: float = 2 * WINDOW_S + 1.0,
        weights: Path = WEIGHTS, smoothing: float = 0.5, seed: int = 0, classes=tuple(COUNTED)) -> tuple[dict, str]:
    """Start the node, play the fuzzed stream at it, stop it; (results, the node's log)."""
    import rclpy
    from rclpy.executors import SingleThreadedExecutor
    from rclpy.qos import QoSProfile, ReliabilityPolicy

    from ista_ros.msg import SkeletonArray

    messages = plan(num_bad, per_frame, warm_s, clean_s, seed, classes)
    log_path = Path(tempfile.mkstemp(prefix="recognizer_fuzz_", suffix=".log")[1])
    child = start_node(weights, log_path, smoothing)
    context = rclpy.Context()
    rclpy.init(context=context)
    node = rclpy.create_node("recognizer_fuzzer", context=context)
    executor = SingleThreadedExecutor(context=context)
    executor.add_node(node)
    spinner = threading.Thread(target=executor.spin, daemon=True)
    received = Received()
    try:
        listen(node, received)
        publisher = node.create_publisher(SkeletonArray, TOPICS["input"],
                                          QoSProfile(depth=1000, reliability=ReliabilityPolicy.RELIABLE))
        spinner.start()
        ready = wait_for(lambda: "ready" in log_path.read_text(errors="replace") or child.poll() is not None, 180)
        if not ready or child.poll() is not None or not wait_for(
                lambda: publisher.get_subscription_count() > 0 and node.count_publishers(TOPICS["actions"]) > 0, 30):
            raise RuntimeError(f"the recognizer did not start:\n{log_path.read_text(errors='replace')}")
        times = publish(publisher, messages)
        time.sleep(2 * DIAGNOSTICS_PERIOD_S + 0.5)  # the last answers and reports
        alive = child.poll() is None
        return measure(messages, received, times, alive), log_path.read_text(errors="replace")
    finally:
        if child.poll() is None:
            child.send_signal(signal.SIGINT)
            try:
                child.wait(10)
            except subprocess.TimeoutExpired:
                child.kill()
                child.wait()
        executor.shutdown()
        node.destroy_node()
        context.try_shutdown()
        log_path.unlink(missing_ok=True)


def warnings_of(log: str) -> list[str]:
    """The distinct warnings the node logged (their first words)."""
    lines = [line.split("]: ", 1)[-1] for line in log.splitlines() if "WARN" in line]
    return sorted({" ".join(line.split()[:9]) for line in lines})


def report(r: dict) -> str:
    rows = [("node alive at the end", "yes" if r["alive"] else "NO"),
            ("bad messages sent", f"{r['bad']} ({len(r['by_class'])} classes)"),
            ("valid frames sent", r["valid"]),
            ("messages per second", f"{r['sent_per_s']:.0f}"),
            ("actions received (all / during fuzz)", f"{r['actions']} / {r['actions_fuzz']}"),
            ("actions with NaN/inf scores or confidence", r["nan_actions"]),
            ("first valid answer after the last bad message (s)",
             f"{r['first_answer_s']:.2f} ({r['first_answer_s'] / WINDOW_S:.2f} windows)"),
            ("first answer from a wholly clean window (s)",
             f"{r['clean_window_s']:.2f} ({r['clean_window_s'] / WINDOW_S:.2f} windows)"),
            ("problems counted in /diagnostics during fuzz", r["problems_fuzz"]),
            ("least problems the bad messages must cause", r["problems_expected"]),
            ("frames the node received during fuzz (from rates)", f"{r['frames_received_fuzz']:.0f}"),
            ("worst diagnostics level during fuzz / last level", f"{r['level_fuzz']} / {r['level_last']}"),
            ("problems counted after the clean phase settled", r["problems_after"])]
    table = "| measure | value |\n|---|---|\n" + "\n".join(f"| {k} | {v} |" for k, v in rows)
    return table + "\n\nbad messages by class: " + ", ".join(f"{k} {v}" for k, v in sorted(r["by_class"].items()))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--bad", type=int, default=3000, help="bad messages in all (default 3000)")
    parser.add_argument("--per-frame", type=int, default=6, help="bad messages after each valid frame")
    parser.add_argument("--smoothing", type=float, default=0.5, help="the node's smoothing (NaN must not enter it)")
    parser.add_argument("--domain", type=int, default=77, help="ROS_DOMAIN_ID (other nodes on the machine)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--classes", default=",".join(COUNTED),
                        help="comma-separated classes of bad input (default: all; e.g. all but the stamp "
                             "classes, which clear the node's buffer, to keep windows and smoothing going)")
    args = parser.parse_args()
    os.environ["ROS_DOMAIN_ID"] = str(args.domain)
    os.environ.setdefault("ROS_AUTOMATIC_DISCOVERY_RANGE", "LOCALHOST")
    classes = args.classes.split(",")
    unknown = set(classes) - set(COUNTED)
    if unknown:
        parser.error(f"unknown classes {', '.join(sorted(unknown))}; known: {', '.join(COUNTED)}")
    results, log = run(args.bad, args.per_frame, smoothing=args.smoothing, seed=args.seed, classes=classes)
    print(report(results))
    print("\nnode warnings (first words):\n  " + "\n  ".join(warnings_of(log)))
    ok = (results["alive"] and results["nan_actions"] == 0 and results["first_answer_s"] <= WINDOW_S
          and results["problems_fuzz"] >= results["problems_expected"])
    print("\nPASS" if ok else "\nFAIL")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
