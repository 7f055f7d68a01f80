"""``sony-pm-alt sync``: one session with one camera at a known address."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import click

from ..ptpip.codes import PTPIP_PORT
from .common import allow_quick_exit, config_option, load_config_or_exit, state_option
from .errors import ExitCode, cancel_on_signals, fail, session_errors
from .options import SettingsCommand


@click.command(cls=SettingsCommand, sections=("defaults",))
@click.option("--host", required=True, help="The camera's IPv4 address.")
@click.option("--port", default=PTPIP_PORT, type=click.IntRange(1, 65535))
@config_option
@click.option("--redownload", is_flag=True, help="Download again what was transferred before.")
@click.option("--dry-run", is_flag=True, help="List and plan only; download nothing.")
@click.option("--json", "as_json", is_flag=True, help="JSON lines on standard output.")
@state_option
def sync(
    host: str,
    port: int,
    config_path: Path | None,
    redownload: bool,
    dry_run: bool,
    as_json: bool,
    state_path: Path | None,
    **flags: Any,
) -> None:
    """Run one session with a camera in "Send to Computer" mode: download what is new.

    Settings come from the config's [defaults], SONY_PM_ALT_* variables and the flags, as for
    watch. Exit status 0 only when every planned file is safe on disk and the listing complete;
    1 when not; 4 when the files are safe but the camera did not confirm the profile's
    power-off (it may still be on)."""
    from ..console import JsonView, PlainView, RichView
    from ..engine.state import StateStore, default_state_path
    from ..engine.sync import sync as run_sync

    settings = load_config_or_exit(config_path, **flags).defaults
    identity = settings.identity()
    if identity is None or settings.dest is None:
        key = "guid" if identity is None else "dest"
        fail(f"no {key} set: give --{key}, SONY_PM_ALT_{key.upper()} or {key} in [defaults] "
             "of the config", ExitCode.BAD_INPUT)  # fmt: skip
    options = settings.sync_options(settings.dest, redownload=redownload, dry_run=dry_run)
    view = JsonView() if as_json else RichView() if sys.stderr.isatty() else PlainView()
    with session_errors(), StateStore(state_path or default_state_path()) as store:
        summary = run_sync(
            host,
            port=port,
            identity=identity,
            options=options,
            state=store,
            on_event=view,
            cancel=cancel_on_signals(),
        )
    allow_quick_exit()  # the state store is closed, the files too
    if summary.stopped:
        click.echo(f"sony-pm-alt: {summary.stopped}", err=True)
    if not summary.ok:
        sys.exit(ExitCode.FAILED)
    sys.exit(ExitCode.POWER_OFF_UNCONFIRMED if summary.power_off_failed else ExitCode.OK)
