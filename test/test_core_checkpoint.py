"""Checkpoints: the project's format round-trips, official state dicts load, misfits are refused."""
from collections import OrderedDict
from pathlib import Path

import pytest
import torch

from ista_ros.core.checkpoint import (CheckpointError, CheckpointMeta, load_checkpoint,
                                      save_checkpoint)
from ista_ros.core.model import ISTANet, ModelConfig
from ista_ros.core.window import Preprocessing
from reference.make_official_reference import CASES
from reference.randomize import randomize_state_dict

ROOT = Path(__file__).resolve().parents[1]
SMALL = ModelConfig.from_dict(CASES["padded"])
X = torch.randn(2, 3, 50, 7, 3, generator=torch.Generator().manual_seed(5))


def random_model(cfg=SMALL, seed=0) -> ISTANet:
    model = ISTANet(cfg).eval()
    model.load_state_dict(randomize_state_dict(model.state_dict(), seed))
    return model


def meta(cfg=SMALL) -> CheckpointMeta:
    return CheckpointMeta(class_names=[f"act{i}" for i in range(cfg.num_classes)], layout="custom7",
                          preprocessing=Preprocessing(num_frames=50, centre_joint=1),
                          entity_kinds=["person"] * 3, provenance={"recipe": "test", "top1": 0.5}, axes="kinect")


def logits(model) -> torch.Tensor:
    with torch.no_grad():
        return model(X)


def test_own_format_round_trips_weights_and_metadata(tmp_path):
    model = random_model()
    path = tmp_path / "run" / "model.pt"
    save_checkpoint(path, model, meta())
    loaded = load_checkpoint(path)
    assert loaded.config == SMALL
    assert loaded.meta == meta()
    assert not loaded.model.training
    assert torch.equal(logits(loaded.model), logits(model))
    assert [p.name for p in path.parent.iterdir()] == ["model.pt"]  # no temporary file left


def test_own_format_loads_with_weights_only(tmp_path):
    # The format is plain containers and tensors: torch's safe loader accepts it.
    save_checkpoint(tmp_path / "m.pt", random_model(), meta())
    payload = torch.load(tmp_path / "m.pt", weights_only=True)
    assert payload["format"] == "ista_ros.checkpoint" and payload["meta"]["layout"] == "custom7"


@pytest.mark.parametrize("prefix", ["", "module."])
def test_official_state_dict_loads_with_and_without_dataparallel_prefix(tmp_path, prefix):
    model = random_model()
    path = tmp_path / "official.pt"
    torch.save(OrderedDict((prefix + k, v) for k, v in model.state_dict().items()), path)
    loaded = load_checkpoint(path, model_config=SMALL)
    assert torch.equal(logits(loaded.model), logits(model))
    assert loaded.meta.class_names == [f"class_{i}" for i in range(5)]


def test_official_checkpoint_takes_metadata_from_the_project_model_yaml(tmp_path):
    cfg_path = ROOT / "config" / "model" / "sbu.yaml"
    from ista_ros.core.config import load_model_config
    model = ISTANet(load_model_config(cfg_path))
    path = tmp_path / "sbu.pt"
    torch.save(model.state_dict(), path)
    loaded = load_checkpoint(path, model_config=cfg_path)
    assert loaded.meta.class_names[0] == "approaching" and loaded.meta.layout == "sbu15"
    assert loaded.meta.preprocessing.num_frames == 40


def test_bare_state_dict_without_configuration_asks_for_it(tmp_path):
    path = tmp_path / "official.pt"
    torch.save(random_model().state_dict(), path)
    with pytest.raises(CheckpointError, match="--model-config"):
        load_checkpoint(path)


def test_state_dict_of_another_configuration_is_refused_naming_the_difference(tmp_path):
    path = tmp_path / "official.pt"
    torch.save(random_model().state_dict(), path)
    other = ModelConfig.from_dict({**CASES["padded"], "num_classes": 9})
    with pytest.raises(CheckpointError, match=r"fc\.weight is \(5, 32\) in the checkpoint but \(9, 32\).*num_classes"):
        load_checkpoint(path, model_config=other)
    fewer_blocks = ModelConfig.from_dict({**CASES["padded"], "config": [[16, 32, 8]]})
    with pytest.raises(CheckpointError, match="unexpected"):
        load_checkpoint(path, model_config=fewer_blocks)


def test_own_checkpoint_with_a_different_given_configuration_is_refused(tmp_path):
    path = tmp_path / "m.pt"
    save_checkpoint(path, random_model(), meta())
    other = ModelConfig.from_dict({**CASES["padded"], "num_heads": 4})
    with pytest.raises(CheckpointError, match="num_heads is 2 in the checkpoint but 4"):
        load_checkpoint(path, model_config=other)


def test_missing_corrupt_and_unsafe_files_are_refused_clearly(tmp_path):
    with pytest.raises(CheckpointError, match="does not exist"):
        load_checkpoint(tmp_path / "nope.pt")
    corrupt = tmp_path / "corrupt.pt"
    corrupt.write_bytes(b"not a checkpoint")
    with pytest.raises(CheckpointError, match="not a readable checkpoint"):
        load_checkpoint(corrupt)
    unsafe = tmp_path / "unsafe.pt"
    torch.save({"payload": Preprocessing(num_frames=3)}, unsafe)  # arbitrary object: needs unpickling
    with pytest.raises(CheckpointError, match="not a readable checkpoint"):
        load_checkpoint(unsafe)


def test_class_names_must_match_the_number_of_classes(tmp_path):
    bad = meta()
    bad.class_names = ["only one"]
    with pytest.raises(CheckpointError, match="1 class names given for a model of 5 classes"):
        save_checkpoint(tmp_path / "m.pt", random_model(), bad)
