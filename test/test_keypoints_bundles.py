"""The .task bundles built offline from the installed mediapipe wheel."""
import json
import zipfile

import pytest

pytest.importorskip("mediapipe")
from ista_ros.keypoints import bundles  # noqa: E402


def test_bundles_are_stored_zips_with_normalisation_metadata_and_idempotent(tmp_path, monkeypatch):
    from mediapipe.tasks.python.metadata import metadata

    monkeypatch.setenv("ISTA_ROS_MODEL_DIR", str(tmp_path))
    assert bundles.model_dir() == tmp_path
    assert bundles.build_all() == {name: True for name in bundles.BUNDLES}
    assert bundles.build_all() == {name: False for name in bundles.BUNDLES}  # idempotent
    for name, members in bundles.BUNDLES.items():
        with zipfile.ZipFile(tmp_path / f"{name}.task") as archive:
            infos = archive.infolist()
            assert sorted(i.filename for i in infos) == sorted(members)
            assert all(i.compress_type == zipfile.ZIP_STORED for i in infos)
            for info in infos:  # every model carries the input normalisation Tasks needs
                model = archive.read(info)
                md = json.loads(metadata.MetadataDisplayer.with_model_buffer(model)
                                .get_metadata_json())
                units = md["subgraph_metadata"][0]["input_tensor_metadata"][0]["process_units"]
                assert units[0]["options_type"] == "NormalizationOptions"


def test_unknown_bundle_is_a_clear_error(tmp_path, monkeypatch):
    monkeypatch.setenv("ISTA_ROS_MODEL_DIR", str(tmp_path))
    with pytest.raises(bundles.BundleError, match="unknown bundle 'face'"):
        bundles.build("face")
