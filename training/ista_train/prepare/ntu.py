"""NTU RGB+D 120: .skeleton files -> NTU120_CSub.npz and NTU120_CSet.npz (CTR-GCN layout).

The processing is the one of CTR-GCN's ``data/ntu120`` scripts, which ISTA-Net reuses:
read every body of every frame, drop noisy bodies (length, then X/Y spread), order the
remaining bodies by motion and pack them into two actor slots, drop frames without any
actor, subtract joint 2 (middle of the spine) of actor 1 at its first frame, copy a lone
actor into the second slot, and zero-pad to 300 frames. Each npz holds ``x_train`` and
``x_test`` float32 (N, 300, 150) (frame rows of actor-1 then actor-2 joints, xyz), and
``y_train``/``y_test`` float64 one-hot (N, 120). The official ISTA-Net feeder keeps only the
26 mutual classes (A50-A60, A106-A120) from these files; ``--mutual-only`` writes only those
samples, still with 120-wide labels, so the same feeder reads either file.
"""
from __future__ import annotations

import argparse
import os
import re
import sys
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .common import NpzStream, PrepareError, progress, read_lines, require_dir, write_npz_streamed

NUM_JOINTS = 25
NUM_CLASSES = 120
NUM_FRAMES = 300
CENTRE_JOINT = 1  # joint 2 in NTU's 1-based numbering: middle of the spine
MUTUAL_CLASSES = frozenset(list(range(50, 61)) + list(range(106, 121)))  # A-numbers, 1-based

# Denoising thresholds of CTR-GCN's get_raw_denoised_data.py.
MAX_NOISE_LENGTH = 11          # a body seen in at most this many frames is noise
SPREAD_RATIO = 0.8             # a frame is noisy when x-spread > 0.8 * y-spread
MAX_NOISY_FRAME_RATIO = 0.69754  # a body with this share of noisy frames is dropped

# Cross-subject training performers of NTU RGB+D 120; the other ids in 1..106 are test.
XSUB_TRAIN_SUBJECTS = frozenset([
    1, 2, 4, 5, 8, 9, 13, 14, 15, 16, 17, 18, 19, 25, 27, 28, 31, 34, 35, 38, 45, 46, 47, 49,
    50, 52, 53, 54, 55, 56, 57, 58, 59, 70, 74, 78, 80, 81, 82, 83, 84, 85, 86, 89, 91, 92,
    93, 94, 95, 97, 98, 100, 103])

BENCHMARK_FILES = {"CSub": "NTU120_CSub.npz", "CSet": "NTU120_CSet.npz"}
NAME_PATTERN = re.compile(r"S(\d{3})C(\d{3})P(\d{3})R(\d{3})A(\d{3})")


@dataclass
class Body:
    """One tracked body id of a sequence.

    ``joints`` stacks the body's frames in order of appearance, (frames * 25, 3) float32.
    As in the official scripts, the body is taken to occupy the consecutive valid frames
    ``start .. start + frames - 1`` even if the tracker lost it in between.
    """
    joints: np.ndarray
    start: int
    motion: np.float32 | None = None

    @property
    def frames(self) -> int:
        return len(self.joints) // NUM_JOINTS

    @property
    def end(self) -> int:
        return self.start + self.frames - 1


@dataclass(frozen=True)
class SampleId:
    setup: int
    camera: int
    performer: int
    replication: int
    action: int  # 1-based A-number

    @classmethod
    def parse(cls, name: str) -> "SampleId | None":
        match = NAME_PATTERN.fullmatch(name)
        return cls(*map(int, match.groups())) if match else None


def read_skeleton_file(path: Path) -> tuple[dict[str, Body], int]:
    """Bodies of a .skeleton file, and its number of frames with at least one body."""
    lines = read_lines(path)
    line_no = 0

    def next_line() -> str:
        nonlocal line_no
        line_no += 1
        return lines[line_no - 1]

    collected: dict[str, list[np.ndarray]] = {}
    starts: dict[str, int] = {}
    valid_frames = 0
    try:
        for _ in range(int(next_line())):
            num_bodies = int(next_line())
            for _ in range(num_bodies):
                body_id = next_line().split()[0]
                if int(next_line()) != NUM_JOINTS:
                    raise ValueError(f"expected {NUM_JOINTS} joints")
                rows = [next_line().split()[:3] for _ in range(NUM_JOINTS)]
                if any(len(row) != 3 for row in rows):
                    raise ValueError("a joint line has fewer than 3 values")
                collected.setdefault(body_id, []).append(np.array(rows, dtype=np.float32))
                starts.setdefault(body_id, valid_frames)
            valid_frames += num_bodies > 0
    except (ValueError, IndexError) as exc:
        raise PrepareError(f"{path} is malformed near line {line_no} ({exc}); "
                           "re-extract it from the NTU RGB+D archive.") from exc

    bodies = {bid: Body(np.concatenate(frames), starts[bid]) for bid, frames in collected.items()}
    if len(bodies) > 1:
        for body in bodies.values():
            body.motion = motion_of(body.joints)
    return bodies, valid_frames


