"""Assembly101: poses_60fps JSON + fine-grained CSVs -> action, verb and noun sets.

What ISTA-Net's Preprocess/ and PreprocessTest/ scripts produce, in one pass:
``<out>/share_contex25_thresh0{,_verb,_noun}/<split>_data_joint_200.npy`` float32
(N, 3, 200, 21, 2) = (N, C, T, J, E) with the two hands as entities, and, for train and
validation, ``<split>_label.pkl`` = (sample names, labels) with the action, verb or noun id.
The three folders hold the same data (hard links) and differ in their labels.

Each segment takes frames start-25 .. end+25 of its recording's pose list (clipped to it),
both hands' 21 landmarks, zero-padded at the end when shorter than 200 frames (the
official code's tiling is a no-op) and truncated when longer. Train/validation: recordings
in sorted file order, segments of a recording by start frame, segments without pose file
or frames skipped; CSV frames used as pose indices as they are. Test (test_challenge.csv,
30 fps): frames mapped to 60 fps as 2 f + 1, rows kept in id order, and a segment without
poses becomes 10 frames of ones, so the row count stays that of the challenge. The
official step 2 orders samples by directory listing (arbitrary); here they keep the
step-1 order above, and the sample names in the label files say which is which.
"""
from __future__ import annotations

import argparse
import csv
import json
import pickle
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ista_ros.core.files import atomic_write_bytes

from .common import NpyWriter, PrepareError, atomic_path, link_or_copy, progress, require_dir

CONTEXT = 25          # frames added on each side of a segment
NUM_FRAMES = 200
NUM_JOINTS = 21
LABEL_TYPES = {"action": "share_contex25_thresh0", "verb": "share_contex25_thresh0_verb",
               "noun": "share_contex25_thresh0_noun"}
# Column order the official scripts impose on the CSVs (their header row is skipped).
TRAIN_COLUMNS = ("id", "video", "start_frame", "end_frame", "action_id", "verb_id", "noun_id",
                 "action_cls", "verb_cls", "noun_cls", "toy_id", "toy_name", "is_shared")
TEST_COLUMNS = ("id", "video", "start_frame", "end_frame", "is_shared")
SPLIT_FILES = {"train": "train.csv", "validation": "validation.csv", "test": "test_challenge.csv"}
MISSING_POSE_FRAMES = 10  # a test segment without poses: 10 frames of ones


@dataclass
class Segment:
    recording: str   # pose file name, <video>.json
    start: int       # first and last frame, already in pose (60 fps) indices for test
    end: int
    labels: dict[str, int]  # action / verb / noun ids; empty for test
    action_cls: str = ""


def sample_name(split: str, index: int, segment: Segment, frames: int) -> str:
    """The official per-segment file name, which the label files list."""
    if split == "test":
        return f"te{index}_len{frames}.pkl"
    a, v, n = (segment.labels[kind] for kind in LABEL_TYPES)
    return f"{split[:2]}{index}_a{a}_v{v}_n{n}_len{frames}_{segment.action_cls.replace(' ', '_')}.pkl"


def read_csv_rows(path: Path, columns: tuple[str, ...]) -> list[dict[str, str]]:
    """Rows of an annotation CSV by the official column positions (the header row is skipped)."""
    try:
        with open(path, newline="", encoding="utf-8") as f:
            rows = list(csv.reader(f))[1:]
    except (OSError, UnicodeDecodeError, csv.Error) as exc:
        raise PrepareError(f"Cannot read {path}: {exc}.") from exc
    for line_no, row in enumerate(rows, 2):
        if len(row) < len(columns):
            raise PrepareError(f"{path} line {line_no} has {len(row)} columns, expected {len(columns)}.")
        if "/" in row[1]:
            raise PrepareError(f"{path} names views ({row[1]}); ISTA-Net's pipeline needs the "
                               "per-recording annotation CSVs whose video column is a recording name.")
    return [dict(zip(columns, row), video=row[1].strip()) for row in rows]


def as_int(row: dict[str, str], key: str, path: Path) -> int:
    try:
        return int(row[key])
    except ValueError:
        raise PrepareError(f"{path} has {key}={row[key]!r} where an integer belongs.") from None


def train_segments(csv_path: Path, recordings: list[str]) -> list[Segment]:
    """Segments of train/validation in official order: recordings sorted, then start frame."""
    by_recording: dict[str, list[Segment]] = {name: [] for name in recordings}
    for row in read_csv_rows(csv_path, TRAIN_COLUMNS):
        recording = row["video"] + ".json"
        if recording in by_recording:
            labels = {kind: as_int(row, f"{kind}_id", csv_path) for kind in LABEL_TYPES}
            by_recording[recording].append(Segment(
                recording, as_int(row, "start_frame", csv_path), as_int(row, "end_frame", csv_path),
                labels, row["action_cls"]))
    ordered = [s for name in recordings for s in sorted(by_recording[name], key=lambda s: s.start)]
    if not ordered:
        raise PrepareError(f"No segment of {csv_path} has a pose file; check --poses.")
    return ordered


