"""The shipped demo checkpoint: self-describing, small, and as accurate on interactions it
has never seen (a fresh seed) as its recorded validation accuracy, minus a margin."""
from __future__ import annotations

import numpy as np
import pytest

from ista_ros.core.checkpoint import load_checkpoint
from ista_ros.core.engine import InferenceEngine
from ista_ros.core.window import model_input
from ista_ros.demo.ship import SHIPPED_WEIGHTS
from ista_ros.synthetic import interactions

MARGIN_POINTS = 10.0  # 150 fresh samples: the binomial spread at ~90 % is ~2.5 points


@pytest.fixture(scope="module")
def shipped():
    return load_checkpoint(SHIPPED_WEIGHTS)


def test_shipped_checkpoint_describes_itself(shipped):
    assert SHIPPED_WEIGHTS.stat().st_size < 5e6
    assert shipped.meta.class_names == list(interactions.CLASS_NAMES)
    assert shipped.meta.layout == interactions.LAYOUT and shipped.meta.axes == interactions.AXES == "kinect"
    assert shipped.meta.preprocessing.centre_joint == 1
    assert shipped.meta.preprocessing.num_frames == shipped.config.num_frames
    provenance = shipped.meta.provenance
    assert "ista-train train --config config/train/demo_interactions.yaml" in provenance["train_command"]
    assert 0 < provenance["metrics"]["top1"] <= 100


def test_shipped_model_reaches_its_recorded_accuracy_on_fresh_interactions(shipped):
    data, labels = interactions.generate_windows(15, np.random.default_rng(20261123))  # as the recorded val
    x = np.stack([model_input(sample, shipped.meta.preprocessing) for sample in data])
    predicted = InferenceEngine(shipped.model, device="cpu").predict(x).argmax(axis=1)
    accuracy = 100.0 * np.mean(predicted == labels)
    recorded = shipped.meta.provenance["metrics"]["top1"]
    assert accuracy >= recorded - MARGIN_POINTS, f"{accuracy:.1f}% on fresh samples, {recorded:.1f}% recorded"
