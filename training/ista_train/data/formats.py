"""Readers of the prepared-dataset formats: the official pipeline's (NTU CTR-GCN npz,
SBU getSBU folders, H2O data.pth/gt.pth, Assembly101 npy + pkl) and the project's own
npz. Each returns a Split: samples (N, C, T, J, E), labels (or None) and sample names in
the order the official feeder yields them."""
from __future__ import annotations

import os
import pickle
import zipfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from ista_ros.errors import UserError


class DatasetError(UserError, ValueError):
    """A dataset file that is missing or malformed; the message names it."""


@dataclass
class Split:
    data: np.ndarray  # (N, C, T, J, E)
    labels: np.ndarray | None  # (N,) int64, None for unlabelled test sets
    sample_names: list[str]
    class_names: list[str] | None = None
    layout: str | None = None


def _need(path, what: str) -> Path:
    path = Path(path)
    if not path.exists():
        raise DatasetError(f"{what} {path} does not exist; run `ista-train prepare` or fix the data path.")
    return path


# --- NTU RGB+D 120 Mutual 26 (CTR-GCN npz: x_<split> (N, T, 150), y_<split> one-hot) --------

NTU_MUTUAL = list(range(49, 60)) + list(range(105, 120))  # A50-A60, A106-A120 as 0-based labels


