"""One error policy for `ista-ros`, `ista-train` and the node executables.

A UserError is a mistake the user can fix (a path, a setting, a file that does not fit):
its message is one sentence naming the thing and what to do, printed without a traceback,
exit status 2. Any other exception is a bug and keeps its traceback (exit status 1).
This module imports nothing heavy: the lightest node may raise and catch these.
"""
from __future__ import annotations

import sys
from typing import Callable

USER_ERROR_STATUS = 2
INTERRUPTED_STATUS = 130  # 128 + SIGINT, as shells report it


class UserError(Exception):
    """A mistake the user can fix: one sentence, exit 2."""


class ConfigError(UserError, ValueError):
    """A setting, argument, path or configuration file the user gave that cannot be used;
    the message names it."""


def run_reporting_user_errors(prog: str, command: Callable[[], int | None]) -> int:
    """Run ``command()``; a UserError becomes ``<prog>: error: <sentence>`` on stderr and
    exit status 2, Ctrl-C exit status 130. Anything else propagates with its traceback."""
    try:
        return command() or 0
    except UserError as err:
        print(f"{prog}: error: {err}", file=sys.stderr)
        return USER_ERROR_STATUS
    except KeyboardInterrupt:
        return INTERRUPTED_STATUS
