"""Command line: one small module per command (``sync.py`` for ``sony-pm-alt sync`` …), what they
share in ``common.py``. Each module imports click only; the engine, python-gphoto2 and the
emulator load inside the command that needs them, so ``--help`` stays fast."""

from __future__ import annotations

import logging

import click

from .. import __version__
from .config import config
from .discover import discover
from .doctor import doctor
from .emulate import emulate
from .errors import Group
from .ftp import emulate_ftp, ftp_password_hash, receive_ftp
from .history import history
from .pairing import guid, pair
from .smartphone import smartphone
from .sync import sync
from .watch import watch


@click.group(
    cls=Group, context_settings={"help_option_names": ["-h", "--help"], "show_default": True}
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


for _command in (
    watch,
    discover,
    config,
    guid,
    pair,
    sync,
    smartphone,
    history,
    doctor,
    emulate,
    receive_ftp,
    emulate_ftp,
    ftp_password_hash,
):
    main.add_command(_command)
