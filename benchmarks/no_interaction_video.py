"""How often a checkpoint calls an interaction on a real video where nobody interacts.

The recognizer's path without ROS, on every frame of a video: MediaPipe keypoints
(``KeypointPipeline``, as the keypoints node runs it: ntu25 bodies, tracking, lifting
without depth), then ``LiveRecognizer`` with the settings ``ista-ros demo --video`` gives
the node (2.5 s window, a recognition every ``--stride`` frames). The keypoints are cached
next to the video's name in ``--cache`` (MediaPipe is the slow part), so several
checkpoints are compared on exactly the same windows.

Per checkpoint: answers, how many are an interaction (and at calibrated probability
>= 0.5 / >= 0.9), the "no interaction" reasons, and what the model alone says of the same
windows (its arg-max, before the plausibility rules). Default video: Debian opencv-doc's
``vtest.avi`` (pedestrians in a square, 10 FPS; ``test/keypoints_photos.py`` fetches it).

    .venv/bin/python benchmarks/no_interaction_video.py [VIDEO] [--weights A.pt B.pt] [--stride 5]
"""
from __future__ import annotations

import argparse
import os
from collections import Counter
from pathlib import Path

import numpy as np

from ista_ros.core.recognition import NONE_CLASS, LiveRecognizer, Settings, SkeletonInput
from ista_ros.demo.ship import SHIPPED_WEIGHTS

VTEST = Path.home() / ".cache/ista_ros/opencv-doc/usr/share/doc/opencv-doc/examples/data/vtest.avi"
CACHE = Path.home() / ".cache/ista_ros/keypoints"
DEMO_WINDOW_S = 2.5  # ista_ros.demo.run.DemoOptions.window_seconds


def keypoints(video: Path, cache: Path, num_poses: int) -> tuple[float, list[list[SkeletonInput]]]:
    """(fps, per frame the bodies seen) of ``video``, from the cache when it has them."""
    cached = cache / f"{video.name}.{video.stat().st_size}.poses{num_poses}.npz"
    if not cached.is_file():
        _extract(video, cached, num_poses)
    with np.load(cached) as npz:
        fps, frame, ids, joints, confidence = (npz[k] for k in ("fps", "frame", "id", "joints", "confidence"))
    frames = [[] for _ in range(int(frame.max(initial=-1)) + 1)]
    for f, i, j, c in zip(frame, ids, joints, confidence):
        frames[f].append(SkeletonInput(str(i), "person", "ntu25", j, c))
    return float(fps), frames


def _extract(video: Path, out: Path, num_poses: int) -> None:
    import cv2
    from tqdm import tqdm

    from ista_ros.keypoints.detector import DetectorConfig, KeypointDetector
    from ista_ros.keypoints.pipeline import KeypointPipeline

    capture = cv2.VideoCapture(str(video))
    fps = capture.get(cv2.CAP_PROP_FPS) or 30.0
    pipeline = KeypointPipeline(KeypointDetector(DetectorConfig(num_poses=num_poses)))
    rows = {"frame": [], "id": [], "joints": [], "confidence": []}
    try:
        for index in tqdm(range(int(capture.get(cv2.CAP_PROP_FRAME_COUNT))), desc=f"keypoints {video.name}"):
            ok, bgr = capture.read()
            if not ok:
                break
            for s in pipeline.process(cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB), index / fps):
                if s.kind == "person":
                    for key, value in zip(rows, (index, s.id, s.joints, s.confidence)):
                        rows[key].append(value)
    finally:
        pipeline.close()
        capture.release()
    out.parent.mkdir(parents=True, exist_ok=True)
    np.savez_compressed(out, fps=fps, frame=np.array(rows["frame"], int), id=np.array(rows["id"], str),
                        joints=np.array(rows["joints"], np.float32).reshape(-1, 25, 3),
                        confidence=np.array(rows["confidence"], np.float32).reshape(-1, 25))


def answers(weights: Path, fps: float, frames: list, stride: int) -> list:
    """The recognizer's answers (every group, every stride) on the frames."""
    from ista_ros.core.engine import InferenceEngine, load_weights

    loaded = load_weights(weights)
    engine = InferenceEngine(loaded.model, device="cpu")
    recognizer = LiveRecognizer(loaded.meta, loaded.config.input_shape, engine.predict,
                                Settings(window_seconds=DEMO_WINDOW_S), input_axes="optical")
    results = []
    for index, skeletons in enumerate(frames):
        recognizer.push(int(round(index / fps * 1e9)), skeletons)
        if index % stride == stride - 1:
            results += recognizer.recognise(recognizer.windows() or [])[0]
    return results


def summary(results: list) -> dict[str, str]:
    interactions = [r for r in results if r.is_interaction]
    argmax = Counter(r.class_names[int(np.argmax(r.scores))] for r in results)
    model_calls = sum(n for name, n in argmax.items() if name != NONE_CLASS)

    def share(n: int) -> str:
        return f"{n} ({100 * n / max(len(results), 1):.1f} %)"

    return {
        "answers": str(len(results)),
        "interactions": share(len(interactions)),
        "at p >= 0.5": str(sum(r.confidence >= 0.5 for r in interactions)),
        "at p >= 0.9": str(sum(r.confidence >= 0.9 for r in interactions)),
        "interactions called": ", ".join(f"{r.label} {r.confidence:.2f}" for r in interactions) or "-",
        "no interaction: reasons": ", ".join(f"{k} {n}" for k, n in Counter(
            r.reason for r in results if not r.is_interaction).most_common()),
        "model alone (arg-max): interactions": share(model_calls),
        "model alone: classes": ", ".join(f"{k} {n}" for k, n in argmax.most_common() if k != NONE_CLASS) or "-",
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("video", type=Path, nargs="?", default=VTEST)
    parser.add_argument("--weights", type=Path, nargs="+", default=[SHIPPED_WEIGHTS])
    parser.add_argument("--stride", type=int, default=5, help="frames between recognitions (default: 5)")
    parser.add_argument("--num-poses", type=int, default=2,
                        help="people MediaPipe looks for (default 2, the keypoints node's default)")
    parser.add_argument("--cache", type=Path, default=CACHE, help="keypoints cache (default: %(default)s)")
    args = parser.parse_args()
    if not args.video.is_file():
        raise SystemExit(f"{args.video} does not exist (vtest.avi: run test/test_keypoints_node.py once, "
                         "which fetches Debian's opencv-doc, or give a video).")
    fps, frames = keypoints(args.video, args.cache, args.num_poses)
    people = [len(f) for f in frames]
    print(f"# {args.video.name}: {len(frames)} frames at {fps:g} FPS, people per frame: median "
          f"{np.median(people):g}, max {max(people)}; stride {args.stride}; num_poses {args.num_poses}; "
          f"{os.cpu_count()} cores")
    columns = {str(w): summary(answers(w, fps, frames, args.stride)) for w in args.weights}
    print("| | " + " | ".join(Path(w).name if len(columns) == 1 else w for w in columns) + " |")
    print("|---" * (len(columns) + 1) + "|")
    for row in next(iter(columns.values())):
        print(f"| {row} | " + " | ".join(c[row] for c in columns.values()) + " |")


if __name__ == "__main__":
    main()