def motion_of(joints: np.ndarray) -> np.float32:
    """Total variance of all joint positions over time (the official 'motion amount')."""
    return np.sum(np.var(joints.reshape(-1, 3), axis=0))


def noisy_frame_mask(joints: np.ndarray) -> np.ndarray:
    """Frames whose x-spread exceeds 0.8 times their y-spread (lying or broken bodies)."""
    frames = joints.reshape(-1, NUM_JOINTS, 3)
    x_spread = frames[:, :, 0].max(1) - frames[:, :, 0].min(1)
    y_spread = frames[:, :, 1].max(1) - frames[:, :, 1].min(1)
    # float64 comparison, as NumPy 1.x promotes the official scalar expression
    return ~(x_spread.astype(np.float64) <= SPREAD_RATIO * y_spread.astype(np.float64))


def denoise(bodies: dict[str, Body]) -> list[Body]:
    """Drop noisy bodies of a multi-body sequence; survivors ordered by motion, largest first."""
    bodies = {bid: b for bid, b in bodies.items() if b.frames > MAX_NOISE_LENGTH}
    if len(bodies) == 1:
        return list(bodies.values())
    for bid in list(bodies):
        if len(bodies) == 1:
            return list(bodies.values())
        body = bodies[bid]
        noisy = noisy_frame_mask(body.joints)
        if not noisy.any():
            continue
        if noisy.sum() / float(body.frames) >= MAX_NOISY_FRAME_RATIO:
            del bodies[bid]
        else:
            clean = body.joints.reshape(-1, NUM_JOINTS, 3)[~noisy]
            body.motion = min(body.motion, motion_of(clean))
    if len(bodies) == 1:
        return list(bodies.values())
    return sorted(bodies.values(), key=lambda b: b.motion, reverse=True)


def overlaps(start: int, end: int, body: Body) -> bool:
    return min(end, body.end) - max(start, body.start) > 0


def pack_actors(bodies: list[Body], num_frames: int) -> np.ndarray:
    """(frames, 75) for one body, else (frames, 150): actor 1 = most motion; the others fill
    actor 1's slot where they do not overlap it, else actor 2's, else are dropped. Actor 2's
    span starts as [0, 0] and keeps starting at 0, so a further body fits there only if it
    starts where the span ends or later; one that lies earlier is dropped (official rule)."""
    if len(bodies) == 1:
        body = bodies[0]
        joints = np.zeros((num_frames, 75), dtype=np.float32)
        joints[body.start:body.end + 1] = body.joints.reshape(-1, 75)
        return joints
    joints = np.zeros((num_frames, 150), dtype=np.float32)
    spans = [[bodies[0].start, bodies[0].end], [0, 0]]  # actor 2 starts as a virtual [0, 0]
    joints[bodies[0].start:bodies[0].end + 1, :75] = bodies[0].joints.reshape(-1, 75)
    for body in bodies[1:]:
        for slot, span in enumerate(spans):
            if not overlaps(*span, body):
                joints[body.start:body.end + 1, 75 * slot:75 * (slot + 1)] = body.joints.reshape(-1, 75)
                span[:] = [min(span[0], body.start), max(span[1], body.end)]
                break
    return joints


def centre_on_first_frame(joints: np.ndarray) -> np.ndarray:
    """Subtract actor 1's centre joint at its first non-empty frame; empty actor frames stay 0."""
    actors = joints.reshape(len(joints), -1, NUM_JOINTS, 3)
    missing = actors.sum(axis=(2, 3)) == 0  # (frames, actors), before the shift
    first = np.argmax((actors[:, 0] != 0).any(axis=(1, 2)))
    centred = actors - actors[first, 0, CENTRE_JOINT]
    if centred.shape[1] == 2:
        centred[missing] = 0
    return centred.reshape(joints.shape)


def process_sequence(path: Path) -> np.ndarray | None:
    """One .skeleton file -> centred (frames, 150) float32; None if no body survives."""
    bodies, num_frames = read_skeleton_file(path)
    if not bodies:
        return None
    if len(bodies) == 1:
        joints = pack_actors(list(bodies.values()), num_frames)
    else:
        kept = denoise(bodies)
        if not kept:
            return None
        joints = pack_actors(kept, num_frames)
        joints = joints[joints.sum(axis=1) != 0]  # drop frames where no actor is present
    joints = centre_on_first_frame(joints)
    return joints if joints.shape[1] == 150 else np.hstack([joints, joints])


def process_all(paths: list[Path], workers: int):
    """process_sequence over paths, in order, in ``workers`` processes."""
    if workers <= 1:
        yield from map(process_sequence, paths)
        return
    with ProcessPoolExecutor(workers) as pool:
        yield from pool.map(process_sequence, paths, chunksize=32)


