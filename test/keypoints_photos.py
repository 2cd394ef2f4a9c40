"""Real photos for the keypoints tests, fetched like a fresh machine would.

Debian's opencv-doc package carries examples/data/basketball1.png (two people),
opencv4/html/handSrc.jpg (a hand) and photos without people. It is downloaded once with
``apt-get download`` and unpacked with ``dpkg -x`` into ~/.cache/ista_ros/opencv-doc
(override: ISTA_ROS_TEST_DATA).
"""
import os
import shutil
import subprocess
import tempfile
from pathlib import Path

import pytest

_DOC = "usr/share/doc/opencv-doc"
BASKETBALL = f"{_DOC}/examples/data/basketball1.png"
HAND = f"{_DOC}/opencv4/html/handSrc.jpg"
NO_PERSON = f"{_DOC}/examples/data/building.jpg"
VIDEO = f"{_DOC}/examples/data/vtest.avi"


def opencv_doc(member: str) -> Path:
    """Path of ``member`` of the unpacked opencv-doc package; skip if apt is unavailable."""
    root = Path(os.environ.get("ISTA_ROS_TEST_DATA",
                               Path.home() / ".cache" / "ista_ros" / "opencv-doc"))
    if not (root / BASKETBALL).is_file():
        if shutil.which("apt-get") is None or shutil.which("dpkg") is None:
            pytest.skip("apt-get/dpkg unavailable: cannot fetch Debian's opencv-doc photos")
        root.parent.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryDirectory(dir=root.parent) as tmp:
            done = _apt_download("opencv-doc", tmp)
            debs = list(Path(tmp).glob("opencv-doc_*.deb"))
            if done.returncode != 0 or not debs:
                pytest.skip(f"apt-get download opencv-doc failed: {done.stderr.strip()[-200:]}")
            subprocess.run(["dpkg", "-x", str(debs[0]), f"{tmp}/x"], check=True)
            if not (root / BASKETBALL).is_file():  # another process may have won the race
                shutil.rmtree(root, ignore_errors=True)
                Path(f"{tmp}/x").rename(root)
    return root / member


def _apt_download(package: str, folder: str) -> subprocess.CompletedProcess:
    """``apt-get download``; on a fresh machine the package lists are empty, so (as root)
    fetch them once and try again."""
    done = subprocess.run(["apt-get", "download", package], cwd=folder, capture_output=True, text=True)
    if done.returncode != 0 and os.geteuid() == 0:
        subprocess.run(["apt-get", "update", "-qq"], capture_output=True, text=True)
        done = subprocess.run(["apt-get", "download", package], cwd=folder, capture_output=True, text=True)
    return done


def rgb(member: str):
    import cv2

    return cv2.cvtColor(cv2.imread(str(opencv_doc(member))), cv2.COLOR_BGR2RGB)
