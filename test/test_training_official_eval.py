"""`ista-train eval --save-scores` with an official checkpoint and an official run YAML,
unchanged, on an official-format NTU file gives the official test-time scores."""
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

from ista_ros.core.config import load_model_config
from ista_ros.core.model import ISTANet
from reference.make_official_reference import WEIGHT_SEED, seeded_ntu_npz
from reference.randomize import randomize_state_dict

ROOT = Path(__file__).resolve().parents[1]
OFFICIAL_YAML = ROOT.parent / "shared" / "reference" / "official-config" / "ntu" / "ntu26_xsub_joint.yaml"
REFERENCE = np.load(Path(__file__).parent / "reference" / "official_reference.npz")


@pytest.mark.skipif(not OFFICIAL_YAML.is_file(), reason="the official run YAMLs (../shared/reference) are absent")
def test_eval_saves_the_official_scores_for_an_official_checkpoint(tmp_path):
    model = ISTANet(load_model_config(ROOT / "config" / "model" / "ntu26.yaml"))
    state = randomize_state_dict(model.state_dict(), WEIGHT_SEED)
    torch.save({"module." + k: v for k, v in state.items()}, tmp_path / "official.pt")  # as DataParallel saves
    seeded_ntu_npz(tmp_path / "NTU120_CSub.npz")
    done = subprocess.run(
        [sys.executable, "-m", "ista_train.cli", "eval", "--config", str(OFFICIAL_YAML),
         "--weights", str(tmp_path / "official.pt"), "--data", str(tmp_path / "NTU120_CSub.npz"),
         "--save-scores", str(tmp_path / "scores.npy"), "--out", str(tmp_path), "--device", "cpu"],
        capture_output=True, text=True, cwd=ROOT, timeout=600)
    assert done.returncode == 0, done.stderr[-2000:]
    scores = np.load(tmp_path / "scores.npy")
    assert scores.dtype == np.float32
    np.testing.assert_allclose(scores, REFERENCE["ntu_feeder_logits"], atol=1e-4)
    assert "top-1" in done.stdout and (tmp_path / "official_confusion.png").is_file()
