"""``sony-pm-alt config``: write an example config, show the effective one."""

from __future__ import annotations

from pathlib import Path

import click

from .common import load_config_or_exit
from .errors import ExitCode, fail


@click.group()
def config() -> None:
    """The configuration file of `sony-pm-alt watch`."""


@config.command("init")
@click.option("--path", type=click.Path(dir_okay=False, path_type=Path), help="Where to write it.")
def config_init(path: Path | None) -> None:
    """Write a commented example config file."""
    from ..config import ConfigError, default_config_path, write_example

    target = path or default_config_path()
    try:
        write_example(target)
    except ConfigError as exc:
        fail(str(exc), ExitCode.BAD_INPUT)
    click.echo(f"wrote {target}; set guid and dest in it")


@config.command("show")
@click.option("--path", type=click.Path(dir_okay=False, path_type=Path), help="Config file.")
def config_show(path: Path | None) -> None:
    """Print the effective configuration (file, environment, defaults)."""
    from ..config import describe

    click.echo(describe(load_config_or_exit(path)))
