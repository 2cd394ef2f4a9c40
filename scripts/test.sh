#!/usr/bin/env bash
# The README's test command: set up when needed (idempotent, seconds when nothing
# changed), then run the test suite (pytest.ini: testpaths = test). Arguments go to
# pytest, e.g. `-k messages -x`, a test file, or `-m ros` (the ROS-facing tests).
# ROS_DISTRO (default jazzy) and VENV choose the distribution and venv (scripts/distro.sh).
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
source "$ROOT/scripts/distro.sh"
bash "$ROOT/scripts/setup.sh"
cd "$ROOT"
exec "$VENV/bin/python" -m pytest -q "$@"
