"""``sony-pm-alt watch``: the main job."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING

import click

from ..ptpip.packets import PTPIP_PORT
from .common import load_config_or_exit
from .errors import ExitCode, fail

if TYPE_CHECKING:
    import threading

    from ..config import Config
    from ..console import WatchView


@click.command()
@click.option(
    "--config",
    "config_path",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Config file. Default: ~/.config/sony-pm-alt/config.toml.",
)
@click.option("--guid", help="The GUID the camera was paired with (overrides the config).")
@click.option("--name", "friendly_name", help="Name shown on the camera. Default: host name.")
@click.option("--dest", help="Where photos and videos go.")
@click.option("--template", help="Path template (see sony-pm-alt sync --help).")
@click.option("--profile", help="Vendor profile: upstream, playmemories, none, or a .toml file.")
@click.option("--interface", help="IPv4 address of the LAN interface to listen on.")
@click.option("--cooldown", type=float, help="Seconds before the same camera may start again.")
@click.option(
    "--state",
    "state_path",
    type=click.Path(dir_okay=False, path_type=Path),
    help="State database. Default: in the XDG data directory.",
)
@click.option("--once", is_flag=True, help="Exit after the first session (for scripts, demos).")
@click.option("--ptpip-port", default=PTPIP_PORT, hidden=True, type=click.IntRange(1, 65535))
@click.option("--ftp-port", type=click.IntRange(0, 65535), help="FTP receiver port (over [ftp]).")
def watch(
    config_path: Path | None,
    guid: str | None,
    friendly_name: str | None,
    dest: str | None,
    template: str | None,
    profile: str | None,
    interface: str | None,
    cooldown: float | None,
    state_path: Path | None,
    once: bool,
    ptpip_port: int,
    ftp_port: int | None,
) -> None:
    """Wait for cameras in "Send to Computer" mode and import from them (the main job).

    Runs until SIGINT/SIGTERM, which stop between two chunks: no partial file ever appears
    at a final name, and the next session resumes it. With [ftp] enabled in the config it
    also receives newer bodies' FTP Transfer uploads (docs/ftp.md)."""
    import signal
    import threading

    from ..console import WatchView
    from ..engine.state import default_state_path

    config = load_config_or_exit(
        config_path,
        guid=guid,
        name=friendly_name,
        dest=dest,
        template=template,
        profile=profile,
        interface=interface,
        cooldown=cooldown,
    )
    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())
    # Reports go to standard output: lines for a person on a terminal, otherwise JSON lines
    # only, log records included (README "JSON lines"), until the last worker has stopped.
    view = WatchView(sys.stdout.isatty())
    with view.logs_as_records():
        _run(view, config, stop, state_path or default_state_path(), ptpip_port, once, ftp_port)
    sys.exit(ExitCode.OK if view.failures == 0 else ExitCode.FAILED)


def _run(
    view: WatchView,
    config: Config,
    stop: threading.Event,
    state_path: Path,
    ptpip_port: int,
    once: bool,
    ftp_port: int | None,
) -> None:
    from ..watcher import Watcher

    watcher = Watcher(
        config,
        state_path=state_path,
        on_event=view,
        ptpip_port=ptpip_port,
        once=once,
        ftp_port=ftp_port,
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
