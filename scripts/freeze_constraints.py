"""Write constraints-ros-<distro>.txt from the venv running this script, after a change of
pins and `scripts/setup.sh`:  .venv/bin/python scripts/freeze_constraints.py

The venv's packages split in two: what requirements.txt and requirements-nodeps.txt need
(shared by every distribution, constraints.txt) and the rest (the ROS part of this venv's
distribution). The ROS part is written; differences in the shared part are printed, to be
edited into constraints.txt by hand (other distributions' venvs must agree with it).
"""
from __future__ import annotations

import os
import re
import sys
from importlib import metadata
from pathlib import Path

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

ROOT = Path(__file__).resolve().parents[1]
SHARED_REQUIREMENTS = ("requirements.txt", "requirements-nodeps.txt")
HEADER = """# ROS 2 {distro}: the tested versions of the ROS part of the venv (the ROS wheels and the
# Python packages only they need); the shared part is in constraints.txt.
# Written by scripts/freeze_constraints.py.
"""


def installed() -> dict[str, metadata.Distribution]:
    """The venv's distributions by canonical name, but for ista_ros and the packaging tools."""
    dists = {canonicalize_name(d.metadata["Name"]): d for d in metadata.distributions()}
    for name in ("ista-ros", "pip", "setuptools", "wheel"):  # as pip freeze; setuptools: requirements.txt
        dists.pop(name, None)
    return dists


def pinned_names(path: Path) -> list[str]:
    lines = (line.split("#")[0].strip() for line in path.read_text().splitlines())
    return [canonicalize_name(Requirement(line).name) for line in lines if line]


def closure(names: list[str], dists: dict[str, metadata.Distribution]) -> set[str]:
    """``names`` and everything they require, as installed."""
    seen, todo = set(), list(names)
    while todo:
        name = todo.pop()
        if name in seen or name not in dists:
            continue
        seen.add(name)
        for text in dists[name].requires or []:
            requirement = Requirement(text)
            if not requirement.marker or requirement.marker.evaluate({"extra": ""}):
                todo.append(canonicalize_name(requirement.name))
    return seen


def pin(dist: metadata.Distribution) -> str:
    return f"{dist.metadata['Name']}=={dist.version.split('+')[0]}"  # torch 2.13.0+cpu -> 2.13.0


def main() -> int:
    distro = os.environ["ROS_DISTRO"]  # set by the venv (scripts/setup.sh)
    dists = installed()
    shared = closure([n for f in SHARED_REQUIREMENTS for n in pinned_names(ROOT / f)], dists)
    ros_pins = [pin(dists[n]) for n in sorted(dists) if n not in shared]
    target = ROOT / f"constraints-ros-{distro}.txt"
    target.write_text(HEADER.format(distro=distro.capitalize()) + "\n".join(ros_pins) + "\n")
    print(f"wrote {target.name}: {len(ros_pins)} pins")
    listed = set(re.findall(r"^([^#\s][^=\s]*==\S+)", (ROOT / "constraints.txt").read_text(), re.M))
    for line in sorted({pin(dists[n]) for n in shared} ^ listed, key=canonicalize_name):
        print(f"constraints.txt differs from this venv: {line}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
