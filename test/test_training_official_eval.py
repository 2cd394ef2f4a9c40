"""`ista-train eval --save-scores` with official checkpoints and official run YAMLs,
unchanged, on official-format data gives the official test-time scores (the official
feeder then the official model; see reference/make_official_reference.py)."""
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

from ista_ros.core.config import load_model_config
from ista_ros.core.model import ISTANet
from reference.make_official_reference import CONFIGS as OFFICIAL_CONFIGS
from reference.make_official_reference import WEIGHT_SEED, prepared_dataset, seeded_ntu_npz
from reference.randomize import randomize_state_dict

ROOT = Path(__file__).resolve().parents[1]
REFERENCE = np.load(Path(__file__).parent / "reference" / "official_reference.npz")
CASES = {  # dataset -> (official run YAML, the project's model YAML)
    "ntu": ("ntu/ntu26_xsub_joint.yaml", "ntu26.yaml"),
    "sbu": ("sbu/sbu_clean_joint.yaml", "sbu.yaml"),
    "h2o": ("h2o/h2o.yaml", "h2o.yaml"),
    "asb": ("asb/asb_action.yaml", "asb_action.yaml"),
}


def official_format_data(name: str, tmp_path: Path) -> list[str]:
    """The eval arguments that point the official YAML at the files."""
    if name == "ntu":
        seeded_ntu_npz(tmp_path / "NTU120_CSub.npz")
        return ["--data", str(tmp_path / "NTU120_CSub.npz")]
    feeder_args = prepared_dataset(name, tmp_path / name)
    label_override = [f"test_feeder_args.label_path={feeder_args['label_path']}"] if "label_path" in feeder_args else []
    return ["--data", feeder_args["data_path"], *label_override]


@pytest.mark.skipif(not OFFICIAL_CONFIGS.is_dir(), reason="the official run YAMLs (../shared/reference) are absent")
@pytest.mark.parametrize("name", list(CASES))
def test_eval_saves_the_official_scores_for_an_official_checkpoint(tmp_path, name):
    official_yaml, model_yaml = CASES[name]
    model = ISTANet(load_model_config(ROOT / "config" / "model" / model_yaml))
    state = randomize_state_dict(model.state_dict(), WEIGHT_SEED)
    torch.save({"module." + k: v for k, v in state.items()}, tmp_path / "official.pt")  # as DataParallel saves
    done = subprocess.run(
        [sys.executable, "-m", "ista_train.cli", "eval", "--config", str(OFFICIAL_CONFIGS / official_yaml),
         "--weights", str(tmp_path / "official.pt"), *official_format_data(name, tmp_path),
         "--save-scores", str(tmp_path / "scores.npy"), "--out", str(tmp_path), "--device", "cpu"],
        capture_output=True, text=True, cwd=ROOT, timeout=600)
    assert done.returncode == 0, done.stderr[-2000:]
    scores = np.load(tmp_path / "scores.npy")
    assert scores.dtype == np.float32
    expected = REFERENCE[f"{name}_feeder_logits"]
    assert scores.shape == expected.shape
    # 1e-4 on logits of unit scale; relative to the largest logit where the data are in raw
    # units (Assembly101 poses are in pixels: random weights give logits of ~1e4).
    assert np.abs(scores - expected).max() <= 1e-4 * max(1.0, np.abs(expected).max())
    assert "top-1" in done.stdout and (tmp_path / "official_confusion.png").is_file()
