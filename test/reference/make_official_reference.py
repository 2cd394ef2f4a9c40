"""Regenerate official_reference.npz by running the OFFICIAL ISTA-Net code.

    git clone https://github.com/Necolizer/ISTA-Net /tmp/ISTA-Net
    .venv/bin/python test/reference/make_official_reference.py --official /tmp/ISTA-Net

For each configuration it builds the official ``model.ISTANet.Model`` from the official
run YAML's model_args, fills it with ``randomize_state_dict(seed)`` (random weights,
BatchNorm statistics, alpha and attention bias M), and records its eval-mode logits on
a seeded random input. It also records the official ``feeders.tools.valid_crop_resize``
on a seeded sample with zero-padded tail frames, and the official test pipelines end to end
(``feeders.feeder_<dataset>.Feeder`` on the test split, then the model): NTU on a small
seeded file in the CTR-GCN npz format (``seeded_ntu_npz``), SBU and H2O on files that the
project's preparers make from its deterministic synthetic raw data (SBU, H2O,
Assembly101 actions) (``prepared_dataset``;
the official SBU feeder needs pandas, e.g. ``pip install --target DIR pandas`` and
PYTHONPATH=DIR). Only these small arrays are committed;
the tests rebuild the same weights and inputs from the seeds with the project's code.
Nothing of the official code is kept in this repository.
"""
import argparse
import importlib.util
import sys
from pathlib import Path

import numpy as np
import torch
import yaml

HERE = Path(__file__).resolve().parent
# The official run YAMLs, kept next to the repository (shared/reference), not in it.
CONFIGS = HERE.parents[2] / "shared" / "reference" / "official-config"
sys.path[:0] = [str(HERE), str(HERE.parent)]  # randomize.py; the tests' synthetic/ raw datasets
from randomize import randomize_state_dict  # noqa: E402

# name -> official run YAML (relative to the official config folder) or explicit model_args
CASES = {
    "ntu26": "ntu/ntu26_xsub_joint.yaml",
    "sbu": "sbu/sbu_clean_joint.yaml",
    "sbu_noisy": "sbu/sbu_noisy_joint.yaml",
    "h2o": "h2o/h2o.yaml",
    "asb_action": "asb/asb_action.yaml",
    # T, J and E that do not divide the window: exercises replicate padding.
    "padded": dict(window_size=[16, 2, 2], num_frames=50, num_joints=7, num_persons=3, num_channels=3,
                   num_classes=5, num_heads=2, kernel_size=[3, 3], use_pes=True,
                   config=[[16, 16, 8], [16, 32, 8]]),
}
WEIGHT_SEED, INPUT_SEED, BATCH = 0, 1, 2


def case_args(case, config_dir: Path) -> dict:
    if isinstance(case, dict):
        return case
    return yaml.safe_load((config_dir / case).read_text())["model_args"]


def seeded_input(args: dict) -> torch.Tensor:
    gen = torch.Generator().manual_seed(INPUT_SEED)
    shape = (BATCH, args["num_channels"], args["num_frames"], args["num_joints"], args["num_persons"])
    return torch.randn(shape, generator=gen)


def seeded_sample(frames=80, valid=67) -> np.ndarray:
    sample = np.random.default_rng(INPUT_SEED).standard_normal((3, frames, 25, 2)).astype(np.float32)
    sample[:, valid:] = 0
    return sample


def seeded_ntu_npz(path: Path) -> None:
    """A small NTU120 file in the CTR-GCN format: x (N, 300, 150), one-hot y (N, 120); labels
    mix mutual (A50-A60, A106-A120) and single-person classes; one sample has one person.
    Centred as the preparation centres: joint 2 of the first person at frame 0 is the origin."""
    rng = np.random.default_rng(INPUT_SEED)
    labels = np.array([49, 3, 59, 105, 119, 10, 55, 110])  # 0-based action ids
    lengths = np.array([300, 40, 120, 73, 211, 90, 64, 150])
    x = np.zeros((len(labels), 300, 150), np.float32)
    for i, length in enumerate(lengths):
        x[i, :length] = rng.standard_normal((length, 150)).cumsum(0) * 0.05
        x[i, :length] -= np.tile(x[i, 0, 3:6], 50)
    x[2, :, 75:] = x[2, :, :75]  # a single-person sample, duplicated as the preparation does
    y = np.eye(120, dtype=np.float32)[labels]
    np.savez(path, x_train=x, y_train=y, x_test=x, y_test=y)


