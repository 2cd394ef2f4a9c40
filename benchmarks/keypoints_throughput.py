"""Keypoints throughput: FPS and per-stage latency at 640x480 with 2 bodies + 2 hands.

The frame is Debian opencv-doc's basketball1.png (two people, 640x480) with the hand of
handSrc.jpg pasted twice (once mirrored) on the wall, so every frame holds two bodies
and two hands. Each measured frame is the scene shifted by a few pixels (VIDEO-mode
tracking sees motion). Stages: decode (bgr8 Image payload -> RGB array), pose and hands
(MediaPipe, each timed in its own thread), detect (wall time of both), track+lift
(tracking, hand ties, 3D lifting, layout mapping), message (SkeletonArray building,
when the generated messages are installed); total = one frame end to end.

    .venv/bin/python benchmarks/keypoints_throughput.py [--frames 60]
"""
from __future__ import annotations

import argparse
import platform
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "test"))

from keypoints_photos import BASKETBALL, HAND, rgb  # noqa: E402  (fetches opencv-doc)

from ista_ros.keypoints.detector import DetectorConfig, KeypointDetector  # noqa: E402
from ista_ros.keypoints.images import to_rgb  # noqa: E402
from ista_ros.keypoints.pipeline import KeypointPipeline  # noqa: E402

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
            start = time.perf_counter()
            image = to_rgb("bgr8", 480, 640, 640 * 3, payload)
            decoded = time.perf_counter()
            skeletons = pipeline.process(image, i / 30.0)
            processed = time.perf_counter()
            if build is not None:
                build(skeletons)
            done = time.perf_counter()
            if i < 5:
                continue
            t = pipeline.timings
            for name, value in [("decode", decoded - start), ("pose", t["detect_pose"]),
                                ("hands", t["detect_hands"]), ("detect", t["detect"]),
                                ("track+lift", t["track_lift"]), ("message", done - processed),
                                ("total", done - start)]:
                stages.setdefault(name, []).append(value)
            kinds = [s.kind for s in skeletons]
            counts.append((kinds.count("person"), len(kinds) - kinds.count("person")))
    finally:
        pipeline.close()
    stages["counts"] = counts
    return stages


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--frames", type=int, default=60)
    parser.add_argument("--variants", nargs="*", default=list(VARIANTS), choices=list(VARIANTS))
    args = parser.parse_args()

    base = scene()[..., ::-1]  # BGR, as the video source publishes
    payloads = [np.ascontiguousarray(np.roll(base, 2 * (i % 8), axis=1)).tobytes()
                for i in range(8)]
    print(f"# {platform.processor() or platform.machine()}, {__import__('os').cpu_count()} "
          f"cores, python {platform.python_version()}, {args.frames} frames of 640x480")
    print("| variant | FPS | bodies/hands found (median) | decode | pose | hands | detect "
          "| track+lift | message | total p50 | total p90 |")
    print("|---|---|---|---|---|---|---|---|---|---|---|")
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
              + f" | {p90:.1f} |")
    print("(stage columns: median ms per frame)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
