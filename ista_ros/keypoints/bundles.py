"""Build MediaPipe Tasks model bundles (.task) offline from the installed wheel.

mediapipe 0.10.21 ships the tflite models of its legacy solutions under
``mediapipe/modules/``; the Tasks API wants them packed as an UNCOMPRESSED zip with
fixed member names. The pose landmark and the lite palm detection models lack the
image normalisation metadata the Tasks runtime requires, so it is added here
(mean 0, std 255: like their siblings that carry metadata, and like the legacy
graphs that feed them, they take pixel values scaled to [0, 1]). Nothing is ever downloaded.

Bundles go to ``$ISTA_ROS_MODEL_DIR`` if set, else ``<venv>/share/ista_ros/mediapipe``
when running in a virtual environment (the bundles belong to that venv's wheel and
disappear with it), else ``~/.cache/ista_ros/mediapipe``. Building is idempotent: a
bundle is rewritten only when its bytes would change.

    python -m ista_ros.keypoints.bundles      # set-up calls this
"""
from __future__ import annotations

import io
import os
import sys
import zipfile
from pathlib import Path

from ista_ros.core.files import atomic_write_bytes
from ista_ros.errors import UserError, run_reporting_user_errors

# bundle name -> {member name in the .task zip: tflite path under mediapipe/modules}
BUNDLES = {
    "pose_landmarker_full": {
        "pose_detector.tflite": "pose_detection/pose_detection.tflite",
        "pose_landmarks_detector.tflite": "pose_landmark/pose_landmark_full.tflite",
    },
    "hand_landmarker_full": {
        "hand_detector.tflite": "palm_detection/palm_detection_full.tflite",
        "hand_landmarks_detector.tflite": "hand_landmark/hand_landmark_full.tflite",
    },
    "hand_landmarker_lite": {
        "hand_detector.tflite": "palm_detection/palm_detection_lite.tflite",
        "hand_landmarks_detector.tflite": "hand_landmark/hand_landmark_lite.tflite",
    },
}
# Sources shipped without metadata (checked with MetadataDisplayer on 0.10.21).
_NEEDS_NORMALIZATION = {
    "pose_landmark/pose_landmark_full.tflite",
    "palm_detection/palm_detection_lite.tflite",
}
# A fixed timestamp keeps the zip bytes identical between builds (idempotence).
_ZIP_DATE = (2020, 1, 1, 0, 0, 0)


class BundleError(UserError):
    """The MediaPipe wheel with model files is missing or the bundle cannot be built."""


def model_dir() -> Path:
    """Directory holding the built .task bundles (see module docstring)."""
    if os.environ.get("ISTA_ROS_MODEL_DIR"):
        return Path(os.environ["ISTA_ROS_MODEL_DIR"])
    if sys.prefix != sys.base_prefix:
        return Path(sys.prefix) / "share" / "ista_ros" / "mediapipe"
    return Path.home() / ".cache" / "ista_ros" / "mediapipe"


def _modules_dir() -> Path:
    try:
        import mediapipe
    except ImportError as exc:
        raise BundleError(
            "mediapipe is not installed; install mediapipe==0.10.21 (the last release "
            "that ships model files)") from exc
    return Path(mediapipe.__file__).parent / "modules"


def _with_normalization(model: bytes, name: str) -> bytes:
    from mediapipe.tasks.python.metadata.metadata_writers import metadata_writer

    writer = metadata_writer.MetadataWriter.create(bytearray(model))
    writer.add_general_info(name)
    writer.add_image_input(norm_mean=[0.0], norm_std=[255.0])
    return bytes(writer.populate()[0])


def bundle_bytes(name: str) -> bytes:
    """The .task zip for ``name`` (a key of BUNDLES), built in memory."""
    modules = _modules_dir()
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_STORED) as archive:
        for member, source in BUNDLES[name].items():
            path = modules / source
            if not path.is_file():
                raise BundleError(
                    f"{path} is missing: the installed mediapipe ships no model files; "
                    "install mediapipe==0.10.21")
            model = path.read_bytes()
            if source in _NEEDS_NORMALIZATION:
                model = _with_normalization(model, Path(source).stem)
            archive.writestr(zipfile.ZipInfo(member, date_time=_ZIP_DATE), model)
    return buffer.getvalue()


def bundle_path(name: str) -> Path:
    """Path of bundle ``name``, building it first if it is missing."""
    path = model_dir() / f"{name}.task"
    if not path.is_file():
        build(name)
    return path


def build(name: str) -> bool:
    """Write bundle ``name`` atomically; return True if the file changed."""
    if name not in BUNDLES:
        raise BundleError(f"unknown bundle {name!r}; choose one of {sorted(BUNDLES)}")
    data = bundle_bytes(name)
    path = model_dir() / f"{name}.task"
    if path.is_file() and path.read_bytes() == data:
        return False
    atomic_write_bytes(path, data)
    return True


def build_all() -> dict[str, bool]:
    return {name: build(name) for name in BUNDLES}


def report_builds() -> None:
    for name, was_written in build_all().items():
        state = "built" if was_written else "up to date"
        print(f"{model_dir() / (name + '.task')}: {state}")


if __name__ == "__main__":
    sys.exit(run_reporting_user_errors("ista_ros.keypoints.bundles", report_builds))
