#!/usr/bin/env bash
# The main job: set the machine up (scripts/setup.sh, idempotent), then run the live demo:
# generated two-person interactions -> player -> recognizer (the shipped demo model) ->
# listener, as ROS 2 processes, ending with an accuracy line. Arguments go to
# `ista-ros demo` (e.g. --num-interactions 20, --seed 7, --weights W, --video FILE).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
bash "$ROOT/scripts/setup.sh"
cd "$ROOT"
exec "$ROOT/.venv/bin/ista-ros" demo "$@"
