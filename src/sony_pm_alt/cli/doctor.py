"""``sony-pm-alt doctor``: check the set-up."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from .common import config_option
from .errors import ExitCode


@click.command()
@config_option
@click.option(
    "--quiet",
    is_flag=True,
    help="Print only failures; the exit status (1 on any failure) is the answer. "
    "For health checks.",
)
def doctor(config_path: Path | None, quiet: bool) -> None:
    """Check libraries, the native layer, the config, destinations and the network."""
    from ..doctor import Status, run_checks

    marks = {Status.OK: "ok  ", Status.WARN: "WARN", Status.FAIL: "FAIL"}
    checks = run_checks(config_path)
    for check in checks:
        if quiet and check.status is not Status.FAIL:
            continue
        click.echo(f"[{marks[check.status]}] {check.name}: {check.detail}")
        if check.advice:
            click.echo(f"       {check.advice}")
    if any(c.status is Status.FAIL for c in checks):
        sys.exit(ExitCode.FAILED)
