"""A short run of benchmarks/recognizer_fuzz.py: the real recognizer node takes a few hundred
bad messages of every class between valid frames, stays alive, publishes no NaN, counts the
bad input in /diagnostics and answers again within one window once the bad input stops."""
import importlib.util
import sys
from pathlib import Path

import pytest

pytest.importorskip("rclpy")
pytest.importorskip("diagnostic_msgs.msg")

SCRIPT = Path(__file__).resolve().parents[1] / "benchmarks" / "recognizer_fuzz.py"


def load_fuzzer():
    spec = importlib.util.spec_from_file_location("recognizer_fuzz", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # its dataclasses look their module up
    spec.loader.exec_module(module)
    return module


@pytest.mark.ros
def test_a_fuzzed_stream_leaves_the_node_alive_finite_and_answering(ros_domain_id):
    fuzz = load_fuzzer()
    results, log = fuzz.run(num_bad=340, per_frame=4)  # every class about 20 times
    assert results["alive"], log
    assert set(results["by_class"]) == set(fuzz.COUNTED)
    assert results["nan_actions"] == 0
    assert results["first_answer_s"] <= fuzz.WINDOW_S, log
    assert results["problems_fuzz"] >= results["problems_expected"] > 0
    assert results["level_fuzz"] == 1 and results["problems_after"] == 0  # WARN while bad, then quiet
