"""What the commands share: the --config and --state options, loading the config. (The error
boundary, exit statuses and cancellation by signal are in ``errors.py``.)"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import click

from .errors import ExitCode, fail

if TYPE_CHECKING:
    from ..settings import Settings

_FILE = click.Path(dir_okay=False, path_type=Path)
config_option = click.option(
    "--config",
    "config_path",
    type=_FILE,
    help="Config file. Default: ~/.config/sony-pm-alt/config.toml.",
)
state_option = click.option(
    "--state", "state_path", type=_FILE, help="State database. Default: in the XDG data directory."
)


# Set by a command that has closed everything it opened (files, the state store): run() may
# then end the process without the interpreter's teardown, which would otherwise flush what
# was left open.
quick_exit_allowed = False


def allow_quick_exit() -> None:
    """Called by a command once everything it wrote is closed: see :func:`sony_pm_alt.cli.run`."""
    global quick_exit_allowed
    quick_exit_allowed = True


def load_config_or_exit(config_path: Path | None, **flags: object) -> Settings:
    """The settings with ``flags`` (None: not given) on top; a bad one is one line, exit 2."""
    from ..settings import ConfigError, load

    try:
        return load(config_path, flags=flags)
    except ConfigError as exc:
        fail(str(exc), ExitCode.BAD_INPUT)
