"""What the commands share: loading the config, the session error boundary, exit statuses,
cancellation by signal."""

from __future__ import annotations

import signal
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

import click

if TYPE_CHECKING:
    from ..config import Config


def load_config_or_exit(config_path: Path | None, **flags: object) -> Config:
    from ..config import ConfigError, apply_overrides, load_config

    try:
        return apply_overrides(load_config(config_path), **flags)
    except ConfigError as exc:
        click.echo(f"sony-pm-alt: {exc}", err=True)
        sys.exit(2)


# Exit statuses of `sync` (README "Exit statuses"): 0 every planned file is safe (and the camera
# was left as the profile asks); 1 the session ran but some files were not fetched or the listing
# was incomplete (the summary says which and why); 2 bad usage, config or state file; 3 no
# session: the camera or the destination could not be used; 4 every file is safe but the
# power-off the profile asks for was not confirmed; 130 interrupted.
EXIT_NO_SESSION = 3
EXIT_POWER_OFF_UNCONFIRMED = 4
EXIT_INTERRUPTED = 130


def cancel_on_signals() -> threading.Event:
    """An event set by the first SIGINT/SIGTERM; the sync stops between two chunks. (A
    KeyboardInterrupt could land inside a libgphoto2 callback, where it is lost.) A second
    signal interrupts at once."""
    cancel = threading.Event()

    def stop(signum: int, frame: object) -> None:
        cancel.set()
        signal.signal(signal.SIGINT, signal.default_int_handler)
        signal.signal(signal.SIGTERM, signal.SIG_DFL)

    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, stop)
    return cancel


@contextmanager
def session_errors() -> Iterator[None]:
    """The one error boundary of a session: a line on standard error and the exit status,
    never a traceback."""
    from ..engine.state import StateError
    from ..engine.sync import SyncCancelled
    from ..errors import SonyPmAltError

    try:
        yield
    except (KeyboardInterrupt, SyncCancelled):
        click.echo(
            "sony-pm-alt: interrupted; finished files are kept and recorded, the file in "
            "transfer is resumed next time, the camera stays on",
            err=True,
        )
        sys.exit(EXIT_INTERRUPTED)
    except StateError as exc:
        click.echo(f"sony-pm-alt: {exc}", err=True)
        sys.exit(2)
    except (SonyPmAltError, ValueError, OSError) as exc:
        click.echo(f"sony-pm-alt: {exc}", err=True)
        sys.exit(EXIT_NO_SESSION)
