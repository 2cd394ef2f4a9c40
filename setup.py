"""pip install of the pure-Python parts, without ROS (e.g. a GPU cluster that only trains).

The ROS 2 messages (ista_ros.msg) are not built by pip: scripts/setup.sh builds them into
the project's virtual environment, colcon builds them in a ROS 2 workspace.
"""
from setuptools import find_packages, setup

setup(
    name="ista_ros",
    version="0.1.0",
    description="Interactive-action recognition with ISTA-Net: ROS 2 nodes and training",
    license="Apache-2.0",
    python_requires=">=3.10",
    packages=find_packages(include=["ista_ros", "ista_ros.*"])
    + find_packages("training", include=["ista_train", "ista_train.*"]),
    package_dir={"ista_train": "training/ista_train"},
    # Ranges, not pins: a library must fit other environments. The exact, tested pins
    # are in requirements*.txt (scripts/setup.sh).
    install_requires=["torch>=2.1", "numpy>=1.24", "pyyaml>=6", "tqdm>=4.60"],
    extras_require={
        "train": ["tensorboard>=2.14", "matplotlib>=3.7", "pillow>=9"],
        "keypoints": ["opencv-python-headless>=4.8", "mediapipe==0.10.21", "numpy<2"],
        "bags": ["rosbags>=0.10"],
        "test": ["pytest>=7"],
    },
    entry_points={
        "console_scripts": [
            "ista-ros = ista_ros.cli:main",
            "ista-train = ista_train.cli:main",
        ]
    },
)
