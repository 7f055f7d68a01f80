"""The command line's one error boundary: named exit statuses, one line on standard error for
every failure a user can meet (what happened and what to do, never a traceback), and Ctrl-C.

The messages themselves come from the exceptions (``sony_pm_alt.errors``); this module only
decides the exit status and prints them. README "Exit statuses" and docs/errors.md list the
same numbers.
"""

from __future__ import annotations

import os
import signal
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from enum import IntEnum
from typing import Any, NoReturn

import click


class ExitCode(IntEnum):
    OK = 0  # every planned file is safe (and the camera was left as the profile asks)
    # The command ran but did not do all it should: a session with files not fetched or not
    # listed (the summary says which), a failed doctor check, a refused pairing.
    FAILED = 1
    # Bad usage, config or state file. The same number click gives a usage error, on purpose:
    # both mean "what you asked for cannot be done as written".
    BAD_INPUT = 2
    NO_SESSION = 3  # the camera or the destination could not be used
    POWER_OFF_UNCONFIRMED = 4  # every file is safe, the power-off was not confirmed
    INTERRUPTED = 130  # Ctrl-C or SIGTERM (128 + SIGINT, as a shell reports it)


INTERRUPTED = (
    "interrupted; finished files are kept and recorded, the file in transfer is resumed next "
    "time, the camera stays on"
)


def fail(message: str, code: ExitCode) -> NoReturn:
    """One line on standard error, then exit with ``code``."""
    click.echo(f"sony-pm-alt: {message}", err=True)
    sys.exit(code)


def exit_code(exc: BaseException) -> ExitCode:
    """The exit status of an error that ended a command."""
    from ..engine.state import StateError
    from ..errors import SyncCancelled

    if isinstance(exc, KeyboardInterrupt | SyncCancelled):
        return ExitCode.INTERRUPTED
    if isinstance(exc, StateError):  # the state file: named in the message, fixed by the user
        return ExitCode.BAD_INPUT
    return ExitCode.NO_SESSION


@contextmanager
def session_errors() -> Iterator[None]:
    """Around a session: a camera, destination or state problem ends it with one line."""
    from ..errors import SonyPmAltError

    try:
        yield
    except (KeyboardInterrupt, SonyPmAltError, ValueError, OSError) as exc:
        code = exit_code(exc)
        fail(INTERRUPTED if code is ExitCode.INTERRUPTED else str(exc), code)


def cancel_on_signals() -> threading.Event:
    """An event set by the first SIGINT/SIGTERM; the sync stops between two chunks. No
    KeyboardInterrupt is raised: Python could raise it inside python-gphoto2's log callback,
    called from C, which prints a traceback and loses it. A second signal ends the process
    at once with the same one line (partial files are resumed, the session is recorded as
    interrupted next time)."""
    cancel = threading.Event()

    def stop(signum: int, frame: Any) -> None:
        if cancel.is_set():
            sys.stdout.flush()
            sys.stderr.write(f"sony-pm-alt: {INTERRUPTED}\n")
            sys.stderr.flush()
            os._exit(ExitCode.INTERRUPTED)
        cancel.set()

    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, stop)
    return cancel


class Group(click.Group):
    """The top-level command group: an error no command turned into a line of its own ends
    with one here, and Ctrl-C with "interrupted" (click's default: "Aborted!" and status 1)."""

    def invoke(self, ctx: click.Context) -> Any:
        from ..errors import SonyPmAltError

        try:
            return super().invoke(ctx)
        except KeyboardInterrupt:
            fail("interrupted", ExitCode.INTERRUPTED)
        except SonyPmAltError as exc:
            fail(str(exc), exit_code(exc))
