"""Shared by the recognizer tests: trivially separable two-person sequences in ntu25 and
a tiny ISTA-Net trained on them in a few seconds on the CPU."""
from __future__ import annotations

import numpy as np
import torch

from ista_ros.core.checkpoint import CheckpointMeta, save_checkpoint
from ista_ros.core.model import ISTANet, ModelConfig
from ista_ros.core.window import Preprocessing

CLASS_NAMES = ["approach", "wave"]
NUM_JOINTS = 25
TINY = ModelConfig(num_classes=2, num_joints=NUM_JOINTS, num_frames=16, num_persons=2, window_size=(4, 5, 2),
                   num_heads=1, num_channels=3, kernel_size=(3, 3), config=[[8, 16, 4]])
HAND_RIGHT = 11


def body(rng: np.random.Generator) -> np.ndarray:
    """(J, 3) a rough standing body, 1.7 m tall, around the origin."""
    height = np.linspace(0.0, 1.7, NUM_JOINTS)
    return np.stack([rng.normal(0, 0.15, NUM_JOINTS), height, rng.normal(0, 0.05, NUM_JOINTS)], axis=1)


def sequence(class_id: int, frames: int, rng: np.random.Generator) -> np.ndarray:
    """(3, T, 25, 2): class 0 the persons walk towards each other from 3 m to 1 m apart;
    class 1 they stand 1.2 m apart and person 0 waves its right hand high."""
    t = np.linspace(0.0, 1.0, frames)[:, None]
    a, b = body(rng), body(rng)
    if class_id == 0:
        gap = 3.0 - 2.0 * t
        wave = np.zeros_like(t)
    else:
        gap = np.full_like(t, 1.2)
        wave = 0.5 + 0.3 * np.sin(2 * np.pi * 3 * t)
    p0 = np.repeat(a[None], frames, axis=0)
    p1 = np.repeat(b[None], frames, axis=0)
    p0[:, :, 0] -= gap / 2
    p1[:, :, 0] += gap / 2
    p0[:, HAND_RIGHT, 1] += wave[:, 0]
    x = np.stack([p0, p1], axis=-1)  # (T, J, 3, E)
    x += rng.normal(0, 0.01, x.shape)
    return x.transpose(2, 0, 1, 3).astype(np.float32)


def train_tiny(path, steps: int = 25, seed: int = 0) -> None:
    """Train TINY on the two classes and save a self-describing checkpoint at ``path``."""
    torch.manual_seed(seed)
    rng = np.random.default_rng(seed)
    pre = Preprocessing(num_frames=TINY.num_frames, centre_joint=1)
    from ista_ros.core.window import model_input
    labels = np.arange(32) % 2
    data = np.stack([model_input(sequence(int(y), int(rng.integers(30, 90)), rng), pre) for y in labels])
    x, y = torch.from_numpy(data), torch.from_numpy(labels)
    model = ISTANet(TINY)
    opt = torch.optim.Adam(model.parameters(), lr=1e-2)
    model.train()
    for _ in range(steps):
        loss = torch.nn.functional.cross_entropy(model(x), y)
        opt.zero_grad()
        loss.backward()
        opt.step()
    model.eval()
    meta = CheckpointMeta(class_names=CLASS_NAMES, layout="ntu25", preprocessing=pre,
                          entity_kinds=["person", "person"], provenance={"recipe": "test/recognizer_support.py"})
    save_checkpoint(path, model, meta)


def tiny_checkpoint(tmp_path_factory):
    """The tiny checkpoint, trained once per test session."""
    path = tmp_path_factory.getbasetemp() / "recognizer_tiny.pt"
    if not path.exists():
        train_tiny(path)
    return path
