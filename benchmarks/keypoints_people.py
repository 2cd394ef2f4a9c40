"""Keypoints FPS against the number of people in view and ``num_poses`` (1..6 each).

Frames: Debian opencv-doc's vtest.avi walkers tiled into a 640x480 grid, one crop per
person (test/test_keypoints_many.py ``crowd``: its people are too small for MediaPipe's
pose detector at full frame). End to end as the node runs it: pose + hands (concurrent,
lite hands, num_hands 2), tracking, hand ties, lifting. FPS = frames / wall time;
"found" = median bodies reported. MediaPipe misses some of these small, blurred people,
so "found" is what the detector delivers, not the people in view.

    .venv/bin/python benchmarks/keypoints_people.py [--frames 15]
"""
from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "test"))

from test_keypoints_many import crowd  # noqa: E402  (fetches opencv-doc)

from ista_ros.keypoints.detector import DetectorConfig, KeypointDetector  # noqa: E402
from ista_ros.keypoints.pipeline import KeypointPipeline  # noqa: E402

WARM_UP = 3


def measure(frames: list[np.ndarray], num_poses: int) -> tuple[float, int]:
    """(FPS, median bodies found) over ``frames`` after the warm-up ones."""
    pipeline = KeypointPipeline(KeypointDetector(DetectorConfig(num_poses=num_poses)))
    found = []
    try:
        for i, frame in enumerate(frames):
            if i == WARM_UP:
                start = time.perf_counter()
            people = [s for s in pipeline.process(frame, i / 10.0) if s.kind == "person"]
            found.append(len(people))
        elapsed = time.perf_counter() - start
    finally:
        pipeline.close()
    return (len(frames) - WARM_UP) / elapsed, int(np.median(found[WARM_UP:]))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--frames", type=int, default=15)
    args = parser.parse_args()
    print(f"# {os.cpu_count()} cores, {args.frames} frames of 640x480 per cell, load average at "
          f"start {os.getloadavg()[0]:.1f}; cells: FPS (bodies found, median)")
    print("| people in view | " + " | ".join(f"num_poses {n}" for n in range(1, 7)) + " |")
    print("|---" * 7 + "|")
    for people in range(1, 7):
        frames = crowd(196, args.frames + WARM_UP, people)
        cells = [measure(frames, n) for n in range(1, 7)]
        print(f"| {people} | " + " | ".join(f"{fps:.1f} ({found})" for fps, found in cells) + " |",
              flush=True)
    print(f"# load average at end {os.getloadavg()[0]:.1f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
