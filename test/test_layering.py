"""The layers as tests: dependencies point down only (core <- keypoints, synthetic,
training <- ROS glue <- commands), checked twice: in the source (every import statement,
function-level ones included) and by importing every module in a fresh interpreter."""
from __future__ import annotations

import ast
import json
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
# package directory -> the project packages its modules may import (besides the standard
# library and third-party packages)
ALLOWED = {
    "ista_ros/core": ("ista_ros.core", "ista_ros.errors"),
    "ista_ros/keypoints": ("ista_ros.keypoints", "ista_ros.core", "ista_ros.errors"),
    "ista_ros/synthetic": ("ista_ros.synthetic", "ista_ros.core", "ista_ros.errors"),
    "ista_ros/viz": ("ista_ros.viz", "ista_ros.core", "ista_ros.errors"),
    # ista_ros.bags reads and writes rosbag2 files without rclpy (rosbags): training
    # turns recordings into datasets with it
    "training/ista_train": ("ista_train", "ista_ros.core", "ista_ros.errors", "ista_ros.synthetic", "ista_ros.bags"),
}
# package (every module of it) or module -> what importing it must never load
NEVER_LOADS = {
    "ista_ros.core": ("rclpy",),
    "ista_ros.keypoints": ("rclpy",),
    "ista_ros.synthetic": ("rclpy", "torch"),  # numpy only: training and the demo share it
    "ista_train": ("rclpy",),
    "ista_ros.viz": ("rclpy", "torch"),  # pictures need no ROS graph and no model
    "ista_ros.bags": ("rclpy", "torch"),
    "ista_ros.errors": ("rclpy", "torch", "numpy"),
    "ista_ros.core.files": ("torch", "numpy"),
    "ista_ros.nodes.listener": ("torch",),  # a subscriber that prints needs no model
}

# Imports every module named in argv[1] (a package: all its modules, one by one) and
# prints, for each forbidden module in argv[2:], the first project module that loaded it.
# Module names come from the files (pkgutil.walk_packages would import subpackages itself).
PROBE = """
import importlib, json, sys
from pathlib import Path
target, forbidden = sys.argv[1], sys.argv[2:]
names = [target]
package = importlib.import_module(target)
for root in map(Path, getattr(package, "__path__", [])):
    for path in sorted(root.rglob("*.py")):
        parts = path.relative_to(root).with_suffix("").parts
        if parts[-1] == "__init__":
            parts = parts[:-1]
        if parts and parts[-1] != "__main__":
            names.append(".".join((target, *parts)))
culprits = {}
for name in names:
    importlib.import_module(name)
    for loaded in forbidden:
        if loaded in sys.modules and loaded not in culprits:
            culprits[loaded] = name
print(json.dumps({"modules": len(names), "culprits": culprits}))
"""


def project_imports(path: Path) -> set[str]:
    names = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names.add(node.module)
    return {n for n in names if n.split(".")[0] in ("ista_ros", "ista_train")}


def under(name: str, packages: tuple[str, ...]) -> bool:
    return any(name == p or name.startswith(p + ".") for p in packages)


@pytest.mark.parametrize("folder", ALLOWED)
def test_imports_point_down_only(folder):
    wrong = {f"{path.relative_to(REPO)}: {name}"
             for path in sorted((REPO / folder).rglob("*.py"))
             for name in project_imports(path) if not under(name, ALLOWED[folder])}
    assert not wrong, f"{folder} may import only {', '.join(ALLOWED[folder])}; found {sorted(wrong)}"


@pytest.mark.parametrize("target", NEVER_LOADS)
def test_importing_never_loads_a_higher_layer(target):
    done = subprocess.run([sys.executable, "-c", PROBE, target, *NEVER_LOADS[target]], capture_output=True,
                          text=True, cwd=REPO, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    result = json.loads(done.stdout.splitlines()[-1])
    assert result["modules"] >= 1
    assert result["culprits"] == {}, f"importing {target} loaded {result['culprits']} (module: first importer)"
