#!/usr/bin/env bash
# The README's test command: set up when needed (idempotent, seconds when nothing
# changed), then run the test suite (pytest.ini: testpaths = test). Arguments go to
# pytest, e.g. `-k messages -x` or a test file.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
bash "$ROOT/scripts/setup.sh"
cd "$ROOT"
exec "$ROOT/.venv/bin/python" -m pytest -q "$@"
