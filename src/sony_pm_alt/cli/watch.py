"""``sony-pm-alt watch``: the main job."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import click

from ..ptpip.codes import PTPIP_PORT
from .common import config_option, load_config_or_exit, state_option
from .errors import ExitCode, fail
from .options import SettingsCommand


@click.command(cls=SettingsCommand)
@config_option
@state_option
@click.option("--once", is_flag=True, help="Exit after the first session (for scripts, demos).")
@click.option("--ptpip-port", default=PTPIP_PORT, hidden=True, type=click.IntRange(1, 65535))
def watch(
    config_path: Path | None,
    state_path: Path | None,
    once: bool,
    ptpip_port: int,
    **flags: Any,
) -> None:
    """Wait for cameras in "Send to Computer" mode and import from them (the main job).

    Runs until SIGINT/SIGTERM, which stop between two chunks: no partial file ever appears
    at a final name, and the next session resumes it. With [ftp] enabled in the config it
    also receives newer bodies' FTP Transfer uploads (docs/ftp.md)."""
    import signal
    import threading

    from ..console import WatchView
    from ..engine.state import default_state_path
    from ..watcher import Watcher

    config = load_config_or_exit(config_path, **flags)
    state_path = state_path or default_state_path()
    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())
    # Reports go to standard output: lines for a person on a terminal, otherwise JSON lines
    # only, log records included (README "JSON lines"), until the last worker has stopped.
    view = WatchView(sys.stdout.isatty())
    with view.logs_as_records():
        watcher = Watcher(
            config, state_path=state_path, on_event=view, ptpip_port=ptpip_port, once=once
        )
        phone = None
        if any(settings.wifi_ssid for _match, settings in config.cameras):
            from ..smartphone.watch import start_phone_watcher

            phone = start_phone_watcher(config, state_path, view, stop)
        try:
            view.waiting(config)
            watcher.run(stop)
        except OSError as exc:
            fail(f"cannot listen for cameras: {exc}", ExitCode.NO_SESSION)
        except ValueError as exc:  # e.g. an [ftp] account without dest (ftp.settings)
            fail(str(exc), ExitCode.BAD_INPUT)
        finally:
            stop.set()
            if phone is not None:
                phone.join()  # an import stops after its current file; the Wi-Fi is restored
    sys.exit(ExitCode.OK if view.failures == 0 else ExitCode.FAILED)
