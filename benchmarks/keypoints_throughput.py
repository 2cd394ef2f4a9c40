"""Keypoints throughput: FPS and per-stage latency at 640x480 with 2 bodies + 2 hands.

The frame is Debian opencv-doc's basketball1.png (two people, 640x480) with the hand of
handSrc.jpg pasted twice (once mirrored) on the wall, so every frame holds two bodies
and two hands. Each measured frame is the scene shifted by a few pixels (VIDEO-mode
tracking sees motion). Stages: decode (bgr8 Image payload -> RGB array), pose and hands
(MediaPipe, each timed in its own thread), detect (wall time of both), track+lift
(tracking, hand ties, 3D lifting, layout mapping), message (SkeletonArray building,
when the generated messages are installed); total = one frame end to end; cpu = CPU
time of this process per frame, all threads (independent of other jobs' load, unlike
the wall times: FPS on an idle machine ~ 1000 / max(pose, hands + the rest) when pose
and hands run concurrently).

    .venv/bin/python benchmarks/keypoints_throughput.py [--frames 60] [--ros 20]

``--ros SECONDS`` also measures the live path across processes: the scene as a 30 FPS
video file played by the video source node, the keypoints node in a second process,
SkeletonArray received in this one (latency = arrival - image stamp). Set a private
ROS_DOMAIN_ID first.
"""
from __future__ import annotations

import argparse
import os
import platform
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "test"))

from ista_ros.keypoints.detector import DetectorConfig, KeypointDetector  # noqa: E402
from ista_ros.keypoints.images import to_rgb  # noqa: E402
from ista_ros.keypoints.pipeline import KeypointPipeline  # noqa: E402
from keypoints_photos import BASKETBALL, HAND, rgb  # noqa: E402  (fetches opencv-doc)

VARIANTS = {
    "concurrent, lite hands (default)": DetectorConfig(),
    "sequential, lite hands": DetectorConfig(concurrent=False),
    "concurrent, full hands": DetectorConfig(hand_model="full"),
    "concurrent, 1 pose max": DetectorConfig(num_poses=1),
}


def scene() -> np.ndarray:
    """basketball1 (2 people) with handSrc's hand pasted twice: 640x480 RGB."""
    import cv2

    image = rgb(BASKETBALL).copy()
    hand = cv2.resize(rgb(HAND)[19:465, 0:563], None, fx=0.4, fy=0.4)
    h, w = hand.shape[:2]
    image[10:10 + h, 240:240 + w] = hand
    image[240:240 + h, 240:240 + w] = hand[:, ::-1]
    return image


def message_builder():
    try:
        from geometry_msgs.msg import Point

        from ista_ros.msg import Skeleton, SkeletonArray
    except ImportError:
        return None

    def build(skeletons):
        return SkeletonArray(skeletons=[Skeleton(
            id=s.id, kind=s.kind, layout=s.layout,
            joints=[Point(x=float(x), y=float(y), z=float(z)) for x, y, z in s.joints],
            confidence=s.confidence.astype(np.float32).tolist()) for s in skeletons])
    return build


def measure(config: DetectorConfig, frames: int, payload_of) -> dict[str, list[float]]:
    pipeline = KeypointPipeline(KeypointDetector(config))
    build = message_builder()
    stages: dict[str, list[float]] = {}
    counts = []
    try:
        for i in range(frames + 5):  # 5 warm-up frames
            payload = payload_of(i)
            cpu_start, start = time.process_time(), time.perf_counter()
            image = to_rgb("bgr8", 480, 640, 640 * 3, payload)
            decoded = time.perf_counter()
            skeletons = pipeline.process(image, i / 30.0)
            processed = time.perf_counter()
            if build is not None:
                build(skeletons)
            done, cpu = time.perf_counter(), time.process_time() - cpu_start
            if i < 5:
                continue
            t = pipeline.timings
            for name, value in [("decode", decoded - start), ("pose", t["detect_pose"]),
                                ("hands", t["detect_hands"]), ("detect", t["detect"]),
                                ("track+lift", t["track_lift"]), ("message", done - processed),
                                ("total", done - start), ("cpu", cpu)]:
                stages.setdefault(name, []).append(value)
            kinds = [s.kind for s in skeletons]
            counts.append((kinds.count("person"), len(kinds) - kinds.count("person")))
    finally:
        pipeline.close()
    stages["counts"] = counts
    return stages


