"""The shared sample -> model-input path equals the official test-time pipeline."""
from pathlib import Path

import numpy as np
import pytest

from ista_ros.core.window import Preprocessing, centre_on_joint, crop_resize, model_input, valid_frame_count
from reference.make_official_reference import seeded_sample

REFERENCE = np.load(Path(__file__).parent / "reference" / "official_reference.npz")


@pytest.mark.parametrize("window", [40, 120])
def test_centre_crop_and_resize_equal_the_official_feeder(window):
    sample = seeded_sample()
    assert valid_frame_count(sample) == 67
    out = crop_resize(sample, 67, (0.95,), window)
    assert out.shape == (3, window, 25, 2) and out.dtype == np.float32
    np.testing.assert_allclose(out, REFERENCE[f"crop_resize_{window}"], atol=1e-6)


def test_model_input_is_the_test_time_pipeline():
    sample = seeded_sample()
    pre = Preprocessing(num_frames=120)
    np.testing.assert_allclose(model_input(sample, pre), REFERENCE["crop_resize_120"], atol=1e-6)


def test_random_crop_keeps_at_least_64_frames_inside_the_valid_span():
    t = np.arange(1, 201, dtype=np.float32)
    sample = np.broadcast_to(t[None, :, None, None], (1, 200, 1, 1)).copy()
    sample[:, 150:] = 0
    rng = np.random.default_rng(0)
    for _ in range(50):
        out = crop_resize(sample, 150, (0.1, 0.2), 64, rng)  # p*150 < 64: the floor applies
        frames = out[0, :, 0, 0]
        assert frames.min() >= 1 and frames.max() <= 150
        assert frames.max() - frames.min() == pytest.approx(63, abs=1.0)  # 64 consecutive frames, resized to 64


def test_random_crop_needs_a_generator():
    with pytest.raises(ValueError, match="random generator"):
        crop_resize(np.ones((3, 10, 2, 2), np.float32), 10, (0.5, 1.0), 8)


def test_all_zero_sample_is_refused_clearly():
    with pytest.raises(ValueError, match="no valid frame"):
        model_input(np.zeros((3, 10, 25, 2), np.float32), Preprocessing(num_frames=8))


def test_nan_and_wrong_rank_are_refused():
    with pytest.raises(ValueError, match="NaN"):
        model_input(np.full((3, 10, 25, 2), np.nan, np.float32), Preprocessing(num_frames=8))
    with pytest.raises(ValueError, match=r"\(C, T, J, E\)"):
        model_input(np.ones((10, 25, 2), np.float32), Preprocessing(num_frames=8))


def test_centring_moves_joint_of_first_entity_to_origin_and_keeps_missing_frames_zero():
    rng = np.random.default_rng(3)
    sample = rng.standard_normal((3, 6, 25, 2)).astype(np.float32)
    sample[:, 0, :, 0] = 0  # entity 0 absent at frame 0: its first present frame is 1
    sample[:, 4, :, 1] = 0  # entity 1 missing at frame 4
    centred = centre_on_joint(sample, joint=1)
    np.testing.assert_allclose(centred[:, 1, 1, 0], 0, atol=1e-7)
    assert np.all(centred[:, 0, :, 0] == 0) and np.all(centred[:, 4, :, 1] == 0)
    np.testing.assert_allclose(centred[:, 2] - centred[:, 3], sample[:, 2] - sample[:, 3], atol=1e-6)
    np.testing.assert_array_equal(centre_on_joint(centred, joint=1), centred)  # idempotent


def test_preprocessing_round_trips_through_a_dict():
    pre = Preprocessing(num_frames=40, p_interval=(0.9,), centre_joint=1)
    assert Preprocessing.from_dict(pre.to_dict()) == pre


@pytest.mark.parametrize("centre_joint", [None, 1])
def test_ntu_test_pipeline_equals_the_official_feeder_and_model_end_to_end(tmp_path, centre_joint):
    """Official NTU feeder (mutual filter, valid crop 0.95, resize to 120) + official model
    give the same logits as the core path; centring prepared (centred) data is a no-op."""
    import torch

    from ista_ros.core.config import load_model_config
    from ista_ros.core.model import ISTANet
    from reference.make_official_reference import WEIGHT_SEED, seeded_ntu_npz
    from reference.randomize import randomize_state_dict

    seeded_ntu_npz(tmp_path / "ntu.npz")
    data = np.load(tmp_path / "ntu.npz")
    labels = data["y_test"].argmax(1)
    mutual = ((labels >= 49) & (labels <= 59)) | (labels >= 105)
    samples = data["x_test"][mutual].reshape(-1, 300, 2, 25, 3).transpose(0, 4, 1, 3, 2)
    model = ISTANet(load_model_config(Path(__file__).parents[1] / "config/model/ntu26.yaml")).eval()
    model.load_state_dict(randomize_state_dict(model.state_dict(), WEIGHT_SEED))
    pre = Preprocessing(num_frames=120, centre_joint=centre_joint)
    x = torch.from_numpy(np.stack([model_input(s, pre) for s in samples]))
    with torch.no_grad():
        logits = model(x).numpy()
    np.testing.assert_allclose(logits, REFERENCE["ntu_feeder_logits"], atol=1e-4)


def test_preprocessing_rejects_unknown_keys_and_wrong_types():
    with pytest.raises(ValueError, match="unknown preprocessing key 'center_joint'"):
        Preprocessing.from_dict({"num_frames": 40, "center_joint": 1})  # a typo meant uncentred inputs
    for bad in ({"num_frames": "40"}, {"num_frames": 40, "p_interval": [0.5, 2.0]},
                {"num_frames": 40, "centre_joint": 1.5}, {"p_interval": [0.95]}):
        with pytest.raises(ValueError, match="preprocessing"):
            Preprocessing.from_dict(bad)


def test_model_input_takes_the_random_crop_of_training():
    sample = seeded_sample()
    pre = Preprocessing(num_frames=64, p_interval=(0.5, 1.0))
    first, again = (model_input(sample, pre, np.random.default_rng(4)) for _ in range(2))
    np.testing.assert_array_equal(first, again)
    assert first.shape == (3, 64, 25, 2)
    with pytest.raises(ValueError, match="random generator"):
        model_input(sample, pre)
