"""Checkpoints: the project's format round-trips, official state dicts load, misfits are refused."""
from collections import OrderedDict
from pathlib import Path

import pytest
import torch
import yaml

from ista_ros.core.checkpoint import CheckpointError, CheckpointMeta, load_checkpoint, save_checkpoint
from ista_ros.core.config import ConfigError
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
    with pytest.raises(CheckpointError, match="1 class names for 5 classes"):
        save_checkpoint(tmp_path / "m.pt", random_model(), bad)


def own_payload(model=None, **changes) -> dict:
    """A project checkpoint's dict, with blocks replaced: files save_checkpoint would refuse."""
    model = model or random_model()
    payload = {"format": "ista_ros.checkpoint", "version": 1, "model_config": model.cfg.to_dict(),
               "meta": meta().to_dict(), "state_dict": model.state_dict()}
    payload.update(changes)
    return payload


def test_a_checkpoint_with_fewer_class_names_than_classes_is_refused(tmp_path):
    # it used to load, say "ready" and skip every window
    path = tmp_path / "few.pt"
    torch.save(own_payload(meta={**meta().to_dict(), "class_names": ["a", "b"]}), path)
    with pytest.raises(CheckpointError, match="2 class names for 5 classes"):
        load_checkpoint(path)


@pytest.mark.parametrize("change, message", [
    ({"model_config": [1, 2]}, "model_config must be a mapping"),
    ({"model_config": {**CASES["padded"], "num_classes": "five"}}, "num_classes must hold positive integers"),
    ({"model_config": {**CASES["padded"], "colour": 1}}, "unknown model configuration keys: colour"),
    ({"meta": {**meta().to_dict(), "center_joint": 1}}, "meta has unknown key 'center_joint'"),
    ({"meta": {k: v for k, v in meta().to_dict().items() if k != "layout"}}, "meta has no 'layout'"),
    ({"meta": {**meta().to_dict(), "preprocessing": {"num_frames": 50, "center_joint": 1}}},
     "unknown preprocessing key 'center_joint'"),
    ({"meta": {**meta().to_dict(), "entity_kinds": ["left hand", "person", "person"]}}, "entity_kinds must list"),
    ({"meta": "ntu25"}, "meta must be a mapping"),
    ({"state_dict": [1]}, "state_dict is not a mapping"),
    ({"version": 7}, "format version 7"),
])
def test_a_malformed_checkpoint_is_refused_in_one_sentence(tmp_path, change, message):
    path = tmp_path / "bad.pt"
    payload = own_payload()
    if "version" in change:
        payload.update(change)
    else:
        payload = own_payload(**change)
    torch.save(payload, path)
    with pytest.raises(CheckpointError, match=message) as err:
        load_checkpoint(path)
    assert "\n" not in str(err.value) and str(err.value).startswith(f"checkpoint {path}")


def test_a_tiny_file_asking_for_a_huge_model_is_refused_before_building_it(tmp_path):
    # fc alone would be 10^12 x 32 floats: the configuration is checked on the meta device
    path = tmp_path / "huge.pt"
    huge = {**CASES["padded"], "num_classes": 10**12}
    torch.save(own_payload(model_config=huge, meta={**meta().to_dict(), "class_names": ["a"]}), path)
    with pytest.raises(CheckpointError, match="class names"):
        load_checkpoint(path)
    torch.save(own_payload(model_config={**CASES["padded"], "config": [[16, 16, 8]] * 10**6}), path)
    with pytest.raises(CheckpointError, match="blocks"):
        load_checkpoint(path)
    torch.save({"fc.weight": torch.zeros(1)}, path)
    with pytest.raises(CheckpointError, match="does not fit the model configuration"):
        load_checkpoint(path, model_config=ModelConfig.from_dict(huge))


OFFICIAL_MODEL_ARGS = {"window_size": [20, 1, 2], "num_frames": 40, "num_joints": 21, "num_persons": 2,
                       "num_classes": 4, "num_heads": 1, "kernel_size": [3, 3], "config": [[8, 8, 4]]}