def challenge_segments(csv_path: Path) -> list[Segment]:
    segments = []
    for index, row in enumerate(read_csv_rows(csv_path, TEST_COLUMNS)):
        if as_int(row, "id", csv_path) != index:
            raise PrepareError(f"{csv_path} row {index + 2} has id {row['id']}; ids must count 0, 1, 2, ...")
        start, end = (2 * as_int(row, key, csv_path) + 1 for key in ("start_frame", "end_frame"))
        segments.append(Segment(row["video"] + ".json", start, end, {}))
    return segments


def load_poses(path: Path) -> np.ndarray:
    """(frames, 2, 21, 3) float32 landmarks of both hands of one recording's JSON."""
    try:
        with open(path, encoding="utf-8") as f:
            frames = json.load(f)
        poses = np.array([[frame["landmarks"]["0"], frame["landmarks"]["1"]] for frame in frames],
                         dtype=np.float32)
        if poses.shape[1:] != (2, NUM_JOINTS, 3):
            raise ValueError(f"landmarks of shape {poses.shape[1:]}")
    except (OSError, ValueError, KeyError, TypeError, IndexError) as exc:
        raise PrepareError(f"{path} is not an Assembly101 hand-pose file ({exc.__class__.__name__}: "
                           f"{exc}); download it again.") from exc
    return poses


def segment_frames(poses: np.ndarray | None, segment: Segment) -> np.ndarray:
    """(T, 2, 21, 3) poses of a segment with its context; empty if it has none."""
    if poses is None:
        return np.zeros((0, 2, NUM_JOINTS, 3), dtype=np.float32)
    return poses[max(0, segment.start - CONTEXT):min(segment.end + CONTEXT + 1, len(poses))]


def fit_length(frames: np.ndarray, length: int) -> np.ndarray:
    """Keep the first ``length`` frames, zero-padding a shorter sequence at the end.

    The official step 2 means to repeat short sequences but copies only their original
    frames into the zeroed output, so they are zero-padded; trained models expect that.
    """
    fitted = np.zeros((length,) + frames.shape[1:], dtype=frames.dtype)
    fitted[:min(len(frames), length)] = frames[:length]
    return fitted


def write_split(split: str, segments: list[Segment], poses_dir: Path, out: Path,
                types: list[str], length: int) -> None:
    """Read every segment of a split; write its data once and a label file per label type."""
    first = out / LABEL_TYPES[types[0]]
    data_name = f"{split}_data_joint_{length}.npy"
    names, labels = [], {kind: [] for kind in types}
    cached, poses = None, None
    with atomic_path(first / data_name) as tmp, NpyWriter(tmp, (3, length, NUM_JOINTS, 2), np.float32) as npy:
        for segment in progress(segments, f"Assembly101 {split}", unit="segment"):
            if segment.recording != cached:  # segments come grouped by recording
                cached, path = segment.recording, poses_dir / segment.recording
                poses = load_poses(path) if path.exists() else None
            frames = segment_frames(poses, segment)
            if len(frames) == 0:
                if split != "test":
                    continue
                frames = np.ones((MISSING_POSE_FRAMES, 2, NUM_JOINTS, 3), dtype=np.float32)
            names.append(sample_name(split, len(names), segment, len(frames)))
            for kind in types:
                labels[kind].append(segment.labels.get(kind))
            npy.append(fit_length(frames, length).transpose(3, 0, 2, 1))
    for kind in types:
        folder = out / LABEL_TYPES[kind]
        if kind != types[0]:
            link_or_copy(first / data_name, folder / data_name)
        if split != "test":
            atomic_write_bytes(folder / f"{split}_label.pkl", pickle.dumps((names, labels[kind])))
    print(f"{split}: {len(names)} segments")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--root", required=True,
                        help="download root holding poses_60fps/ and fine-grained-annotations/")
    parser.add_argument("--poses", help="hand-pose JSON folder (default <root>/poses_60fps)")
    parser.add_argument("--annotations",
                        help="annotation CSV folder (default <root>/fine-grained-annotations)")
    parser.add_argument("--out", default="data/asb", help="output folder (default %(default)s)")
    parser.add_argument("--splits", nargs="+", choices=list(SPLIT_FILES), default=list(SPLIT_FILES))
    parser.add_argument("--types", nargs="+", choices=list(LABEL_TYPES), default=list(LABEL_TYPES),
                        help="label sets to write (default: all)")
    parser.add_argument("--frames", type=int, default=NUM_FRAMES, help="frames per sample (default %(default)s)")


def prepare(args: argparse.Namespace) -> None:
    root = require_dir(args.root, "Assembly101")
    poses_dir = require_dir(args.poses or root / "poses_60fps", "Assembly101 poses")
    csv_dir = require_dir(args.annotations or root / "fine-grained-annotations", "Assembly101 annotation")
    recordings = sorted(p.name for p in poses_dir.iterdir() if p.suffix == ".json")
    segments = {}  # every CSV is checked before any output is written
    for split in args.splits:
        csv_path = csv_dir / SPLIT_FILES[split]
        segments[split] = challenge_segments(csv_path) if split == "test" else \
            train_segments(csv_path, recordings)
    for split, split_segments in segments.items():
        write_split(split, split_segments, poses_dir, Path(args.out), args.types, args.frames)