def ntu_label_map(labels120: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Rows of the 26 mutual actions and their labels 0..25 (A50-A60 -> 0-10, A106-A120 -> 11-25)."""
    lookup = np.full(120, -1)
    lookup[NTU_MUTUAL] = np.arange(len(NTU_MUTUAL))
    mapped = lookup[labels120]
    rows = np.flatnonzero(mapped >= 0)
    return rows, mapped[rows]


def read_ntu(data_path, split: str) -> Split:
    path = _need(data_path, "NTU npz file")
    if split not in ("train", "test"):
        raise DatasetError(f"NTU split must be train or test, not {split}.")
    try:
        with np.load(path) as npz:
            onehot = npz[f"y_{split}"]
        rows, labels = ntu_label_map(np.argmax(onehot, axis=1))
        flat = _npz_rows(path, f"x_{split}", rows)
    except (KeyError, ValueError, OSError, zipfile.BadZipFile) as err:
        raise DatasetError(f"{path} is not a CTR-GCN NTU npz with x_{split}/y_{split} ({err}).") from None
    n, t, _ = flat.shape
    data = flat.reshape(n, t, 2, 25, 3).transpose(0, 4, 1, 3, 2)
    return Split(np.ascontiguousarray(data), labels.astype(np.int64), [f"{split}_{i}" for i in range(n)],
                 layout="ntu25")


def _npz_rows(path: Path, key: str, rows: np.ndarray, chunk: int = 512) -> np.ndarray:
    """Rows of one npz member, read in chunks: NTU120 x_train is ~11 GB and the mutual
    classes are a fifth of it, so the whole array is never in memory."""
    with zipfile.ZipFile(path) as archive, archive.open(f"{key}.npy") as stream:
        version = np.lib.format.read_magic(stream)
        shape, fortran, dtype = np.lib.format._read_array_header(stream, version)
        if fortran:
            raise ValueError(f"{key} is stored in Fortran order")
        row_items = int(np.prod(shape[1:]))
        out = np.empty((len(rows),) + tuple(shape[1:]), dtype=np.float32)
        wanted = {int(r): i for i, r in enumerate(rows)}
        for start in range(0, shape[0], chunk):
            count = min(chunk, shape[0] - start)
            buf = stream.read(count * row_items * dtype.itemsize)
            block = np.frombuffer(buf, dtype=dtype).reshape((count,) + tuple(shape[1:]))
            for r in range(start, start + count):
                if r in wanted:
                    out[wanted[r]] = block[r - start]
        return out


# --- SBU Kinect Interaction (getSBU output: <pair>/<label>/<seq>/skeleton_pos.txt) --------

SBU_FOLDS = [["s01s02", "s03s04", "s05s02", "s06s04"],
             ["s02s03", "s02s07", "s03s05", "s05s03"],
             ["s01s03", "s01s07", "s07s01", "s07s03"],
             ["s02s01", "s02s06", "s03s02", "s03s06"],
             ["s04s02", "s04s03", "s04s06", "s06s02", "s06s03"]]
SBU_FRAMES = 46  # the official feeder cuts or zero-pads every sequence to this


def sbu_pairs(split: str, fold: int) -> list[str]:
    if not 0 <= fold < len(SBU_FOLDS):
        raise DatasetError(f"SBU fold must be 0-4, not {fold}.")
    if split == "test":
        return SBU_FOLDS[fold]
    if split == "train":
        return [p for k, pairs in enumerate(SBU_FOLDS) if k != fold for p in pairs]
    raise DatasetError(f"SBU split must be train or test, not {split}.")


def read_sbu_file(path: Path) -> np.ndarray:
    """skeleton_pos.txt -> (T, 2, 15, 3) normalised Kinect coordinates."""
    try:
        table = np.loadtxt(path, delimiter=",", ndmin=2, dtype=np.float64)
    except ValueError as err:
        raise DatasetError(f"{path} is not an SBU skeleton file ({err}).") from None
    if table.shape[1] != 91 or len(table) == 0:
        raise DatasetError(f"{path} must have a frame number and 90 coordinates per line.")
    return table[:, 1:].reshape(-1, 2, 15, 3)


def sbu_sample(frames: np.ndarray) -> np.ndarray:
    """The official SBU treatment: cut or zero-pad to 46 frames, then map to pixels and
    millimetres - the padding too, so padded frames become valid (non-zero) frames."""
    padded = np.zeros((SBU_FRAMES,) + frames.shape[1:])
    padded[:min(len(frames), SBU_FRAMES)] = frames[:SBU_FRAMES]
    x = 1280 - padded[..., 0] * 2560
    y = 960 - padded[..., 1] * 1920
    z = padded[..., 2] * 10000 / 7.8125
    return np.stack([x, y, z]).transpose(0, 1, 3, 2).astype(np.float32)  # (C, T, J, E)


def read_sbu(data_path, split: str, fold: int) -> Split:
    root = _need(data_path, "SBU folder")
    samples, labels = [], []
    for pair in sbu_pairs(split, fold):
        for label in range(1, 9):
            folder = root / pair / f"{label:02d}"
            if not folder.is_dir():
                continue
            for seq in os.listdir(folder):  # the official feeder's order
                if seq.startswith("."):
                    continue
                samples.append(sbu_sample(read_sbu_file(_need(folder / seq / "skeleton_pos.txt", "SBU file"))))
                labels.append(label - 1)
    if not samples:
        raise DatasetError(f"no SBU sequences for {split} fold {fold} under {root}.")
    names = [f"{split}_{i}" for i in range(len(samples))]
    return Split(np.stack(samples), np.array(labels, dtype=np.int64), names, layout="sbu15")


# --- H2O (<root>/<split>/data.pth (N, C, T, J, E) and gt.pth labels 1..36) -----------------

def read_h2o(data_path, split: str, labelled: bool = True) -> Split:
    folder = _need(Path(data_path) / split, "H2O split folder")
    data = _load_tensor(_need(folder / "data.pth", "H2O file")).numpy().astype(np.float32)
    labels = None
    if labelled:
        labels = _load_tensor(_need(folder / "gt.pth", "H2O file")).numpy().astype(np.int64) - 1
        if len(labels) != len(data):
            raise DatasetError(f"{folder}: {len(data)} samples in data.pth but {len(labels)} labels in gt.pth.")
    return Split(data, labels, [f"{split}_{i}" for i in range(len(data))], layout="hand21")


def _load_tensor(path: Path) -> torch.Tensor:
    try:
        value = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as err:  # torch raises many kinds for foreign files
        raise DatasetError(f"{path} is not a readable tensor file ({type(err).__name__}).") from None
    if not isinstance(value, torch.Tensor):
        raise DatasetError(f"{path} must hold one tensor.")
    return value


# --- Assembly101 (data .npy (N, C, T, J, E) and label .pkl (sample names, labels)) --------

class _PlainUnpickler(pickle.Unpickler):
    """Label pickles hold lists, strings and numbers (maybe numpy ones): nothing else is
    allowed, so a label file cannot run code."""

    ALLOWED = {("numpy", "dtype"), ("numpy", "ndarray"), ("numpy.core.multiarray", "_reconstruct"),
               ("numpy._core.multiarray", "_reconstruct"), ("numpy.core.multiarray", "scalar"),
               ("numpy._core.multiarray", "scalar")}

    def find_class(self, module, name):
        if (module, name) in self.ALLOWED:
            return super().find_class(module, name)
        raise pickle.UnpicklingError(f"{module}.{name} is not allowed in a label file")


def read_asb(data_path, label_path=None) -> Split:
    path = _need(data_path, "Assembly101 data file")
    data = np.load(path, mmap_mode="r")
    if data.ndim != 5:
        raise DatasetError(f"{path} must hold an (N, C, T, J, E) array, not shape {data.shape}.")
    if label_path is None:
        return Split(data, None, [f"test_{i}" for i in range(len(data))], layout="asb_hand21")
    label_file = _need(label_path, "Assembly101 label file")
    try:
        with open(label_file, "rb") as f:
            names, labels = _PlainUnpickler(f, encoding="latin1").load()
    except (pickle.UnpicklingError, ValueError, EOFError, TypeError) as err:
        raise DatasetError(f"{label_file} is not a (sample names, labels) pickle ({err}).") from None
    labels = np.asarray(labels, dtype=np.int64)
    if len(labels) != len(data):
        raise DatasetError(f"{path} has {len(data)} samples but {label_file} {len(labels)} labels.")
    return Split(data, labels, [str(n) for n in names], layout="asb_hand21")


# --- the project's own format: <dir>/<split>.npz with data, label, class_names[, layout] ---

def read_native(data_path, split: str) -> Split:
    path = _need(Path(data_path) / f"{split}.npz", "dataset file")
    try:
        with np.load(path, allow_pickle=False) as npz:
            data = npz["data"].astype(np.float32)
            labels = npz["label"].astype(np.int64) if "label" in npz else None
            class_names = [str(n) for n in npz["class_names"]] if "class_names" in npz else None
            layout = str(npz["layout"]) if "layout" in npz else None
    except (KeyError, ValueError, OSError, zipfile.BadZipFile) as err:
        raise DatasetError(f"{path} is not a dataset npz with data/label/class_names ({err}).") from None
    if data.ndim != 5 or (labels is not None and len(labels) != len(data)):
        raise DatasetError(f"{path}: data must be (N, C, T, J, E) with one label per sample.")
    return Split(data, labels, [f"{split}_{i}" for i in range(len(data))], class_names, layout)
