#!/usr/bin/env bash
# The README's test command: set up when needed (idempotent, seconds when nothing
# changed), then run the test suite. Arguments go to pytest, e.g. -k messages -x.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
bash "$ROOT/scripts/setup.sh"
cd "$ROOT"
exec "$ROOT/.venv/bin/python" -m pytest test -q "$@"
