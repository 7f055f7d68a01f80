"""Command line: one small module per command (``sync.py`` for ``sony-pm-alt sync`` …), what they
share in ``common.py``. Each module imports click only; the engine, python-gphoto2 and the
emulator load inside the command that needs them, so ``--help`` stays fast."""

from __future__ import annotations

import atexit
import contextlib
import ctypes
import importlib
import logging
import os
import sys
import threading

import click

from .. import __version__
from .errors import Group

# Where each command lives ("module:function" in this package): a command's module is imported
# only when it runs (or when --help lists them all), so sync does not load the others.
COMMANDS = {
    "config": "config:config",
    "discover": "discover:discover",
    "doctor": "doctor:doctor",
    "emulate": "emulate:emulate",
    "emulate-ftp": "ftp:emulate_ftp",
    "ftp-password-hash": "ftp:ftp_password_hash",
    "guid": "pairing:guid",
    "history": "history:history",
    "pair": "pairing:pair",
    "receive-ftp": "ftp:receive_ftp",
    "smartphone": "smartphone:smartphone",
    "sync": "sync:sync",
    "watch": "watch:watch",
}


class _Commands(Group):
    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(COMMANDS)

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name not in COMMANDS:
            return None
        module, name = COMMANDS[cmd_name].split(":")
        command: click.Command = getattr(importlib.import_module(f".{module}", __name__), name)
        return command


@click.group(
    cls=_Commands, context_settings={"help_option_names": ["-h", "--help"], "show_default": True}
)
@click.version_option(__version__, prog_name="sony-pm-alt")
@click.option(
    "-v", "--verbose", count=True, show_default=False, help="More log output (-vv for debug)."
)
def main(verbose: int) -> None:
    """Wireless photo import from Sony cameras in "Send to Computer" mode."""
    level = logging.WARNING - 10 * min(verbose, 2)
    logging.basicConfig(level=level, format="%(levelname)s %(name)s: %(message)s")
    # libgphoto2's own complaints ("Failed to connect.") repeat what sony-pm-alt says in its
    # own words; shown with -v.
    logging.getLogger("gphoto2").setLevel(logging.ERROR if verbose == 0 else level)


def run() -> None:
    """The ``sony-pm-alt`` program: :func:`main`; then, after a command that closed all it
    opened (``common.allow_quick_exit``: ``sync``), an exit that skips the interpreter's
    teardown of every module (20–35 ms after a session with python-gphoto2 loaded, longer than
    a whole nothing-new session's camera work). The atexit handlers still run and the standard
    streams are flushed; with another thread still running, or a message as the exit status,
    Python exits as usual."""
    from . import common

    _keep_freed_memory()
    try:
        main()
    except SystemExit as exc:
        code = exc.code
    else:
        code = 0
    if code is None:
        code = 0
    if not (common.quick_exit_allowed and isinstance(code, int)) or _threads_still_running():
        sys.exit(code)
    atexit._run_exitfuncs()
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(OSError, ValueError):  # a closed pipe: nothing more to say
            stream.flush()
    os._exit(code)


def _threads_still_running() -> bool:
    """Another non-daemon thread is alive: Python's own exit waits for it, os._exit would not."""
    main_thread = threading.main_thread()
    return any(not t.daemon for t in threading.enumerate() if t is not main_thread)


_M_TRIM_THRESHOLD, _M_MMAP_THRESHOLD = -1, -3


def _keep_freed_memory() -> bool:
    """Tune glibc's allocator for the download loop; False where there is no ``mallopt``.

    libgphoto2 allocates and frees a 1 MiB buffer for every chunk it reads. With glibc's
    defaults the freed top of the heap goes back to the kernel each time and the next chunk
    pays its page faults again: on make bench's VM the pause between two reads doubled (2.6
    against 1.25 ms) in runs that followed a large free. Anything below 32 MiB now comes from
    the heap, and up to 128 MiB of freed heap is kept (docs/benchmarks.md, *The download
    path*)."""
    mallopt = getattr(ctypes.CDLL(None), "mallopt", None)  # glibc; musl has none
    if mallopt is None:
        return False
    return bool(mallopt(_M_MMAP_THRESHOLD, 32 << 20) and mallopt(_M_TRIM_THRESHOLD, 128 << 20))