def prepared_dataset(name: str, root: Path) -> dict:
    """Official-format files made by the project's preparers from its synthetic raw data
    (deterministic): returns the official test feeder's arguments for them."""
    import argparse

    from ista_train.prepare import asb, h2o, sbu
    from synthetic import make_asb, make_h2o, make_sbu

    raw, out = root / "raw", root / "prepared"
    if name == "sbu":
        make_sbu(raw, sequences_per_class=1, seed=INPUT_SEED)
        module, feeder_args = sbu, dict(data_path=str(out), split="test", fold=0, window_size=40, p_interval=[0.95])
    elif name == "h2o":
        make_h2o(raw, seed=INPUT_SEED)
        module, feeder_args = h2o, dict(data_path=str(out), split="val", window_size=120, p_interval=[0.95])
    else:  # Assembly101 fine-grained actions, validation split
        make_asb(raw, seed=INPUT_SEED)
        folder = out / "share_contex25_thresh0"
        module, feeder_args = asb, dict(data_path=str(folder / "validation_data_joint_200.npy"),
                                        label_path=str(folder / "validation_label.pkl"),
                                        window_size=120, p_interval=[0.95])
    parser = argparse.ArgumentParser()
    module.add_arguments(parser)
    module.prepare(parser.parse_args(["--root", str(raw), "--out", str(out)]))
    return feeder_args


def official_feeder_scores(official: Path, tools, feeder: str, model_args: dict, feeder_args: dict):
    """Logits of an official test pipeline: its feeder, then its model, sample by sample."""
    import types
    sys.modules["feeders"] = types.SimpleNamespace(tools=tools)  # the feeders do `from feeders import tools`
    spec = importlib.util.spec_from_file_location(f"official_{feeder}", official / "feeders" / f"{feeder}.py")
    feeder_module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(feeder_module)
    from model.ISTANet import Model
    model = Model(**model_args).eval()
    model.load_state_dict(randomize_state_dict(model.state_dict(), WEIGHT_SEED))
    dataset = feeder_module.Feeder(**feeder_args)
    with torch.no_grad():
        rows = [model(torch.as_tensor(dataset[i][0])[None].float()).numpy()[0] for i in range(len(dataset))]
    labels = np.array([int(dataset[i][1]) for i in range(len(dataset))])
    return np.stack(rows), labels


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--official", required=True, type=Path, help="a clone of Necolizer/ISTA-Net")
    parser.add_argument("--configs", type=Path, default=CONFIGS, help="the official config/ folder")
    args = parser.parse_args()
    sys.path.insert(0, str(args.official))
    from model.ISTANet import Model

    # feeders/tools.py alone: the feeders package imports pandas for other datasets.
    spec = importlib.util.spec_from_file_location("official_tools", args.official / "feeders" / "tools.py")
    tools = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(tools)

    out = {}
    for name, case in CASES.items():
        model_args = case_args(case, args.configs)
        model = Model(**model_args).eval()
        model.load_state_dict(randomize_state_dict(model.state_dict(), WEIGHT_SEED))
        with torch.no_grad():
            out[f"logits_{name}"] = model(seeded_input(model_args)).numpy()
        print(name, out[f"logits_{name}"].shape)
    sample = seeded_sample()
    for window in (40, 120):
        out[f"crop_resize_{window}"] = tools.valid_crop_resize(sample, 67, [0.95], window)
    import tempfile
    with tempfile.TemporaryDirectory() as tmp:
        npz = Path(tmp) / "ntu.npz"
        seeded_ntu_npz(npz)
        ntu_feeder = dict(data_path=str(npz), split="test", window_size=120, p_interval=[0.95])
        out["ntu_feeder_logits"], out["ntu_feeder_labels"] = official_feeder_scores(
            args.official, tools, "feeder_ntu", case_args(CASES["ntu26"], args.configs), ntu_feeder)
        for name, case in (("sbu", "sbu"), ("h2o", "h2o"), ("asb", "asb_action")):
            feeder_args = prepared_dataset(name, Path(tmp) / name)
            out[f"{name}_feeder_logits"], out[f"{name}_feeder_labels"] = official_feeder_scores(
                args.official, tools, f"feeder_{name}", case_args(CASES[case], args.configs), feeder_args)
            print(name, "feeder", out[f"{name}_feeder_logits"].shape, out[f"{name}_feeder_labels"])
    np.savez_compressed(HERE / "official_reference.npz", **out)
    print("wrote", HERE / "official_reference.npz")


if __name__ == "__main__":
    main()