def find_skeleton_files(raw_dir: Path, exclude: set[str], mutual_only: bool) -> list[tuple[str, Path]]:
    """(name, path) of every usable .skeleton file under raw_dir, sorted by name."""
    found: dict[str, Path] = {}
    for path in raw_dir.rglob("*.skeleton"):
        name = path.stem
        sample = SampleId.parse(name)
        if sample is None:
            raise PrepareError(f"{path} is not named like S001C001P001R001A001.skeleton; "
                               "move it out of the raw folder.")
        if name in found:
            raise PrepareError(f"{path} duplicates {found[name]}; keep one of them.")
        if name in exclude or (mutual_only and sample.action not in MUTUAL_CLASSES):
            continue
        found[name] = path
    if not found:
        raise PrepareError(f"No .skeleton files found under {raw_dir}; extract the NTU RGB+D "
                           "skeleton archives there.")
    return sorted(found.items())


def split_order(samples: list[SampleId], benchmark: str) -> tuple[np.ndarray, np.ndarray]:
    """Indices of the training and test samples, in the official order: grouped by performer
    (CSub) or setup (CSet) in ascending id, sample order within a group."""
    if benchmark == "CSub":
        keys = np.array([s.performer for s in samples])
        is_train = np.isin(keys, list(XSUB_TRAIN_SUBJECTS))
    else:
        keys = np.array([s.setup for s in samples])
        is_train = keys % 2 == 0  # even setups train, odd setups test
    order = np.argsort(keys, kind="stable")
    return order[is_train[order]], order[~is_train[order]]


def write_benchmark(path: Path, sequences: list[np.ndarray], labels: np.ndarray,
                    train: np.ndarray, test: np.ndarray, num_frames: int) -> None:
    def padded(indices):
        for i in indices:
            row = np.zeros((num_frames, 150), dtype=np.float32)
            row[:len(sequences[i])] = sequences[i]
            yield row

    def one_hot(indices):
        for i in indices:
            row = np.zeros(NUM_CLASSES)
            row[labels[i]] = 1
            yield row

    write_npz_streamed(path, {
        "x_train": NpzStream((len(train), num_frames, 150), np.float32, padded(train)),
        "y_train": NpzStream((len(train), NUM_CLASSES), np.float64, one_hot(train)),
        "x_test": NpzStream((len(test), num_frames, 150), np.float32, padded(test)),
        "y_test": NpzStream((len(test), NUM_CLASSES), np.float64, one_hot(test)),
    })


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--raw-dir", default="data/nturgbd_raw",
                        help="folder holding the extracted .skeleton files (searched recursively, "
                             "e.g. nturgb+d_skeletons/ and nturgb+d_skeletons120/)")
    parser.add_argument("--out", default="data/ntu120",
                        help="output folder for NTU120_CSub.npz and NTU120_CSet.npz")
    parser.add_argument("--exclude", metavar="LIST",
                        help="text file of sample names to skip, e.g. NTU's "
                             "NTU_RGBD120_samples_with_missing_skeletons.txt (files without any "
                             "body are skipped anyway)")
    parser.add_argument("--mutual-only", action="store_true",
                        help="keep only the 26 mutual classes (A50-A60, A106-A120); labels stay "
                             "120-wide so the official feeder reads the files unchanged")
    parser.add_argument("--frames", type=int, default=NUM_FRAMES,
                        help="pad every sequence to this many frames (default %(default)s)")
    parser.add_argument("--workers", type=int, default=min(8, os.cpu_count() or 1),
                        help="parallel reader processes (default %(default)s)")


def prepare(args: argparse.Namespace) -> None:
    raw_dir = require_dir(args.raw_dir, "NTU raw skeleton")
    exclude = set()
    if args.exclude:
        exclude = {line.strip() for line in read_lines(Path(args.exclude)) if line.strip()}
    files = find_skeleton_files(raw_dir, exclude, args.mutual_only)

    names, sequences, skipped = [], [], []
    results = process_all([path for _, path in files], args.workers)
    for (name, _), joints in progress(zip(files, results), "NTU skeletons", len(files)):
        if joints is None:
            skipped.append(name)
        else:
            names.append(name)
            sequences.append(joints)
    if skipped:
        print(f"Skipped {len(skipped)} sequences without a usable body: "
              f"{', '.join(skipped[:10])}{' ...' if len(skipped) > 10 else ''}", file=sys.stderr)
    if not sequences:
        raise PrepareError(f"No .skeleton file under {raw_dir} has a usable body.")

    samples = [SampleId.parse(name) for name in names]
    labels = np.array([s.action - 1 for s in samples])
    num_frames = max(args.frames, max(len(s) for s in sequences))
    out = Path(args.out)
    for benchmark, filename in BENCHMARK_FILES.items():
        train, test = split_order(samples, benchmark)
        write_benchmark(out / filename, sequences, labels, train, test, num_frames)
        print(f"{out / filename}: {len(train)} train, {len(test)} test samples")