def measure_ros(seconds: float, base_bgr: np.ndarray) -> None:
    """Video source -> keypoints node -> this process, three processes over DDS."""
    import subprocess
    import tempfile

    import cv2
    import rclpy

    from ista_ros.msg import SkeletonArray

    root = Path(__file__).resolve().parents[1]
    env = {**os.environ, "PYTHONPATH": f"{root}{os.pathsep}{os.environ.get('PYTHONPATH', '')}"}
    with tempfile.TemporaryDirectory() as tmp:
        video = f"{tmp}/scene.avi"
        writer = cv2.VideoWriter(video, cv2.VideoWriter_fourcc(*"MJPG"), 30.0, (640, 480))
        for i in range(int(30 * seconds) + 60):
            writer.write(np.ascontiguousarray(np.roll(base_bgr, 2 * (i % 40 - 20), axis=1)))
        writer.release()
        rclpy.init()
        node = rclpy.create_node("keypoints_benchmark")
        arrivals = []
        node.create_subscription(SkeletonArray, "skeletons", lambda m: arrivals.append(
            (time.time(), m.header.stamp.sec + m.header.stamp.nanosec * 1e-9,
             len(m.skeletons))), 10)
        children = [subprocess.Popen([sys.executable, "-m", "ista_ros.nodes.keypoints"], env=env,
                                     stderr=subprocess.DEVNULL)]
        while node.count_publishers("skeletons") == 0:
            rclpy.spin_once(node, timeout_sec=0.1)
        children.append(subprocess.Popen(
            [sys.executable, "-m", "ista_ros.nodes.video_source", "--ros-args", "-p",
             f"source:={video}"], env=env, stderr=subprocess.DEVNULL))
        try:
            while len(arrivals) < 10:  # warm-up
                rclpy.spin_once(node, timeout_sec=0.1)
            start, first = time.monotonic(), len(arrivals)
            while time.monotonic() - start < seconds:
                rclpy.spin_once(node, timeout_sec=0.1)
            window = arrivals[first:]
        finally:
            for child in children:
                child.terminate()
                child.wait()
            node.destroy_node()
            rclpy.shutdown()
    latency = 1e3 * np.array([arrived - stamp for arrived, stamp, _ in window])
    entities = int(np.median([n for _, _, n in window]))
    print(f"\n| live path (30 FPS video in) | skeleton FPS | entities (median) | latency p50 ms "
          f"| latency p90 ms |\n|---|---|---|---|---|\n| video source -> keypoints node -> "
          f"subscriber | {len(window) / seconds:.1f} | {entities} | {np.median(latency):.0f} | "
          f"{np.percentile(latency, 90):.0f} |")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--frames", type=int, default=60)
    parser.add_argument("--variants", nargs="*", default=list(VARIANTS), choices=list(VARIANTS))
    parser.add_argument("--ros", type=float, default=0.0, metavar="SECONDS",
                        help="also measure the live path across processes for SECONDS")
    args = parser.parse_args()

    base = scene()[..., ::-1]  # BGR, as the video source publishes
    payloads = [np.ascontiguousarray(np.roll(base, 2 * (i % 8), axis=1)).tobytes()
                for i in range(8)]
    load = os.getloadavg()[0]
    print(f"# {platform.machine()}, {os.cpu_count()} cores, python {platform.python_version()}, "
          f"{args.frames} frames of 640x480, load average at start {load:.1f}")
    print("| variant | FPS | bodies/hands found (median) | decode | pose | hands | detect "
          "| track+lift | message | total p50 | total p90 | cpu |")
    print("|---|---|---|---|---|---|---|---|---|---|---|---|")
    for name in args.variants:
        stages = measure(VARIANTS[name], args.frames, lambda i: payloads[i % len(payloads)])
        counts = np.array(stages.pop("counts"))
        ms = {k: 1e3 * np.median(v) for k, v in stages.items()}
        fps = len(stages["total"]) / sum(stages["total"])
        p90 = 1e3 * np.percentile(stages["total"], 90)
        print(f"| {name} | {fps:.1f} | {int(np.median(counts[:, 0]))}/"
              f"{int(np.median(counts[:, 1]))} | "
              + " | ".join(f"{ms[k]:.1f}" for k in ("decode", "pose", "hands", "detect",
                                                   "track+lift", "message", "total"))
              + f" | {p90:.1f} | {ms['cpu']:.1f} |")
    print("(stage columns: median ms per frame)")
    if args.ros > 0:
        measure_ros(args.ros, base)
    return 0


if __name__ == "__main__":
    sys.exit(main())
