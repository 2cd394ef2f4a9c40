"""ruff (the version pinned in requirements.txt, the rules in ruff.toml) finds nothing in
the repository. `.venv/bin/ruff check --fix FILE` fixes import order; the rest is by hand."""
from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def pinned_ruff() -> str:
    match = re.search(r"^ruff==(\S+)", (REPO / "requirements.txt").read_text(), re.M)
    assert match, "requirements.txt pins no ruff"
    return match.group(1)


def ruff(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "ruff", *args], capture_output=True, text=True, cwd=REPO,
                          timeout=120)


def test_the_pinned_ruff_runs():
    done = ruff("--version")
    assert done.returncode == 0, f"ruff is not installed in this environment (bash scripts/setup.sh): {done.stderr}"
    assert done.stdout.split() == ["ruff", pinned_ruff()]


def test_ruff_finds_nothing():
    done = ruff("check", "--no-cache", "--output-format", "concise", ".")
    assert done.returncode == 0, f"ruff findings (rules: ruff.toml):\n{done.stdout}{done.stderr}"
