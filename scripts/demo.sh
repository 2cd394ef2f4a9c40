#!/usr/bin/env bash
# The main job: set the machine up (scripts/setup.sh, idempotent), then run the live demo:
# generated two-person interactions -> player -> recognizer (the shipped demo model) ->
# listener, as ROS 2 processes, ending with an accuracy line. Arguments go to
# `ista-ros demo` (e.g. --num-interactions 20, --seed 7, --weights W, --video FILE).
# ROS_DISTRO (default jazzy) and VENV choose the distribution and venv (scripts/distro.sh).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
source "$ROOT/scripts/distro.sh"
bash "$ROOT/scripts/setup.sh"
cd "$ROOT"
exec "$VENV/bin/ista-ros" demo "$@"