@pytest.mark.parametrize("feeder, joints, persons, contract", [
    ("feeders.feeder_asb.Feeder", 21, 2, ("asb_hand21", ["left_hand", "right_hand"], None)),
    ("feeders.feeder_h2o.Feeder", 21, 3, ("h2o_hand21", ["left_hand", "right_hand", "object"], "optical")),
    ("feeders.feeder_ntu.Feeder", 25, 2, ("ntu25", ["person", "person"], "kinect")),
    ("feeders.feeder_sbu.Feeder", 15, 2, ("sbu15", ["person", "person"], "kinect")),
])
def test_an_official_run_yaml_gives_its_datasets_contract(tmp_path, feeder, joints, persons, contract):
    # Assembly101 used to get hand21 (guessed from 21 joints): its hands reached the model in the wrong order
    args = {**OFFICIAL_MODEL_ARGS, "num_joints": joints, "num_persons": persons,
            "window_size": [20, 1, persons]}
    run_yaml = tmp_path / "run.yaml"
    run_yaml.write_text(yaml.safe_dump({"feeder": feeder, "model_args": args,
                                        "test_feeder_args": {"window_size": 40, "p_interval": [0.95]}}))
    path = tmp_path / "official.pt"
    torch.save(ISTANet(ModelConfig.from_dict(args)).state_dict(), path)
    meta_ = load_checkpoint(path, model_config=run_yaml).meta
    assert (meta_.layout, meta_.entity_kinds, meta_.axes) == contract
    assert meta_.class_names == [f"class_{i}" for i in range(4)]


def test_a_yaml_that_states_no_contract_leaves_it_unknown(tmp_path):
    run_yaml = tmp_path / "bare.yaml"
    run_yaml.write_text(yaml.safe_dump({"model_args": OFFICIAL_MODEL_ARGS}))
    path = tmp_path / "official.pt"
    torch.save(ISTANet(ModelConfig.from_dict(OFFICIAL_MODEL_ARGS)).state_dict(), path)
    meta_ = load_checkpoint(path, model_config=run_yaml).meta
    assert (meta_.layout, meta_.entity_kinds, meta_.axes) == (None, None, None)


def test_a_yaml_with_a_typo_or_wrong_class_count_is_refused(tmp_path):
    path = tmp_path / "official.pt"
    torch.save(ISTANet(ModelConfig.from_dict(OFFICIAL_MODEL_ARGS)).state_dict(), path)
    for extra, message in [({"preprocessing": {"num_frames": 40, "center_joint": 1}}, "center_joint"),
                           ({"class_names": ["a", "b"]}, "2 class names for 4 classes")]:
        run_yaml = tmp_path / "typo.yaml"
        run_yaml.write_text(yaml.safe_dump({"model_args": OFFICIAL_MODEL_ARGS, **extra}))
        with pytest.raises(ConfigError, match=message):
            load_checkpoint(path, model_config=run_yaml)


@pytest.mark.parametrize("name", ["asb_action", "h2o", "ntu26", "sbu", "sbu_noisy", "demo_small"])
def test_the_project_model_yamls_state_kinds_the_messages_use(name):
    from ista_ros.core.checkpoint import meta_from_yaml
    from ista_ros.core.config import load_model_config, read_yaml
    path = ROOT / "config" / "model" / f"{name}.yaml"
    meta_ = meta_from_yaml(read_yaml(path), load_model_config(path), path)
    assert meta_.layout is not None and meta_.entity_kinds is not None


def test_unknown_contract_round_trips_as_unknown(tmp_path):
    unknown = meta()
    unknown.layout = unknown.entity_kinds = unknown.axes = None
    save_checkpoint(tmp_path / "m.pt", random_model(), unknown)
    loaded = load_checkpoint(tmp_path / "m.pt").meta
    assert (loaded.layout, loaded.entity_kinds, loaded.axes) == (None, None, None)
