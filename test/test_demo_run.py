"""`ista-ros demo`, short: real player, recognizer and listener processes on generated
interactions, to the accuracy line and a clean shutdown."""
from __future__ import annotations

import re
import subprocess
import sys


def ista_ros(*args, timeout=300):
    return subprocess.run([sys.executable, "-m", "ista_ros.cli", *args], capture_output=True, text=True,
                          timeout=timeout)


def test_short_demo_ends_with_accuracy_and_clean_shutdown():
    result = ista_ros("demo", "--num-interactions", "2", "--seed", "3", "--device", "cpu")
    assert result.returncode == 0, result.stdout + result.stderr
    lines = result.stdout.splitlines()
    windows = [line for line in lines if " recognised " in line]
    assert len(windows) >= 8, result.stdout  # ~7 s of interactions, a window every 10 frames
    assert all("truth" in line and "latency" in line for line in windows)
    summary = re.fullmatch(r"accuracy (\d+\.\d)% \((\d+) of (\d+) windows .*", lines[-2])
    assert summary, result.stdout
    assert int(summary.group(3)) >= 4
    assert float(summary.group(1)) >= 40.0  # ten classes: chance is 10 %
    assert lines[-1] == "demo: every node shut down cleanly"


def test_missing_weights_is_one_clear_sentence():
    result = ista_ros("demo", "--weights", "/nonexistent/model.pt", timeout=60)
    assert result.returncode == 2
    assert "/nonexistent/model.pt does not exist" in result.stderr and "Traceback" not in result.stderr
